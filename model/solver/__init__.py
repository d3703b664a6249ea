"""Rank 3 — solving the standard form: strategy, LP bound and pricing, search, and the one HiGHS module."""
