"""Rank 5 — the result object, its tables, and the files, console, HTML and SVG made from it."""
