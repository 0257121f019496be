"""``python -m cli`` runs the ``careflow`` command line."""

from cli import main

main()
