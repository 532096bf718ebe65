"""The `footnote` command line (declared in pyproject's [project.scripts] as `service.cli:main`)."""

from service.cli.commands import main

__all__ = ["main"]
