"""The ``earshot`` command line: parses arguments, calls the services, prints the results."""

from cli.main import main

__all__ = ["main"]
