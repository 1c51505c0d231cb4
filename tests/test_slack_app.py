"""Scenario tests: signed Slack requests over HTTP to the real Bolt app, replies checked at a fake Slack."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.models import Finding, LlmUsage, OutboxMessage, SlackEventSeen
from bot.questions import answer_question
from bot.settings import get_settings, load_settings
from bot.slack import messages
from bot.slack.app import create_app
from bot.slack.blocks import answer_blocks
from bot.rules.engine import reload_rules
from bot.slack.limits import fit_message
from tests.fakeslack import BOT_ID, BOT_TOKEN, BOT_USER_ID, FakeSlack
from tests.slackharness import SIGNING_SECRET, SlackAppServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
BUDGETS = """\
budgets:
  - name: search-monthly
    scope: {team: [search]}
    period: monthly
    amount_usd: "12000"
    owner: U0SEARCH1
"""


@pytest.fixture
def fake():
    with FakeSlack() as server:
        yield server


@pytest.fixture
def settings(fake, db_url, tmp_path, monkeypatch):
    budgets_file = tmp_path / "budgets.yml"
    budgets_file.write_text(BUDGETS)
    # bot.budgets.actions reads the process-wide settings for the budgets file.
    monkeypatch.setenv("COSTBOT_BUDGETS_FILE", str(budgets_file))
    get_settings.cache_clear()
    yield load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=db_url,
        admin_user_ids="U0ADMIN01",
        admin_usergroup_id="S0ADMINS",
        budgets_file=budgets_file,
        rules_dir=Path(__file__).resolve().parent.parent / "rules",
    )
    get_settings.cache_clear()


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def slack(settings, engine, clock):
    app = create_app(settings, engine=engine, clock=clock)
    with SlackAppServer(app, engine) as server:
        yield server


def _expected_answer(engine, settings, clock, question: str, *, shareable: bool):
    with Session(engine) as session:
        answer = answer_question(session, question, settings=settings, clock=clock)
    return answer, fit_message(answer.text, answer_blocks(answer, question, shareable=shareable))


def _seed_spend(engine) -> None:
    rows = [
        ("search", Decimal("120.50"), 1),
        ("support", Decimal("80.25"), 2),
    ]
    with Session(engine) as session:
        for team, cost, days_ago in rows:
            session.add(
                LlmUsage(
                    source="openai_usage", natural_key=f"test-{team}", start_time=NOW - timedelta(days=days_ago),
                    bucket_seconds=86400, provider="openai", model="gpt-4.1", team=team, requests=10,
                    cost_usd=cost, cost_origin="reported",
                )
            )
        session.commit()


def _outbox_statuses(engine) -> list[str]:
    with Session(engine) as session:
        return [row.status for row in session.exec(select(OutboxMessage))]


def _wait_until(condition, timeout: float = 10) -> None:
    """Wait for work that a listener finishes after its ack, checking every 20 ms up to `timeout` seconds."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        tick.wait(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


# --- request verification ----------------------------------------------------------------------

def test_url_verification_returns_challenge(slack):
    reply = slack.send_json({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})

    assert reply.status == 200
    assert reply.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


@pytest.mark.parametrize("case", ["unsigned", "tampered", "stale", "wrong_secret"])
def test_bad_signature_rejected(slack, fake, engine, case):
    event = {"type": "app_mention", "user": "U0ENG0001", "text": f"<@{BOT_USER_ID}> spend by team", "ts": "1764800000.000200", "channel": "C0GENERAL"}
    body = json.dumps({"type": "event_callback", "event_id": "Ev0BAD", "team_id": "T0TEST001", "event": event})
    headers = slack.signed_headers(body)
    if case == "unsigned":
        headers = {}
    elif case == "tampered":
        body = body.replace("spend by team", "spend by user")
    elif case == "stale":
        stale = int(headers["X-Slack-Request-Timestamp"]) - 301  # just over Slack's 5-minute window
        headers = slack.signed_headers(body, timestamp=stale)
    elif case == "wrong_secret":
        headers = slack.signed_headers(body, secret="not-the-signing-secret")

    calls_at_start = fake.calls()  # auth.test from create_app
    reply = slack.post(body, "application/json", headers)

    assert reply.status == 401
    assert fake.calls() == calls_at_start
    with Session(engine) as session:
        assert session.exec(select(SlackEventSeen)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_health_endpoint(slack):
    assert slack.get("/health").json() == {"status": "ok", "database": "ok"}
    assert slack.get("/other").status == 404


def test_oversized_request_rejected(slack, fake):
    calls_at_start = fake.calls()
    body = "x" * 1_000_001  # one byte over the server's limit

    reply = slack.post(body, "application/json", slack.signed_headers(body))

    assert reply.status == 413
    assert reply.json() == {"error": "request body over 1000000 bytes"}
    assert fake.calls() == calls_at_start


# --- slash commands ----------------------------------------------------------------------------

def test_cost_help_acked_with_text(slack, fake):
    reply = slack.slash_command("help", fake.response_url("help"))

    assert reply.status == 200
    assert reply.body == messages.HELP  # a plain-text ack is an ephemeral reply
    assert fake.calls("response_url") == []


def test_cost_question_answered_after_ack(slack, fake, engine, settings, clock):
    release = fake.hold("response_url")  # Slack is slow: the answer's delivery waits

    reply = slack.slash_command("spend by team last month", fake.response_url("q1"))
    assert reply.status == 200  # acknowledged while the answer is still held
    assert reply.body == ""
    release.set()
    call = fake.wait_for("response_url")[0]

    _, (text, blocks) = _expected_answer(engine, settings, clock, "spend by team last month", shareable=True)
    assert call.params["text"] == text
    assert call.params["blocks"] == blocks
    assert call.params["response_type"] == "ephemeral"
    share = blocks[-1]["elements"][0]
    assert share["action_id"] == "share_answer"
    assert share["value"] == "spend by team last month"


def test_cost_question_chart_uploaded(slack, fake, engine, settings, clock):
    _seed_spend(engine)
    question = "daily spend last 30 days"
    expected, (text, _) = _expected_answer(engine, settings, clock, question, shareable=True)
    assert expected.chart_png is not None, "the question layer no longer draws a chart for this question"

    slack.slash_command(question, fake.response_url("chart"), user="U0ENG0001")

    assert fake.wait_for("response_url")[0].params["text"] == text
    fake.wait_for("files.completeUploadExternal")
    upload = fake.calls("upload")[0]
    assert upload.params["size"] == len(expected.chart_png)
    assert fake.state.files[0]["channel_id"] == "D0ENG0001"  # the asker's DM with the bot
    assert fake.state.files[0]["size"] == len(expected.chart_png)
    assert fake.calls("files.getUploadURLExternal")[0].params["length"] == str(len(expected.chart_png))


def test_cost_budgets_lists_budgets(slack, fake, engine, settings, clock):
    from bot.budgets.report import budgets_message

    slack.slash_command("budgets", fake.response_url("budgets"), user="U0SEARCH1")

    call = fake.wait_for("response_url")[0]
    with Session(engine) as session:
        text, blocks = budgets_message(session, settings=settings, clock=clock, user_id="U0SEARCH1")
    assert call.params["text"] == text
    assert call.params["blocks"] == blocks
    assert "search-monthly" in text


def test_admin_command_refused_for_others(slack, fake):
    fake.state.usergroups["S0ADMINS"] = ["U0GROUP01"]

    reply = slack.slash_command("admin reload-rules", fake.response_url("admin"), user="U0ENG0001")

    assert reply.status == 200
    assert reply.body == messages.NOT_ADMIN
    assert fake.calls("response_url") == []


def test_admin_command_allowed_by_id_and_group(slack, fake):
    fake.state.usergroups["S0ADMINS"] = ["U0GROUP01"]

    slack.slash_command("admin help", fake.response_url("by-id"), user="U0ADMIN01")
    slack.slash_command("admin help", fake.response_url("by-group"), user="U0GROUP01")

    calls = fake.wait_for("response_url", 2)
    assert sorted(call.params["_name"] for call in calls) == ["by-group", "by-id"]
    assert [call.params["text"] for call in calls] == [messages.ADMIN_HELP, messages.ADMIN_HELP]


def test_admin_reload_rules(slack, fake, settings):
    slack.slash_command("admin reload-rules", fake.response_url("reload"), user="U0ADMIN01")

    text = fake.wait_for("response_url")[0].params["text"]
    assert text == reload_rules(settings)
    assert text.startswith("rules reloaded: ")


def test_admin_reload_rules_bad_folder(slack, fake, settings, tmp_path):
    settings.rules_dir = tmp_path / "no-rules"

    slack.slash_command("admin reload-rules", fake.response_url("reload"), user="U0ADMIN01")

    text = fake.wait_for("response_url")[0].params["text"]
    assert text == (
        "rules not reloaded: 1 errors; no rules are in force\n"
        f"{tmp_path / 'no-rules'}: rules folder not found; create it or set COSTBOT_RULES_DIR"
    )


def test_admin_budget_set_and_remove(slack, fake, settings):
    slack.slash_command('admin budgets set search-monthly amount_usd=15000 "thresholds=[50, 90]"', fake.response_url("set"), user="U0ADMIN01")
    set_reply = fake.wait_for("response_url")[0].params["text"]
    slack.slash_command("admin budgets remove search-monthly", fake.response_url("remove"), user="U0ADMIN01")
    unconfirmed = fake.wait_for("response_url", 2)[1].params["text"]
    slack.slash_command("admin budgets remove search-monthly confirm", fake.response_url("confirm"), user="U0ADMIN01")
    removed = fake.wait_for("response_url", 3)[2].params["text"]

    assert set_reply == "<@U0ADMIN01> updated budget search-monthly: amount_usd=15000, thresholds=[50, 90]."
    assert unconfirmed == messages.CONFIRM_REMOVE_BUDGET.format(name="search-monthly")
    assert removed == "<@U0ADMIN01> removed budget search-monthly."
    assert "search-monthly" not in settings.budgets_file.read_text()


def test_admin_budget_invalid_edit(slack, fake, settings):
    before = settings.budgets_file.read_text()

    slack.slash_command("admin budgets set search-monthly colour=green", fake.response_url("bad"), user="U0ADMIN01")

    text = fake.wait_for("response_url")[0].params["text"]
    assert text.startswith("Budgets file not changed: unknown budget key 'colour'; use ")
    assert settings.budgets_file.read_text() == before


def test_admin_budgets_show(slack, fake):
    slack.slash_command("admin budgets", fake.response_url("show"), user="U0ADMIN01")

    assert fake.wait_for("response_url")[0].params["text"] == f"```{BUDGETS}```"


# --- events ------------------------------------------------------------------------------------

def _mention(text: str, ts: str = "1764800000.000300", **extra) -> dict:
    return {"type": "app_mention", "user": "U0ENG0001", "text": text, "ts": ts, "channel": "C0GENERAL", "event_ts": ts, **extra}


def test_mention_answered_in_thread(slack, fake, engine, settings, clock):
    reply = slack.event(_mention(f"<@{BOT_USER_ID}> spend by team last month"))

    assert reply.status == 200
    call = fake.wait_for("chat.postMessage")[0]
    _, (text, blocks) = _expected_answer(engine, settings, clock, "spend by team last month", shareable=False)
    assert call.params["channel"] == "C0GENERAL"
    assert call.params["thread_ts"] == "1764800000.000300"
    assert call.params["text"] == text
    assert call.params["blocks"] == blocks
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.idempotency_key == "answer:C0GENERAL:1764800000.000300"
    assert row.status == "sent"


def test_mention_in_thread_stays_in_thread(slack, fake):
    slack.event(_mention(f"<@{BOT_USER_ID}> help", ts="1764800000.000400", thread_ts="1764800000.000100"))

    assert fake.wait_for("chat.postMessage")[0].params["thread_ts"] == "1764800000.000100"


def test_retried_event_handled_once(slack, fake, engine):
    release = fake.hold("chat.postMessage")
    event = _mention(f"<@{BOT_USER_ID}> spend by team last month")

    first = slack.event(event, event_id="Ev0RETRY1")
    retry_during = slack.event(event, event_id="Ev0RETRY1", retry_num=1)
    release.set()
    fake.wait_for("chat.postMessage")
    retry_after = slack.event(event, event_id="Ev0RETRY1", retry_num=2)

    assert [first.status, retry_during.status, retry_after.status] == [200, 200, 200]
    assert len(fake.calls("chat.postMessage")) == 1
    with Session(engine) as session:
        assert [row.event_id for row in session.exec(select(SlackEventSeen))] == ["Ev0RETRY1"]


def test_direct_message_answered_in_thread(slack, fake, engine, settings, clock):
    own = {"type": "message", "channel_type": "im", "channel": "D0ENG0001", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": "an earlier answer", "ts": "1764800000.000500"}
    edited = {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D0ENG0001", "ts": "1764800000.000550", "message": {"text": "x"}}
    asked = {"type": "message", "channel_type": "im", "channel": "D0ENG0001", "user": "U0ENG0001", "text": "top models this week", "ts": "1764800000.000600"}

    assert slack.event(own).status == 200
    assert slack.event(edited).status == 200
    slack.event(asked)

    call = fake.wait_for("chat.postMessage")[0]
    _, (text, _) = _expected_answer(engine, settings, clock, "top models this week", shareable=False)
    assert len(fake.calls("chat.postMessage")) == 1
    assert call.params["channel"] == "D0ENG0001"
    assert call.params["thread_ts"] == "1764800000.000600"
    assert call.params["text"] == text


def test_empty_mention_gets_hint(slack, fake):
    slack.event(_mention(f"<@{BOT_USER_ID}>"))

    assert fake.wait_for("chat.postMessage")[0].params["text"] == messages.EMPTY_MENTION


def test_app_home_published(slack, fake, engine):
    _seed_spend(engine)

    slack.event({"type": "app_home_opened", "user": "U0SEARCH1", "channel": "D0SEARCH1", "tab": "home", "event_ts": "1764800000.000700"})

    call = fake.wait_for("views.publish")[0]
    view = fake.state.views[0]["view"]
    assert call.params["user_id"] == "U0SEARCH1"
    assert view["type"] == "home"
    # 120.50 + 80.25 = 200.75 spent in 19.5 days of November; 200.75 * 30 / 19.5 = 308.85 by month end.
    assert view["blocks"][1]["text"]["text"] == messages.HOME_MONTH.format(month="November 2026", spent="$200.75", forecast="$308.85")
    texts = [json.dumps(block) for block in view["blocks"]]
    assert any("search-monthly" in text for text in texts)
    assert fake.state.violations == []


def test_messages_tab_opened_publishes_nothing(slack, fake):
    slack.event({"type": "app_home_opened", "user": "U0SEARCH1", "channel": "D0SEARCH1", "tab": "messages", "event_ts": "1764800000.000800"})
    slack.event(_mention(f"<@{BOT_USER_ID}> help"))

    fake.wait_for("chat.postMessage")
    assert fake.calls("views.publish") == []


# --- buttons -----------------------------------------------------------------------------------

def _budget_button(action_id: str) -> dict:
    value = json.dumps({"budget": "search-monthly", "period_start": "2026-11-01T00:00:00+00:00", "threshold": 80})
    return {"action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "Acknowledge"}}


def test_budget_ack_by_owner(slack, fake):
    slack.block_action(_budget_button("budget_ack"), "U0SEARCH1", response_url=fake.response_url("ack"))

    call = fake.wait_for("response_url")[0]
    assert call.params["text"] == "<@U0SEARCH1> acknowledged budget search-monthly (0 alerts)."
    assert call.params["response_type"] == "ephemeral"
    assert call.params["replace_original"] is False


def test_budget_snooze_by_other_refused(slack, fake, engine):
    slack.block_action(_budget_button("budget_snooze_7d"), "U0ENG0001", response_url=fake.response_url("snooze"))

    call = fake.wait_for("response_url")[0]
    assert call.params["text"] == "only the owner of budget search-monthly (<@U0SEARCH1>) or an admin can change its alerts"
    from bot.models import BudgetSnooze

    with Session(engine) as session:
        assert session.exec(select(BudgetSnooze)).all() == []


def test_budget_snooze_by_admin_allowed(slack, fake, engine, clock):
    from bot.models import BudgetSnooze

    slack.block_action(_budget_button("budget_snooze_7d"), "U0ADMIN01", response_url=fake.response_url("snooze"))

    text = fake.wait_for("response_url")[0].params["text"]
    assert text.startswith("<@U0ADMIN01> snoozed budget search-monthly until 2026-11-27 12:00 UTC")
    with Session(engine) as session:
        snooze = session.exec(select(BudgetSnooze)).one()
    assert snooze.until == NOW + timedelta(days=7)


def test_budget_button_bad_value(slack, fake):
    action = {"action_id": "budget_ack", "value": "not json"}

    slack.block_action(action, "U0SEARCH1", response_url=fake.response_url("bad"))

    assert fake.wait_for("response_url")[0].params["text"] == messages.BAD_BUTTON_VALUE.format(value="not json")


def _add_finding(engine, owner: str = "U0SEARCH1") -> int:
    finding = Finding(
        rule_id="retry-spike", scope_key="feature=doc-extraction", severity="warning",
        window_start=NOW - timedelta(days=7), window_end=NOW, facts={"retry_rate_pct": 25},
        recommendation="Retries rose from 3% to 25% of requests; check the extraction prompt.",
        guidance_urls=["https://aipromptgear.com/models-and-apis/cost-per-success-and-tool-economics-for-agentic-products/"],
        notify=owner, created_at=NOW,
    )
    with Session(engine) as session:
        session.add(finding)
        session.commit()
        return finding.id


def _finding_button(action_id: str, finding_id: int) -> dict:
    return {"action_id": action_id, "value": json.dumps({"finding_id": finding_id})}


def test_finding_ack_by_owner(slack, fake, engine):
    finding_id = _add_finding(engine)

    slack.block_action(_finding_button("finding_ack", finding_id), "U0SEARCH1", response_url=fake.response_url("ack"))

    text = fake.wait_for("response_url")[0].params["text"]
    assert text == messages.FINDING_ACKNOWLEDGED.format(user="U0SEARCH1", finding_id=finding_id, rule_id="retry-spike", scope="feature=doc-extraction")
    with Session(engine) as session:
        finding = session.get(Finding, finding_id)
        assert finding.status == "acknowledged"
        assert finding.acknowledged_by == "U0SEARCH1"


def test_finding_snooze_by_other_refused(slack, fake, engine):
    finding_id = _add_finding(engine)

    slack.block_action(_finding_button("finding_snooze_1d", finding_id), "U0ENG0001", response_url=fake.response_url("snooze"))

    assert fake.wait_for("response_url")[0].params["text"] == f"only <@U0SEARCH1> or an admin can snooze finding {finding_id}"
    with Session(engine) as session:
        assert session.get(Finding, finding_id).status == "open"


def test_finding_snooze_by_admin(slack, fake, engine):
    finding_id = _add_finding(engine)

    slack.block_action(_finding_button("finding_snooze_7d", finding_id), "U0ADMIN01", response_url=fake.response_url("snooze"))

    text = fake.wait_for("response_url")[0].params["text"]
    until = NOW + timedelta(days=7)
    assert text == messages.FINDING_SNOOZED.format(user="U0ADMIN01", finding_id=finding_id, rule_id="retry-spike", scope="feature=doc-extraction", until=until)


def test_finding_details_shown(slack, fake, engine):
    from bot.rules.findings import details

    finding_id = _add_finding(engine)

    slack.block_action(_finding_button("finding_details", finding_id), "U0ENG0001", response_url=fake.response_url("details"))

    call = fake.wait_for("response_url")[0]
    with Session(engine) as session:
        text, blocks = details(session, finding_id)
    assert call.params["text"] == text
    assert call.params["blocks"] == blocks


def test_finding_details_missing(slack, fake):
    slack.block_action(_finding_button("finding_details", 999), "U0ENG0001", response_url=fake.response_url("details"))

    assert fake.wait_for("response_url")[0].params["text"] == "finding 999 not found; it may have been deleted"


def test_app_home_lists_findings(slack, fake, engine):
    finding_id = _add_finding(engine)

    slack.event({"type": "app_home_opened", "user": "U0SEARCH1", "channel": "D0SEARCH1", "tab": "home", "event_ts": "1764800000.000710"})

    fake.wait_for("views.publish")
    blocks = fake.state.views[0]["view"]["blocks"]
    actions = [block for block in blocks if block.get("type") == "actions"]
    assert [element["action_id"] for element in actions[0]["elements"]] == [
        "finding_ack", "finding_snooze_1d", "finding_snooze_7d", "finding_details", "open_guidance",
    ]
    assert actions[0]["elements"][0]["value"] == json.dumps({"finding_id": finding_id}, separators=(",", ":"))


def test_home_button_replies_by_dm(slack, fake):
    view = {"id": "V0001", "type": "home"}

    slack.block_action(_budget_button("budget_ack"), "U0SEARCH1", response_url=None, view=view)

    call = fake.wait_for("chat.postMessage")[0]
    assert call.params["channel"] == "U0SEARCH1"
    assert call.params["text"] == "<@U0SEARCH1> acknowledged budget search-monthly (0 alerts)."
    assert fake.wait_for("views.publish")[0].params["user_id"] == "U0SEARCH1"


def test_share_answer_posts_in_channel(slack, fake, engine, settings, clock):
    action = {"action_id": "share_answer", "value": "spend by team last month"}

    slack.block_action(action, "U0ENG0001", response_url=fake.response_url("share"), channel="C0GENERAL")

    call = fake.wait_for("response_url")[0]
    expected, _ = _expected_answer(engine, settings, clock, "spend by team last month", shareable=False)
    assert call.params["response_type"] == "in_channel"
    assert call.params["delete_original"] is True
    assert call.params["text"] == expected.text
    assert call.params["blocks"][0]["elements"][0]["text"] == messages.SHARED_BY.format(user="U0ENG0001", question="spend by team last month")
    assert not any(block.get("type") == "actions" for block in call.params["blocks"])


def test_reply_during_outage_delivered_once(slack, fake, engine, clock):
    from bot.slack.clients import make_web_client
    from bot.slack.delivery import SlackSender, deliver_pending

    fake.set_down(True)
    reply = slack.event(_mention(f"<@{BOT_USER_ID}>", ts="1764800000.001100"))
    fake.wait_for("chat.postMessage")  # the first attempt, which gets HTTP 503
    _wait_until(lambda: _outbox_statuses(engine) == ["pending"])
    fake.set_down(False)

    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        clock.set(row.next_attempt_at)
        report = deliver_pending(session, SlackSender(make_web_client(BOT_TOKEN, fake.api_url)), clock)

    assert reply.status == 200
    assert report.delivered == 1
    assert [message["text"] for message in fake.messages("C0GENERAL")] == [messages.EMPTY_MENTION]


def test_rate_limited_reply_retried(slack, fake):
    fake.fail("response_url", 429, retry_after=0)

    slack.slash_command("budgets", fake.response_url("limited"), user="U0SEARCH1")

    calls = fake.wait_for("response_url", 2)
    assert len(calls) == 2
    assert calls[0].params == calls[1].params
    assert "search-monthly" in calls[1].params["text"]


def test_home_month_in_workspace_timezone(fake, engine, db_url, tmp_path):
    # 2026-12-01 03:00 UTC is still November in New York (22:00 on Nov 30, EST, UTC-5).
    _seed_spend(engine)
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
        database_url=db_url, timezone="America/New_York", budgets_file=tmp_path / "none.yml",
    )
    clock = FixedClock(datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc))
    app = create_app(settings, engine=engine, clock=clock)

    with SlackAppServer(app, engine) as slack:
        slack.event({"type": "app_home_opened", "user": "U0SEARCH1", "channel": "D0SEARCH1", "tab": "home", "event_ts": "1764800000.000720"})
        fake.wait_for("views.publish")

    month = fake.state.views[0]["view"]["blocks"][1]["text"]["text"]
    # Both seeded rows (Nov 18 and 19) fall in November. The New York month runs from
    # Nov 1 04:00 UTC (EDT) to Dec 1 05:00 UTC (EST): 721 hours, of which 719 have passed.
    # Run rate: 200.75 * 721 / 719 = 201.308..., shown as $201.31.
    assert month == messages.HOME_MONTH.format(month="November 2026", spent="$200.75", forecast="$201.31")


def test_home_at_month_start(fake, engine, db_url, tmp_path):
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
        database_url=db_url, budgets_file=tmp_path / "none.yml",
    )
    app = create_app(settings, engine=engine, clock=FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc)))

    with SlackAppServer(app, engine) as slack:
        slack.event({"type": "app_home_opened", "user": "U0SEARCH1", "channel": "D0SEARCH1", "tab": "home", "event_ts": "1764800000.000730"})
        fake.wait_for("views.publish")

    month = fake.state.views[0]["view"]["blocks"][1]["text"]["text"]
    assert month == messages.HOME_MONTH.format(month="December 2026", spent="$0.00", forecast="$0.00")
