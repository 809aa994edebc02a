"""`python -m newsbot` runs the CLI."""

from newsbot.cli import main

main()
