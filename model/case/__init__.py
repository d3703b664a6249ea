"""Stage 1 — case sources and validation: files or frames in, a validated :class:`Case` out."""
