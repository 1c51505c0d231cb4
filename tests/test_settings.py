"""Settings: defaults, validation messages and the README's settings table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, env_name, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_use_local_sqlite(monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///costbot.db"
    assert settings.timezone == "UTC"
    assert settings.slack_bot_token is None


def test_bad_values_listed_by_variable(monkeypatch) -> None:
    monkeypatch.setenv("COSTBOT_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("COSTBOT_DIGEST_CRON", "every monday")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert "COSTBOT_TIMEZONE='Mars/Olympus': unknown IANA time zone 'Mars/Olympus'" in message
    assert "PORT='eighty': not a TCP port: 'eighty'; use a whole number from 1 to 65535" in message
    assert "COSTBOT_DIGEST_CRON='every monday': invalid cron expression 'every monday'" in message


def test_timezone_blanks_dropped(monkeypatch) -> None:
    monkeypatch.setenv("COSTBOT_TIMEZONE", " Europe/Berlin ")
    assert load_settings(_env_file=None).timezone == "Europe/Berlin"


def test_timezone_case_suggested(monkeypatch) -> None:
    monkeypatch.setenv("COSTBOT_TIMEZONE", "europe/berlin")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "COSTBOT_TIMEZONE='europe/berlin': unknown IANA time zone 'europe/berlin'; use 'Europe/Berlin'" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "example"),
    [("SLACK_API_URL", "https://slack.com/api/"), ("COSTBOT_GUIDANCE_BASE_URL", "https://aipromptgear.com")],
)
def test_non_http_urls_rejected(monkeypatch, variable, example) -> None:
    monkeypatch.setenv(variable, "ftp://fake-slack")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert f"{variable}='ftp://fake-slack': not an http:// or https:// URL: 'ftp://fake-slack'" in message
    assert f"use a base URL such as {example}" in message


def test_loopback_api_url_accepted(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:8765/api/")
    assert load_settings(_env_file=None).slack_api_url == "http://127.0.0.1:8765/api/"


def test_port_out_of_range_rejected(monkeypatch) -> None:
    monkeypatch.setenv("PORT", "70000")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert "PORT='70000': not a TCP port: '70000'; use a whole number from 1 to 65535" in str(caught.value)


def test_unsupported_database_rejected(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/costbot")
    with pytest.raises(SettingsError, match="DATABASE_URL='mysql://root@localhost/costbot': unsupported database URL 'mysql'"):
        load_settings(_env_file=None)


def test_postgres_scheme_accepted(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://costbot@db.internal:5432/costbot")
    settings = load_settings(_env_file=None)
    assert settings.database_url == "postgresql://costbot@db.internal:5432/costbot"


def test_database_password_hidden_in_error(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root:s3cret/pw@localhost/costbot")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "DATABASE_URL='mysql://root:***@localhost/costbot': unsupported database URL 'mysql'" in message
    assert "use sqlite:///FILE or postgresql://USER@HOST/DB" in message


def test_admin_ids_split_on_commas(monkeypatch) -> None:
    monkeypatch.setenv("COSTBOT_ADMIN_USER_IDS", "U01, U02,,U03")
    assert load_settings(_env_file=None).admin_user_ids == ["U01", "U02", "U03"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("COSTBOT_ADMIN_USER_IDS", "U0ADMIN01,bob",
         "COSTBOT_ADMIN_USER_IDS='U0ADMIN01,bob': not Slack user ids: bob; use member ids such as U0123ABCD"),
        ("COSTBOT_ADMIN_USERGROUP_ID", "U0ADMIN01",
         "COSTBOT_ADMIN_USERGROUP_ID='U0ADMIN01': not a Slack user group id: 'U0ADMIN01'; use an id such as S0123ABCD"),
        ("COSTBOT_DEFAULT_CHANNEL", "general",
         "COSTBOT_DEFAULT_CHANNEL='general': not a Slack channel: 'general'; use a channel id such as C0123ABCD or #name"),
    ],
)
def test_bad_slack_ids_rejected(monkeypatch, variable, value, expected) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert expected in str(caught.value)


def test_good_slack_ids_accepted(monkeypatch) -> None:
    monkeypatch.setenv("COSTBOT_ADMIN_USER_IDS", "U0ADMIN01,W0ADMIN02")
    monkeypatch.setenv("COSTBOT_ADMIN_USERGROUP_ID", "S0ADMINS")
    monkeypatch.setenv("COSTBOT_DEFAULT_CHANNEL", "#ai-costs")
    settings = load_settings(_env_file=None)
    assert settings.admin_user_ids == ["U0ADMIN01", "W0ADMIN02"]
    assert settings.admin_usergroup_id == "S0ADMINS"
    assert settings.default_channel == "#ai-costs"


def test_secrets_hidden_in_repr(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    settings = load_settings(_env_file=None)
    assert "xoxb-secret-value" not in repr(settings)
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret-value"


def test_readme_lists_every_setting() -> None:
    readme = README.read_text()
    missing = [env_name(name) for name in Settings.model_fields if f"`{env_name(name)}`" not in readme]
    assert missing == []
