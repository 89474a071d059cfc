"""``python -m cmo`` runs the command-line interface."""

from cmo.cli import main

main()
