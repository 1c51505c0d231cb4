"""PNG charts of time series, drawn with matplotlib's headless Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (the backend must be chosen first)


def bar_chart(points: Sequence[tuple[str, Decimal]], *, title: str, ylabel: str = "USD") -> bytes:
    """Draw one bar per (label, amount) and return the PNG bytes.

    Amounts are converted to float only for drawing; the labels and the answer text keep
    the exact Decimal values.
    """
    figure = Figure(figsize=(8, 3.2), dpi=100)
    axes = figure.subplots()
    labels = [label for label, _ in points]
    axes.bar(range(len(points)), [float(amount) for _, amount in points], color="#3b6ea8")
    step = max(1, len(labels) // 12)
    axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right", fontsize=8)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
