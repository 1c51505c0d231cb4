"""FOCUS CSV imports: the published samples, cost classification, mapping, and bad input."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.clock import FixedClock
from bot.ingest.base import ImportFailed
from bot.ingest.focus import classify_cost_kind
from bot.ingest.loader import import_file
from bot.mapping import Mapping, load_mapping
from bot.models.usage import CloudCost

# The published sample exports, bundled under tests/fixtures/formats/ (sources in its README).
FOCUS = Path(__file__).resolve().parent / "fixtures" / "formats" / "focus"
MAPPING = load_mapping(Path(__file__).parent / "fixtures" / "mapping.yml")
CLOCK = FixedClock(datetime(2026, 12, 1, tzinfo=timezone.utc))
UTC = timezone.utc
D = Decimal

HEADER = [
    "BillingAccountId", "SubAccountId", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass",
    "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ProviderName", "ServiceName",
    "ServiceCategory", "ResourceId", "ResourceName", "ResourceType", "SkuId", "ConsumedQuantity",
    "ConsumedUnit", "PricingUnit", "Tags",
]


def focus_row(**cells: str) -> dict[str, str]:
    row = {column: "" for column in HEADER}
    row.update(
        BillingAccountId="acct-1", ChargePeriodStart="2026-11-01T00:00:00Z", ChargePeriodEnd="2026-11-01T01:00:00Z",
        ChargeCategory="Usage", BilledCost="1.00", BillingCurrency="USD", ProviderName="AWS",
    )
    row.update(cells)
    return row


def write_focus(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_import(engine: sa.Engine, path: Path, **options):
    return import_file(path, engine=engine, mapping=MAPPING, clock=CLOCK, **options)


def stored(engine: sa.Engine) -> list[CloudCost]:
    with Session(engine) as session:
        return list(session.exec(select(CloudCost).order_by(CloudCost.charge_period_start, CloudCost.id)))


def failure(engine: sa.Engine, path: Path, **options) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, path, **options)
    return [str(error) for error in caught.value.errors]


def test_per_token_ai_billing(engine: sa.Engine) -> None:
    summary = run_import(engine, FOCUS / "ai_model_billing_draft" / "per_token_ai_model_api.csv")
    assert (summary.format, summary.rows_read, summary.rows_imported) == ("focus", 2, 2)

    rows = stored(engine)
    # 8.40 x $5.00 per million input tokens = 42.00; 2.10 x $25.00 per million output = 52.50
    assert [row.billed_cost_usd for row in rows] == [D("42.00"), D("52.50")]
    assert sum(row.billed_cost_usd for row in rows) == D("94.50")
    assert [row.consumed_quantity for row in rows] == [8_400_000, 2_100_000]
    assert {row.cost_kind for row in rows} == {"llm"}
    assert {row.model for row in rows} == {"solora-saturn-4.8"}
    assert sorted(row.token_direction for row in rows) == ["input", "output"]
    assert rows[0].charge_period_start == datetime(2025, 5, 1, tzinfo=UTC)
    assert rows[0].charge_period_end == datetime(2025, 6, 1, tzinfo=UTC)
    assert rows[0].service_category == "AI and Machine Learning"
    # CredentialId key_01SOLORAPERSON1 is in the mapping's api_keys; PrincipalId is the user.
    assert (rows[0].team, rows[0].feature, rows[0].user) == ("research", "eval-harness", "person1@example.com")


def test_third_party_model_billing(engine: sa.Engine) -> None:
    run_import(engine, FOCUS / "ai_model_billing_draft" / "csp_served_third_party_model.csv")
    rows = stored(engine)
    # 3.00 x $0.75 = 2.25 input; 0.50 x $4.50 = 2.25 output; 2.25 + 2.25 = 4.50
    assert sum(row.billed_cost_usd for row in rows) == D("4.50")
    assert {row.model for row in rows} == {"aura-web.solora-jupiter-5"}
    # FOCUS 1.2 names the provider ProviderName; this draft file has ServiceProviderName instead.
    assert {row.provider_name for row in rows} == {"Aura Web"}
    assert {row.cost_kind for row in rows} == {"llm"}
    assert rows[0].team is None  # key_04AURAAP is not in the mapping


def test_commitment_scenarios(engine: sa.Engine) -> None:
    first = run_import(engine, FOCUS / "spec_data" / "commitment_discount_usage_scenario_1.csv")
    run_import(engine, FOCUS / "spec_data" / "commitment_discount_usage_scenario_2.csv")
    rows = stored(engine)

    # Each file: one hour of a committed resource, BilledCost 0.00 and EffectiveCost 1.00.
    assert len(rows) == 2
    assert sum(row.billed_cost_usd for row in rows) == D("0.00")
    assert sum(row.effective_cost_usd for row in rows) == D("2.00")  # 1.00 + 1.00
    assert {row.resource_id for row in rows} == {"<my-resource-id>", "<my-commitment-discount-id>"}
    assert {row.cost_kind for row in rows} == {"other"}
    assert rows[0].charge_period_end == datetime(2023, 1, 1, 1, tzinfo=UTC)
    # These files have no BillingCurrency column; the summary warns that the amounts were read as USD.
    assert first.warnings == [
        f"{FOCUS / 'spec_data' / 'commitment_discount_usage_scenario_1.csv'}: "
        "BillingCurrency is missing or empty; amounts were read as USD"
    ]


def test_saas_dollar_amounts_and_us_dates(engine: sa.Engine) -> None:
    run_import(engine, FOCUS / "spec_data" / "simple_saas_agreements_a1.csv")
    [row] = stored(engine)
    # BilledCost is written "$10,000.00 " (dollar sign, thousands comma, trailing space).
    assert row.billed_cost_usd == D("10000.00")
    assert row.list_cost_usd == D("10000.00")
    # ChargePeriodStart 4/1/25 and ChargePeriodEnd 4/1/26 are M/D/YY dates.
    assert row.charge_period_start == datetime(2025, 4, 1, tzinfo=UTC)
    assert row.charge_period_end == datetime(2026, 4, 1, tzinfo=UTC)
    assert row.charge_category == "Purchase"
    assert row.cost_kind == "other"


def test_bom_crlf_virtual_currency(engine: sa.Engine) -> None:
    path = FOCUS / "spec_data" / "virtual_currency_pricing_model_a1.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the sample has a byte-order mark and CRLF
    run_import(engine, path)
    [row] = stored(engine)
    assert row.billed_cost_usd == D("200000.00")
    assert row.effective_cost_usd == D("0.00")
    assert row.resource_type == "Token Allocation"
    # Priced in "Token" but not an AI service: a token purchase is not LLM usage.
    assert row.cost_kind == "other"


def test_all_samples_total(engine: sa.Engine) -> None:
    for path in sorted((FOCUS / "spec_data").glob("*.csv")) + sorted((FOCUS / "ai_model_billing_draft").glob("*.csv")):
        run_import(engine, path)
    rows = stored(engine)
    assert len(rows) == 8  # 1 + 1 + 1 + 1 spec rows, 2 + 2 AI billing rows
    # 94.50 + 4.50 + 0.00 + 0.00 + 10000.00 + 200000.00 = 210099.00
    assert sum(row.billed_cost_usd for row in rows) == D("210099.00")
    # 94.50 + 4.50 + 1.00 + 1.00 + 10000.00 + 0.00 = 10101.00
    assert sum(row.effective_cost_usd for row in rows) == D("10101.00")


def test_reimport_counts_once(engine: sa.Engine) -> None:
    path = FOCUS / "ai_model_billing_draft" / "per_token_ai_model_api.csv"
    run_import(engine, path)
    again = run_import(engine, path)
    assert (again.rows_imported, again.rows_duplicate) == (0, 2)
    assert sum(row.billed_cost_usd for row in stored(engine)) == D("94.50")


def test_restated_amount_replaces_row(engine: sa.Engine, tmp_path: Path) -> None:
    write_focus(tmp_path / "first.csv", [focus_row(BilledCost="10.00", ResourceId="i-1")])
    write_focus(tmp_path / "restated.csv", [focus_row(BilledCost="12.50", ResourceId="i-1")])
    run_import(engine, tmp_path / "first.csv")
    run_import(engine, tmp_path / "restated.csv")
    # Amounts are not part of the natural key, so the later export's amount replaces the first.
    assert [row.billed_cost_usd for row in stored(engine)] == [D("12.50")]


def test_tags_and_mapping(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        # Tags name the team and feature; SubAccountId sub-ml adds environment from the mapping.
        focus_row(SubAccountId="sub-ml", Tags='{"cost-center": "search", "app": "semantic-search", "owner": "x"}',
                  ResourceId="i-1", BilledCost="3.00"),
        # No tags: the mapping of sub-ml gives team and environment; project is the SubAccountId.
        focus_row(SubAccountId="sub-ml", Tags="null", ResourceId="i-2", BilledCost="4.00"),
        # ResourceName a100-01 is a mapped GPU host: its dimensions apply and the row is GPU spend.
        focus_row(ResourceName="a100-01", ResourceId="i-3", BilledCost="3.43", ConsumedQuantity="1", ConsumedUnit="Hour"),
    ]
    run_import(engine, write_focus(tmp_path / "tagged.csv", rows))
    first, second, third = sorted(stored(engine), key=lambda row: row.resource_id)

    assert (first.team, first.feature, first.environment, first.project) == ("search", "semantic-search", "prod", "sub-ml")
    assert first.tags == {"cost-center": "search", "app": "semantic-search", "owner": "x"}
    assert (second.team, second.feature, second.environment, second.project) == ("ml-platform", None, "prod", "sub-ml")
    assert second.tags is None
    assert (third.team, third.feature, third.cost_kind) == ("ml-platform", "serving", "gpu")


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        ({"SkuId": "p5.48xlarge"}, "gpu"),
        ({"ResourceType": "g6e.12xlarge"}, "gpu"),
        ({"SkuId": "a3-highgpu-8g"}, "gpu"),
        ({"SkuId": "Standard_ND96isr_H100_v5"}, "gpu"),
        ({"ServiceName": "Compute", "SkuMeter": "NVIDIA A100 80GB GPU hours"}, "gpu"),
        ({"ResourceName": "h100-idle-01"}, "gpu"),
        ({"ResourceName": "gpu-berlin-01"}, "gpu"),  # a mapped host
        ({"SkuId": "m5.xlarge"}, "other"),
        ({"SkuId": "t4g.medium"}, "other"),
        ({"SkuId": "Standard_L4s"}, "other"),
        ({"ServiceName": "Vertex AI Vector Search"}, "tool"),
        ({"ServiceName": "Amazon OpenSearch Service"}, "tool"),
        ({"ServiceName": "Research Notebooks"}, "other"),
        ({"ServiceCategory": "AI and Machine Learning", "PricingUnit": "1000000 Tokens"}, "llm"),
        ({"ServiceCategory": "Compute", "PricingUnit": "Tokens"}, "other"),
    ],
)
def test_classify_cost_kind(cells: dict[str, str], kind: str) -> None:
    assert classify_cost_kind(cells, {}, MAPPING) == kind


def test_classify_token_details_first() -> None:
    # A token row is LLM spend even when its SKU names a GPU.
    details = {"ModelId": "m", "TokenDirection": "Input"}
    assert classify_cost_kind({"SkuId": "h100-tokens"}, details, Mapping()) == "llm"


def test_cached_token_direction(engine: sa.Engine, tmp_path: Path) -> None:
    header = [*HEADER, "SkuPriceDetails"]
    details = '{"ModelId": "m-1", "TokenDirection": "Input", "TokenCacheAction": "Read"}'
    run_import(engine, write_focus(tmp_path / "cached.csv", [focus_row(SkuPriceDetails=details)], header))
    [row] = stored(engine)
    assert (row.model, row.token_direction, row.cost_kind) == ("m-1", "input:read", "llm")


def test_credit_may_be_negative(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        focus_row(ResourceId="i-1", BilledCost="5.00"),
        focus_row(ResourceId="i-1", ChargeCategory="Credit", BilledCost="-1.25"),
        focus_row(ResourceId="i-1", ChargeClass="Correction", BilledCost="-0.75"),
    ]
    run_import(engine, write_focus(tmp_path / "credits.csv", rows))
    # 5.00 - 1.25 - 0.75 = 3.00
    assert sum(row.billed_cost_usd for row in stored(engine)) == D("3.00")


def test_skip_bad_rows(engine: sa.Engine, tmp_path: Path) -> None:
    rows = [
        focus_row(ResourceId="i-1", BilledCost="2.00"),
        focus_row(ResourceId="i-2", BilledCost="abc"),
        focus_row(ResourceId="i-3", BilledCost="3.00"),
    ]
    path = write_focus(tmp_path / "mixed.csv", rows)
    summary = run_import(engine, path, skip_bad_rows=True)
    assert (summary.rows_read, summary.rows_imported, summary.rows_rejected) == (3, 2, 1)
    assert sum(row.billed_cost_usd for row in stored(engine)) == D("5.00")  # 2.00 + 3.00
    with open(summary.rejects_path, encoding="utf-8", newline="") as stream:
        rejects = list(csv.DictReader(stream))
    assert [(reject["line"], reject["field"], reject["value"]) for reject in rejects] == [("3", "BilledCost", "abc")]
    assert rejects[0]["error"] == "not a number; write digits with a dot for decimals, such as 12.50"


def bad_row_cases() -> list[tuple[str, dict[str, str], str]]:
    return [
        ("null_cost", {"BilledCost": "null"}, "BilledCost: 'null': missing value; every FOCUS row needs it"),
        ("negative", {"BilledCost": "-4.00"},
         "BilledCost: '-4.00': negative amount; expected zero or more; only Credit and Adjustment charges or "
         "Correction rows may be negative"),
        ("negative_quantity", {"ConsumedQuantity": "-3"},
         "ConsumedQuantity: '-3': negative value; expected zero or more"),
        ("bad_date", {"ChargePeriodStart": "2026-13-01T00:00:00Z"},
         "ChargePeriodStart: '2026-13-01T00:00:00Z': unknown time format; expected RFC 3339 such as "
         "2026-11-19T14:00:00Z or a date YYYY-MM-DD"),
        ("bad_us_date", {"ChargePeriodStart": "2/30/25"},
         "ChargePeriodStart: '2/30/25': invalid date (day is out of range for month); expected M/D/YY or YYYY-MM-DD"),
        ("words_date", {"ChargePeriodEnd": "yesterday"},
         "ChargePeriodEnd: 'yesterday': unknown time format; expected RFC 3339 such as 2026-11-19T14:00:00Z "
         "or a date YYYY-MM-DD"),
        ("end_before_start", {"ChargePeriodEnd": "2026-10-31T00:00:00Z"},
         "ChargePeriodEnd: '2026-10-31T00:00:00Z': before ChargePeriodStart 2026-11-01T00:00:00+00:00; "
         "the period must end after it starts"),
        ("euro", {"BillingCurrency": "EUR"},
         "BillingCurrency: 'EUR': only USD billing is supported; export the data in USD or convert the cost "
         "columns first"),
        ("tags_json", {"Tags": "{cost-center: search}"},
         "Tags: '{cost-center: search}': invalid JSON (Expecting property name enclosed in double quotes); "
         'expected an object such as {"key": "value"}'),
        ("tags_list", {"Tags": '["a", "b"]'}, "Tags: '[\"a\", \"b\"]': expected a JSON object of key/value pairs"),
        ("bad_amount", {"EffectiveCost": "1,00"},
         "EffectiveCost: '1,00': not an amount; write digits with a dot for decimals, such as 1234.50"),
    ]


@pytest.mark.parametrize(("name", "cells", "expected"), bad_row_cases(), ids=[case[0] for case in bad_row_cases()])
def test_bad_row_rejected(engine: sa.Engine, tmp_path: Path, name: str, cells: dict[str, str], expected: str) -> None:
    path = write_focus(tmp_path / f"{name}.csv", [focus_row(ResourceId="ok"), focus_row(ResourceId="bad", **cells)])
    assert failure(engine, path) == [f"{path}:3: {expected}"]
    assert stored(engine) == []


def test_missing_required_column(engine: sa.Engine, tmp_path: Path) -> None:
    header = [column for column in HEADER if column != "ChargePeriodEnd"]
    row = {column: value for column, value in focus_row().items() if column != "ChargePeriodEnd"}
    path = write_focus(tmp_path / "no_end.csv", [row], header)
    [error] = failure(engine, path, format_name="focus")
    assert error.startswith(f"{path}:1: ChargePeriodEnd: '': missing required column of the FOCUS export; the header has: ")
    assert stored(engine) == []


def test_wrong_delimiter(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text("ChargePeriodStart;ChargePeriodEnd;BilledCost\n2026-11-01;2026-11-02;1.00\n", encoding="utf-8")
    assert failure(engine, path, format_name="focus") == [
        f"{path}:1: header: 'ChargePeriodStart;ChargePeriodEnd;BilledCost': columns are separated by ';', "
        "not commas; export the FOCUS export as comma-separated CSV"
    ]
    assert stored(engine) == []


def test_short_row(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("ChargePeriodStart,ChargePeriodEnd,BilledCost\n2026-11-01,2026-11-02\n", encoding="utf-8")
    assert failure(engine, path) == [
        f"{path}:2: row: '2026-11-01,2026-11-02': 2 values but the header has 3 columns; "
        "check for a missing or extra comma or an unquoted value"
    ]


def test_bom_inside_file(engine: sa.Engine, tmp_path: Path) -> None:
    # Two exports joined with cat: the second one's byte-order mark and header sit on line 3.
    part = "\ufeffChargePeriodStart,ChargePeriodEnd,BilledCost\r\n2026-11-01,2026-11-02,1.00\r\n"
    path = tmp_path / "joined.csv"
    path.write_bytes((part + part).encode("utf-8"))
    assert failure(engine, path) == [
        f"{path}:3: ChargePeriodStart: '\\ufeffChargePeriodStart': byte-order mark inside the file "
        "(were two files joined?); remove it"
    ]
    assert stored(engine) == []


def test_crlf_and_null_accepted(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(
        b"ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ResourceId\r\n"
        b"2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,1.50,null,r-1\r\n"
    )
    run_import(engine, path)
    [row] = stored(engine)
    assert (row.billed_cost_usd, row.effective_cost_usd, row.resource_id) == (D("1.50"), None, "r-1")


def test_latin1_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("ChargePeriodStart,ChargePeriodEnd,BilledCost,ChargeDescription\n"
                     "2026-11-01,2026-11-02,1.00,Caf\u00e9 licences\n".encode("latin-1"))
    assert failure(engine, path) == [
        f"{path}:2: encoding: b'\\xe9': not valid UTF-8 (the file may be Latin-1 or Windows-1252); "
        "save it as UTF-8 and import it again"
    ]
    assert stored(engine) == []


def test_latin1_byte_far_into_file(engine: sa.Engine, tmp_path: Path) -> None:
    # The loader checks the first 64 KiB; a bad byte after that is found by the CSV reader.
    good = "".join(f"2026-11-01,2026-11-02,1.00,row {index}\n" for index in range(3000))
    path = tmp_path / "late_latin1.csv"
    path.write_bytes(
        ("ChargePeriodStart,ChargePeriodEnd,BilledCost,ChargeDescription\n" + good).encode("utf-8")
        + "2026-11-01,2026-11-02,1.00,Caf\u00e9\n".encode("latin-1")
    )
    assert failure(engine, path) == [f"{path}:3002: ChargeDescription: b'Caf\\xe9': invalid UTF-8; save the file as UTF-8"]
    assert stored(engine) == []


def test_empty_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert failure(engine, path, format_name="focus") == [f"{path}:1: file: '': the file is empty; export it again with data"]


def test_utf16_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("ChargePeriodStart,ChargePeriodEnd,BilledCost\n".encode("utf-16"))
    assert failure(engine, path, format_name="focus") == [
        f"{path}:1: encoding: b'\\xff\\xfe': the file is UTF-16; save it as UTF-8 and import it again"
    ]


def test_identical_rows_count_once(engine: sa.Engine, tmp_path: Path) -> None:
    # Two rows that agree on every identifying column are one charge; the summary shows it.
    rows = [focus_row(ResourceId="i-1", BilledCost="2.00"), focus_row(ResourceId="i-1", BilledCost="2.00")]
    summary = run_import(engine, write_focus(tmp_path / "twice.csv", rows))
    assert (summary.rows_read, summary.rows_imported, summary.rows_duplicate) == (2, 1, 1)
    assert [row.billed_cost_usd for row in stored(engine)] == [D("2.00")]


def test_long_identifier_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    resource = "r" * 501
    path = write_focus(tmp_path / "long.csv", [focus_row(ResourceId=resource)])
    assert failure(engine, path) == [
        f"{path}:2: ResourceId: '{'r' * 80}…': longer than 500 characters, the most costbot stores for "
        "resource_id; shorten it"
    ]
