"""`costbot db …`: database migrations."""

from __future__ import annotations

import typer

from bot import db
from bot.cli.apps import new_app


def register(app: typer.Typer) -> None:
    db_app = new_app("Create and migrate the database.\n\n\b\nExample:\n  costbot db upgrade")

    @db_app.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", metavar="REVISION", help="Target revision.")) -> None:
        """Migrate the database to the latest schema (or REVISION).

        The database is DATABASE_URL (an SQLite file in the working folder by default).

        \b
        Example:
          costbot db upgrade
        """
        db.upgrade(revision=revision)
        typer.echo(f"database at {revision}")

    @db_app.command("downgrade")
    def downgrade(
        revision: str = typer.Argument(..., metavar="REVISION", help="Target revision, e.g. base."),
        yes: bool = typer.Option(False, "--yes", help="Confirm; downgrading drops tables and their data."),
    ) -> None:
        """Migrate the database down to REVISION, dropping data.

        Downgrading drops tables and their data, so it needs --yes.

        \b
        Example:
          costbot db downgrade base --yes
        """
        if not yes:
            typer.echo("costbot: downgrading drops tables and their data; add --yes to confirm", err=True)
            raise typer.Exit(2)
        db.downgrade(revision=revision)
        typer.echo(f"database at {revision}")

    app.add_typer(db_app, name="db")
