"""``python -m careflow.cli`` runs the ``careflow`` command line."""

from careflow.cli import main

main()
