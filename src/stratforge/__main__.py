"""``python -m stratforge`` runs the CLI."""

from stratforge import cli

cli.main()
