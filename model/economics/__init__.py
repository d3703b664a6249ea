"""Rank 1 — option economics (SPEC §2): what each (unit, level, period) option earns and costs."""
