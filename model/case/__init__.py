"""Rank 0 — case sources and validation: files or frames in, a validated :class:`Case` out.

Modules, each importing only those before it: problems, settings, schema <- textio <- reader
<- units <- demand_floor <- checks <- case <- validate (entry points :func:`validate.validate` and
:func:`validate.load_case`).
"""
