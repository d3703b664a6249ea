"""``python -m svcplan`` runs the svcplan command line (same as the ``svcplan`` script)."""

from .cli.app import app

app(prog_name="svcplan")
