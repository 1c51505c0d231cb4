"""FinOps FOCUS 1.0–1.2 CSV billing exports -> CloudCost rows.

Each data row becomes one CloudCost. Amounts are read as exact decimals, times as UTC (FOCUS
times are UTC by definition, so a time without a zone is UTC). Tags and the AI token billing
details (`SkuPriceDetails`) are JSON columns. How a row is classified as GPU, LLM, tool or
other spend is `classify_cost_kind`; docs/formats.md documents the whole mapping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ingest.base import ParseContext, Record, RowError, register
from bot.ingest.csvrows import CsvRow, ValueProblem, natural_key, parse_decimal, parse_money, parse_utc_time, read_rows, sniff_header
from bot.ingest.fields import RequiredFields
from bot.mapping import Mapping, merge_dimensions
from bot.models.usage import CloudCost

logger = logging.getLogger(__name__)

SOURCE = "focus"
REQUIRED_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "BilledCost")

# The 57 columns of FOCUS 1.2 (a superset of 1.0 and 1.1) and those of the AI token billing
# working draft. A missing required column is never matched to one of these, because
# "ChargeFrequency", for example, is a column of its own and not a misspelt "ChargePeriodEnd".
SPEC_COLUMNS = frozenset({
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags",
    # AI token billing draft
    "CredentialId", "HostProviderName", "PrincipalId", "RequesterDetails", "ServiceProviderName",
})
FIELDS = RequiredFields("column", REQUIRED_COLUMNS, SPEC_COLUMNS)

# Columns that identify a charge, so a re-import or an overlapping export updates the row
# instead of adding it twice. Amounts, quantities, names and tags are left out on purpose: a
# restated amount or a retagged resource is the same charge.
KEY_COLUMNS = (
    "BillingAccountId", "SubAccountId", "BillingPeriodStart", "InvoiceId",
    "ChargeCategory", "ChargeClass", "ChargeFrequency", "ChargeDescription", "PricingCategory",
    "ProviderName", "ServiceProviderName", "ServiceName", "ResourceId", "RegionId",
    "AvailabilityZone", "SkuId", "SkuPriceId", "SkuMeter", "SkuPriceDetails", "PricingUnit",
    "CommitmentDiscountId", "CommitmentDiscountStatus", "CapacityReservationId",
    "CapacityReservationStatus", "CredentialId",
)

# Rows that may carry negative amounts and quantities: refunds, credits and corrections.
NEGATIVE_CATEGORIES = frozenset({"Credit", "Adjustment"})
NEGATIVE_CLASSES = frozenset({"Correction"})

# GPU instance families and GPU names, matched against the SKU, resource type, service and
# resource name. AWS p/g families (p4d.24xlarge, g6e.xlarge), Google Cloud accelerator
# machine types (a2-highgpu-1g, a3-megagpu-8g, g2-standard-4), Azure N-series
# (Standard_ND96isr_H100_v5) and NVIDIA model names.
GPU_PATTERN = re.compile(
    r"\b(?:p[2-6][a-z0-9-]*|g[4-6][a-z0-9]*|gr6)\.[0-9]*x?large\b"
    r"|\b(?:a2|a3|a4|g2)-(?:high|mega|ultra|edge)?gpu\b|\b(?:a2|a3|a4|g2)-(?:highgpu|megagpu|ultragpu|edgegpu|standard)-"
    r"|\bStandard_N[CDVG][A-Za-z0-9_]*"
    r"|\bgpus?\b"
    r"|\b(?:A100|H100|H200|GH200|B200|GB200|L40S|L40|L4|A10G|V100|MI300X)\b"
    r"|\bTesla[ -]T4\b|\bnvidia-tesla-t4\b",
    re.IGNORECASE,
)
# Vector stores, search and retrieval services.
TOOL_PATTERN = re.compile(r"vector|(?<!re)search|retrieval|knowledge ?base|pinecone|weaviate|qdrant", re.IGNORECASE)
AI_CATEGORY = "AI and Machine Learning"


def sniff(head: bytes, path: Path) -> bool:
    columns = set(sniff_header(head))
    return "BilledCost" in columns and "ChargePeriodStart" in columns


@register("focus", "FinOps FOCUS 1.0-1.2 billing CSV (cloud, SaaS and AI token charges)", sniff, label="FOCUS export", fields=FIELDS)
def parse_focus(context: ParseContext) -> Iterator[Record | RowError]:
    """Parse a FOCUS CSV export into CloudCost records, one per row."""
    mapping: Mapping = context.mapping or Mapping()
    path = context.path
    assumed_currency = False
    rows = 0
    for item in read_rows(context, required=REQUIRED_COLUMNS, what="FOCUS export", optional=SPEC_COLUMNS):
        if isinstance(item, RowError):
            yield item
            continue
        rows += 1
        try:
            values, currency_missing = _cloud_cost(item, mapping, path)
        except _RowProblem as problem:
            yield problem.error
            continue
        if currency_missing and not assumed_currency:
            assumed_currency = True
            context.warnings.append(f"{path}: BillingCurrency is missing or empty; amounts were read as USD")
        yield Record(CloudCost, values, line=item.line, raw=item.raw)
    logger.info("focus parsed: path=%s rows=%d", path, rows)


class _RowProblem(Exception):
    def __init__(self, error: RowError) -> None:
        self.error = error


def _cloud_cost(row: CsvRow, mapping: Mapping, path: Path) -> tuple[dict[str, Any], bool]:
    """Build the CloudCost column values of one row; return them and whether the currency was empty."""
    cell = row.values.get

    def fail(column: str, message: str) -> _RowProblem:
        return _RowProblem(row.error(path, column, message))

    def required(column: str) -> str:
        value = cell(column)
        if value is None:
            raise fail(column, "missing value; every FOCUS row needs it")
        return value

    def timestamp(column: str):
        try:
            moment, _ = parse_utc_time(required(column), naive_is_utc=True)
        except ValueProblem as exc:
            raise fail(column, str(exc)) from None
        return moment

    category = cell("ChargeCategory")
    may_be_negative = category in NEGATIVE_CATEGORIES or cell("ChargeClass") in NEGATIVE_CLASSES

    def money(column: str, *, needed: bool = False):
        text = required(column) if needed else cell(column)
        if text is None:
            return None
        try:
            return parse_money(text, allow_negative=may_be_negative)
        except ValueProblem as exc:
            reason = str(exc)
            if "negative" in reason:
                reason += "; only Credit and Adjustment charges or Correction rows may be negative"
            raise fail(column, reason) from None

    start = timestamp("ChargePeriodStart")
    end = timestamp("ChargePeriodEnd")
    if end < start:
        raise fail("ChargePeriodEnd", f"before ChargePeriodStart {start.isoformat()}; the period must end after it starts")

    currency = cell("BillingCurrency")
    if currency is not None and currency.upper() != "USD":
        raise fail(
            "BillingCurrency",
            "only USD billing is supported; export the data in USD or convert the cost columns first",
        )

    billed = money("BilledCost", needed=True)
    effective = money("EffectiveCost")
    listed = money("ListCost")

    quantity = None
    if cell("ConsumedQuantity") is not None:
        try:
            quantity = parse_decimal(cell("ConsumedQuantity"), allow_negative=may_be_negative)
        except ValueProblem as exc:
            raise fail("ConsumedQuantity", str(exc)) from None

    tags = _json_object(row, path, "Tags")
    details = _json_object(row, path, "SkuPriceDetails") or {}

    model = details.get("ModelId")
    direction = details.get("TokenDirection")
    if direction is not None:
        direction = str(direction).lower()
        cache_action = details.get("TokenCacheAction")
        if cache_action and str(cache_action).lower() != "uncached":
            direction = f"{direction}:{str(cache_action).lower()}"

    values: dict[str, Any] = {
        "source": SOURCE,
        "charge_period_start": start,
        "charge_period_end": end,
        "billed_cost_usd": billed,
        "effective_cost_usd": effective,
        "list_cost_usd": listed,
        "billing_currency": "USD",
        "provider_name": cell("ProviderName") or cell("ServiceProviderName"),
        "service_name": cell("ServiceName"),
        "service_category": cell("ServiceCategory"),
        "charge_category": category,
        "charge_description": _shortened(cell("ChargeDescription"), 1000),
        "resource_id": cell("ResourceId"),
        "resource_name": cell("ResourceName"),
        "resource_type": cell("ResourceType"),
        "sku_id": cell("SkuId"),
        "region_id": cell("RegionId"),
        "sub_account_id": cell("SubAccountId"),
        "consumed_quantity": float(quantity) if quantity is not None else None,
        "consumed_unit": cell("ConsumedUnit"),
        "model": str(model) if model is not None else None,
        "token_direction": direction,
        "tags": tags,
    }
    values["cost_kind"] = classify_cost_kind(row.values, details, mapping)

    # The row's own ids win, then the most specific mapping: tags, API key, host, account.
    dimensions = merge_dimensions(
        {"project": cell("SubAccountId"), "user": cell("PrincipalId")},
        mapping.from_tags(tags),
        mapping.for_api_key(cell("CredentialId")),
        mapping.for_host(cell("ResourceName")),
        mapping.for_host(cell("ResourceId")),
        mapping.for_project(cell("SubAccountId")),
    )
    values.update(dimensions)

    _check_lengths(values, row, path)
    values["natural_key"] = _natural_key(row, start, end)
    return values, currency is None


def classify_cost_kind(cells: dict[str, str | None], details: dict[str, Any], mapping: Mapping) -> str:
    """Return what a FOCUS row pays for: llm, gpu, tool or other, checked in that order.

    - llm: the AI token billing details name a model or token direction, or the row is in the
      "AI and Machine Learning" service category and is priced in tokens.
    - gpu: the resource is a host in the mapping's `hosts`, or the SKU, resource type, service,
      resource name or description names a GPU instance family or a GPU (see GPU_PATTERN).
    - tool: the service, subcategory, resource type or SKU names a vector store, search or
      retrieval service.
    """
    units = " ".join(filter(None, (cells.get("PricingUnit"), cells.get("ConsumedUnit")))).lower()
    if details.get("ModelId") or details.get("TokenDirection"):
        return "llm"
    if cells.get("ServiceCategory") == AI_CATEGORY and "token" in units:
        return "llm"

    for host in (cells.get("ResourceName"), cells.get("ResourceId")):
        if host and (mapping.host_rate(host) is not None or mapping.host_gpu_model(host)):
            return "gpu"
    gpu_text = " ".join(filter(None, (
        cells.get("SkuId"), cells.get("SkuPriceId"), cells.get("ResourceType"), cells.get("ServiceName"),
        cells.get("ResourceName"), cells.get("ChargeDescription"), cells.get("SkuMeter"),
    )))
    if GPU_PATTERN.search(gpu_text):
        return "gpu"

    tool_text = " ".join(filter(None, (
        cells.get("ServiceName"), cells.get("ServiceSubcategory"), cells.get("ResourceType"), cells.get("SkuId"),
    )))
    if TOOL_PATTERN.search(tool_text):
        return "tool"
    return "other"


def _json_object(row: CsvRow, path: Path, column: str) -> dict[str, Any] | None:
    text = row.values.get(column)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _RowProblem(row.error(path, column, f"invalid JSON ({exc.msg}); expected an object such as {{\"key\": \"value\"}}")) from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _RowProblem(row.error(path, column, "expected a JSON object of key/value pairs"))
    return value


def _shortened(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


# The FOCUS column each stored text comes from, for error messages.
_SOURCE_COLUMNS = {
    "provider_name": "ProviderName", "service_name": "ServiceName", "service_category": "ServiceCategory",
    "charge_category": "ChargeCategory", "resource_id": "ResourceId", "resource_name": "ResourceName",
    "resource_type": "ResourceType", "sku_id": "SkuId", "region_id": "RegionId",
    "sub_account_id": "SubAccountId", "consumed_unit": "ConsumedUnit", "model": "SkuPriceDetails",
    "token_direction": "SkuPriceDetails", "project": "SubAccountId", "user": "PrincipalId",
}


# Maximum length of each text column of cloud_cost.
_LENGTH_LIMITS = {
    column.name: column.type.length
    for column in CloudCost.__table__.columns
    if getattr(column.type, "length", None) is not None
}


def _check_lengths(values: dict[str, Any], row: CsvRow, path: Path) -> None:
    """Reject texts longer than their column, which PostgreSQL would refuse at insert time."""
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        limit = _LENGTH_LIMITS.get(name)
        if limit is not None and len(value) > limit:
            column = _SOURCE_COLUMNS.get(name, name)
            message = f"longer than {limit} characters, the most costbot stores for {name}; shorten it"
            raise _RowProblem(RowError(str(path), row.line, column, value[:80] + "…", message, raw=row.raw))


def _natural_key(row: CsvRow, start, end) -> str:
    """Build the key from the charge period and a digest of the identifying columns."""
    identity = "\x1f".join(row.values.get(column) or "" for column in KEY_COLUMNS)  # unit separator
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return natural_key(start, end, digest)
