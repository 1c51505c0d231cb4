"""Settings read from the environment and an optional `.env` file.

Every setting is validated when the process starts. `load_settings` turns pydantic's
errors into one line per bad value, naming the environment variable and the fix.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

DEFAULT_DATABASE_URL = "sqlite:///costbot.db"
SLACK_DEFAULT_API_URL = "https://slack.com/api/"
GUIDANCE_DEFAULT_BASE_URL = "https://aipromptgear.com"


# Slack id shapes, as the budgets and mapping files check them: users U…/W…, user groups S…,
# channels C…/G…/D… or a #name.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
SLACK_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,}|#[a-z0-9][a-z0-9_-]{0,79})$")


class SettingsError(Exception):
    """Raised when one or more settings are invalid; the message lists each of them."""


class Settings(BaseSettings):
    """costbot's configuration. Environment variable names are given in `alias` or with the
    `COSTBOT_` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="COSTBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "COSTBOT_DATABASE_URL"),
        description="SQLAlchemy URL of the database; an SQLite file in the working folder by default.",
    )
    timezone: str = Field(
        "UTC",
        description="Workspace time zone (IANA name) in which days, weeks, months and budget periods start.",
    )

    slack_bot_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "COSTBOT_SLACK_BOT_TOKEN"),
        description="Bot token (xoxb-…). Without it, messages are printed instead of posted.",
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "COSTBOT_SLACK_APP_TOKEN"),
        description="App-level token (xapp-…) for Socket Mode.",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "COSTBOT_SLACK_SIGNING_SECRET"),
        description="Signing secret that verifies requests from Slack over HTTP.",
    )
    slack_api_url: str = Field(
        SLACK_DEFAULT_API_URL,
        validation_alias=AliasChoices("SLACK_API_URL", "COSTBOT_SLACK_API_URL"),
        description="Base URL of the Slack Web API; point it at a fake Slack for tests.",
    )
    admin_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Slack user ids allowed to run admin commands.",
    )
    admin_usergroup_id: str | None = Field(
        None, description="Slack user group whose members are admins as well."
    )
    port: int = Field(
        3000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("PORT", "COSTBOT_PORT"),
        description="HTTP port of `costbot serve`.",
    )

    guidance_base_url: str = Field(
        GUIDANCE_DEFAULT_BASE_URL,
        description="Base URL of the 'AI Cost and Compute' guidance pages linked from recommendations.",
    )
    rules_dir: Path = Field(Path("rules"), description="Folder of rule files.")
    budgets_file: Path = Field(Path("budgets.yml"), description="Budgets file (YAML).")
    mapping_file: Path = Field(
        Path("mapping.yml"),
        description="Mapping of source ids (projects, API keys, teams, tags, hosts) to team, feature, tenant and owner.",
    )
    price_overrides_file: Path = Field(
        Path("prices.yml"), description="Local model price overrides with effective dates (optional)."
    )
    default_channel: str | None = Field(
        None, description="Channel for findings and digests that have no owner (a channel id or #name)."
    )

    budget_check_cron: str = Field("0 * * * *", description="Cron schedule of budget checks.")
    rules_cron: str = Field("0 6 * * *", description="Cron schedule of rule evaluation.")
    digest_cron: str = Field("0 9 * * mon", description="Cron schedule of the weekly digest.")
    outbox_cron: str = Field("* * * * *", description="Cron schedule of outbox retries.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # A trailing space in .env is invisible in the error, so surrounding blanks are dropped.
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            spelled = {name.lower(): name for name in available_timezones()}.get(value.lower())
            hint = f"use {spelled!r}" if spelled else "use a name such as Europe/Berlin"
            raise ValueError(f"unknown IANA time zone {value!r}; {hint}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        # Heroku-style platforms set postgres://, which SQLAlchemy 1.4 and later no longer accept.
        if value.startswith("postgres://"):
            return "postgresql://" + value.removeprefix("postgres://")
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                f"unsupported database URL {value.split(':', 1)[0]!r}; "
                "use sqlite:///FILE or postgresql://USER@HOST/DB"
            )
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _tcp_port(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip().isdigit() or not 1 <= int(value) <= 65535:
                raise ValueError(f"not a TCP port: {value!r}; use a whole number from 1 to 65535")
            return int(value)
        return value

    @field_validator("slack_api_url", "guidance_base_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            example = SLACK_DEFAULT_API_URL if info.field_name == "slack_api_url" else GUIDANCE_DEFAULT_BASE_URL
            raise ValueError(f"not an http:// or https:// URL: {value!r}; use a base URL such as {example}")
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_user_ids")
    @classmethod
    def _slack_user_ids(cls, value: list[str]) -> list[str]:
        bad = [user for user in value if not SLACK_USER_ID.match(user)]
        if bad:
            raise ValueError(f"not Slack user ids: {', '.join(bad)}; use member ids such as U0123ABCD, separated by commas")
        return value

    @field_validator("admin_usergroup_id")
    @classmethod
    def _slack_usergroup_id(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_USERGROUP_ID.match(value):
            raise ValueError(f"not a Slack user group id: {value!r}; use an id such as S0123ABCD")
        return value

    @field_validator("default_channel")
    @classmethod
    def _slack_channel(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_CHANNEL.match(value):
            raise ValueError(f"not a Slack channel: {value!r}; use a channel id such as C0123ABCD or #name")
        return value

    @field_validator("budget_check_cron", "rules_cron", "digest_cron", "outbox_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {value!r} ({exc}); use five fields, e.g. '0 * * * *'") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def hide_url_password(url: str) -> str:
    """Return `url` with the password of its `user:password@` part replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def env_name(field_name: str) -> str:
    """Return the environment variable that sets `field_name`."""
    field = Settings.model_fields.get(field_name)
    if field is None:  # pydantic reports aliased fields under the alias, which is the variable name
        return field_name
    if isinstance(field.validation_alias, AliasChoices):
        return str(field.validation_alias.choices[0])
    return "COSTBOT_" + field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise SettingsError naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = env_name(str(error["loc"][0])) if error["loc"] else "settings"
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            if name == "DATABASE_URL" and isinstance(value, str):
                value = hide_url_password(value)
            lines.append(f"{name}={value!r}: {message}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings, loaded once."""
    return load_settings()


def settings_table() -> str:
    """Render every setting as a Markdown table row: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            default = ",".join(default)
        shown = "(none)" if default in (None, "") else f"`{default}`"
        rows.append(f"| `{env_name(name)}` | {shown} | {field.description} |")
    return "\n".join(rows)
