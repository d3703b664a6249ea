"""``python -m model`` runs the svcplan command line (same as the ``svcplan`` script)."""

from model.cli import app

app(prog_name="svcplan")
