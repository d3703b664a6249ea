"""``python -m svcplan`` runs the svcplan command line (same as the ``svcplan`` script)."""

from .cli.entry import main

main()
