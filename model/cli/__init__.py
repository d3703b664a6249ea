"""Rank 9 — the ``svcplan`` command line: one typer app over the Python API. Nothing imports it."""
