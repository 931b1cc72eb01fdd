"""``python -m eostation`` runs the command line."""

from eostation.cli import main

main()
