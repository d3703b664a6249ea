"""Rank 7 — preparing cases: the synthetic generator and calibration from a planner's own data."""
