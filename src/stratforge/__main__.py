"""``python -m stratforge`` runs the CLI."""

from stratforge.cli import main

main()
