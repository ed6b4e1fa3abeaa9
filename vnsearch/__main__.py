"""`python -m vnsearch ...` runs the command line."""

from vnsearch.cli import main

main()
