"""`costbot db …`: database migrations."""

from __future__ import annotations

import typer

from bot import db


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)

    @db_app.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
        """Migrate the database to the latest schema (or REVISION).

        Example: costbot db upgrade
        """
        db.upgrade(revision=revision)
        typer.echo(f"database at {revision}")

    @db_app.command("downgrade")
    def downgrade(
        revision: str = typer.Argument(..., help="Target revision, e.g. base."),
        yes: bool = typer.Option(False, "--yes", help="Confirm; downgrading drops tables and their data."),
    ) -> None:
        """Migrate the database down to REVISION. Drops data; needs --yes.

        Example: costbot db downgrade base --yes
        """
        if not yes:
            typer.echo("costbot: downgrading drops tables and their data; add --yes to confirm", err=True)
            raise typer.Exit(2)
        db.downgrade(revision=revision)
        typer.echo(f"database at {revision}")

    app.add_typer(db_app, name="db")
