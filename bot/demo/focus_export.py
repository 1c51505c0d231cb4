"""A FinOps FOCUS 1.2 CSV from AWS: hourly rows per rented GPU and a daily vector store row.

Each GPU host is a single-GPU on-demand instance billed at the per-GPU-hour rate. The file
uses CRLF line endings, as many FOCUS exports do, and empty cells for nulls.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.demo import cases
from bot.demo.catalog import (
    BILLING_ACCOUNT_ID,
    GPU_SUB_ACCOUNT,
    HOSTS,
    VECTOR_STORE_FEATURE,
    VECTOR_STORE_OCU_HOUR_USD,
    VECTOR_STORE_OCU_HOURS_PER_DAY,
    VECTOR_SUB_ACCOUNT,
    Host,
)
from bot.demo.ledger import Ledger
from bot.demo.workload import Workload

# The 57 columns of FOCUS 1.2, in the specification's (alphabetical) order.
COLUMNS = (
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
)
REGION = ("us-east-1", "US East (N. Virginia)")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _billing_period(moment: datetime) -> tuple[str, str]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return _iso(start), _iso(end)


def _compact(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


def _row(values: dict[str, object]) -> list[str]:
    return ["" if values.get(column) is None else str(values[column]) for column in COLUMNS]


def _common(start: datetime, end: datetime, sub_account: tuple[str, str, str]) -> dict[str, object]:
    period_start, period_end = _billing_period(start)
    return {
        "BillingAccountId": BILLING_ACCOUNT_ID,
        "BillingAccountName": "Example Corp",
        "BillingAccountType": "Management Account",
        "BillingCurrency": "USD",
        "BillingPeriodStart": period_start,
        "BillingPeriodEnd": period_end,
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodStart": _iso(start),
        "ChargePeriodEnd": _iso(end),
        "InvoiceIssuerName": "Amazon Web Services, Inc.",
        "PricingCategory": "Standard",
        "ProviderName": "AWS",
        "PublisherName": "AWS",
        "RegionId": REGION[0],
        "RegionName": REGION[1],
        "SubAccountId": sub_account[0],
        "SubAccountName": sub_account[1],
        "SubAccountType": "Linked Account",
    }


def _gpu_row(host: Host, start: datetime) -> list[str]:
    rate = host.hourly_usd
    memory = "80GB HBM3" if host.gpu_model == "H100" else "80GB HBM2e"
    values = _common(start, start + timedelta(hours=1), GPU_SUB_ACCOUNT)
    values.update({
        "AvailabilityZone": "us-east-1a",
        "BilledCost": rate,
        "ChargeDescription": f"On Demand {host.gpu_model} {memory} GPU hour",
        "ConsumedQuantity": 1,
        "ConsumedUnit": "Hours",
        "ContractedCost": rate,
        "ContractedUnitPrice": rate,
        "EffectiveCost": rate,
        "ListCost": rate,
        "ListUnitPrice": rate,
        "PricingQuantity": 1,
        "PricingUnit": "Hours",
        "ResourceId": host.instance_id,
        "ResourceName": host.name,
        "ResourceType": "Virtual Machine",
        "ServiceCategory": "Compute",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "ServiceSubcategory": "Virtual Machines",
        "SkuId": f"gpu-{host.gpu_model.lower()}-80gb-1x",
        "SkuMeter": "GPU Hours",
        "SkuPriceDetails": _compact({"GpuCount": 1, "GpuModel": host.gpu_model}),
        "SkuPriceId": f"gpu-{host.gpu_model.lower()}-80gb-1x.ondemand.{REGION[0]}",
        "Tags": _compact({"cost-center": host.team, "app": host.feature, "host": host.name}),
    })
    return _row(values)


def _vector_row(day: date) -> list[str]:
    start = datetime.combine(day, datetime.min.time(), UTC)
    cost = VECTOR_STORE_OCU_HOUR_USD * VECTOR_STORE_OCU_HOURS_PER_DAY
    values = _common(start, start + timedelta(days=1), VECTOR_SUB_ACCOUNT)
    values.update({
        "BilledCost": cost,
        "ChargeDescription": "OpenSearch Serverless vector search and indexing OCU-hours",
        "ConsumedQuantity": VECTOR_STORE_OCU_HOURS_PER_DAY,
        "ConsumedUnit": "OCU-Hours",
        "ContractedCost": cost,
        "ContractedUnitPrice": VECTOR_STORE_OCU_HOUR_USD,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ListUnitPrice": VECTOR_STORE_OCU_HOUR_USD,
        "PricingQuantity": VECTOR_STORE_OCU_HOURS_PER_DAY,
        "PricingUnit": "OCU-Hours",
        "ResourceId": f"arn:aws:aoss:{REGION[0]}:{VECTOR_SUB_ACCOUNT[0]}:collection/support-kb-vectors",
        "ResourceName": "support-kb-vectors",
        "ResourceType": "Vector Search Collection",
        "ServiceCategory": "Databases",
        "ServiceName": "Amazon OpenSearch Service",
        "ServiceSubcategory": "Other (Databases)",
        "SkuId": "aoss-vectorsearch-ocu",
        "SkuMeter": "OCU Hours",
        "SkuPriceId": f"aoss-vectorsearch-ocu.ondemand.{REGION[0]}",
        "Tags": _compact({"cost-center": VECTOR_SUB_ACCOUNT[2], "app": VECTOR_STORE_FEATURE}),
    })
    return _row(values)


def write_focus(workload: Workload, out_dir: Path, ledger: Ledger) -> list[Path]:
    """Write `focus/aws_focus_1.2.csv` for the last GPU_RENTAL_DAYS days and add its costs to `ledger`."""
    folder = out_dir / "focus"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "aws_focus_1.2.csv"
    days = workload.days[-cases.GPU_RENTAL_DAYS :]
    vector_cost = VECTOR_STORE_OCU_HOUR_USD * VECTOR_STORE_OCU_HOURS_PER_DAY
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for day in days:
            midnight = datetime.combine(day, datetime.min.time(), UTC)
            for hour in range(24):
                start = midnight + timedelta(hours=hour)
                for host in HOSTS:
                    writer.writerow(_gpu_row(host, start))
            writer.writerow(_vector_row(day))
            for host in HOSTS:
                ledger.add(day, host.team, host.feature, "gpu", host.hourly_usd * 24)
            ledger.add(day, VECTOR_SUB_ACCOUNT[2], VECTOR_STORE_FEATURE, "tools", vector_cost)
    return [path]

