"""`costbot serve`: run the Slack app over HTTP (production) or in Socket Mode (development)."""

from __future__ import annotations

import logging

import typer

from bot.db import get_engine
from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def _create_app_or_exit(settings: Settings, *, socket_mode: bool):
    from bot.slack.app import StartupError, create_app

    try:
        return create_app(settings, socket_mode=socket_mode)
    except StartupError as exc:
        typer.echo(f"costbot: {exc}", err=True)
        raise typer.Exit(2) from None


def run_socket_mode(settings: Settings) -> None:
    """Connect the Slack app to Slack in Socket Mode and serve until interrupted."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    slack_app = _create_app_or_exit(settings, socket_mode=True)
    assert settings.slack_app_token is not None  # create_app checked it
    typer.echo("costbot: connecting to Slack in Socket Mode (Ctrl-C stops)", err=True)
    SocketModeHandler(slack_app, settings.slack_app_token.get_secret_value()).start()


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        socket: bool = typer.Option(
            False, "--socket", help="Connect to Slack in Socket Mode (needs SLACK_APP_TOKEN) instead of serving HTTP."
        ),
        host: str = typer.Option("0.0.0.0", "--host", metavar="ADDRESS", help="Address to listen on for HTTP."),
    ) -> None:
        """Run the Slack app over HTTP, or in Socket Mode.

        Over HTTP it serves /slack/events and /health on $PORT. With --socket it connects to
        Slack in Socket Mode instead.

        \b
        Examples:
          PORT=3000 costbot serve
          costbot serve --socket
        """
        settings = get_settings()
        if socket:
            run_socket_mode(settings)
            return

        slack_app = _create_app_or_exit(settings, socket_mode=False)
        from bot.slack.server import EVENTS_PATH, HEALTH_PATH, make_server

        server = make_server(slack_app, get_engine(settings.database_url), settings.port, host)
        typer.echo(
            f"costbot: serving Slack on http://{host}:{settings.port}{EVENTS_PATH} (health: {HEALTH_PATH}; Ctrl-C stops)",
            err=True,
        )
        logger.info("http server started host=%s port=%d", host, settings.port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            logger.info("http server stopped")
        finally:
            server.server_close()
