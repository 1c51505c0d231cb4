"""Typer apps whose help is Click's plain text, so every command's help reads the same way.

Typer 0.29 draws help with rich unless `rich_markup_mode` is None, and its rich panels show a
type such as `<bool>` after every flag, `--help` included. Click's plain formatter lists flags
bare, and it keeps a paragraph that starts with a `\\b` line as written. The examples in each
command's docstring use that, so they stay one command per line.
"""

from __future__ import annotations

from typing import Any

import typer


# NOTE: Typer 0.29 still prints each positional argument's type in help (`FILE <list[Path]>`),
# and no setting turns that off; only options get a bare metavar.
def new_app(help: str, **settings: Any) -> typer.Typer:
    """Create a Typer app (a command group) with plain help, which it prints when run without a command."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, **settings)
