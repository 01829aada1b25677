"""Timing helpers and the report table shared by every benchmark section."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    section: str
    name: str
    baseline_label: str
    baseline: float  # seconds per operation (or bytes for memory rows)
    ours: float
    target: str = ""
    passed: bool | None = None
    unit: str = "s"
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


def per_call(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[float]:
    """Seconds each call took, one figure per item."""
    clock = time.perf_counter_ns
    out = []
    for item in items:
        start = clock()
        fn(item)
        out.append((clock() - start) / 1e9)
    return out


def interleaved(contenders: dict[str, Callable[[], list[float]]], rounds: int) -> dict[str, float]:
    """Median over rounds of each contender's median per-operation time.

    Contenders run one after another inside each round, so a noisy neighbour on a shared
    machine slows all of them in the same round instead of biasing one.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            samples[name].append(statistics.median(run()))
    return {name: statistics.median(values) for name, values in samples.items()}


def human(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"


def table(rows: list[Row]) -> str:
    header = ("section", "measure", "baseline", "ours", "ratio", "target", "")
    lines = [header]
    for row in rows:
        verdict = "" if row.passed is None else ("ok" if row.passed else "MISSED")
        lines.append(
            (
                row.section,
                row.name,
                f"{row.baseline_label}: {human(row.baseline, row.unit)}",
                human(row.ours, row.unit),
                f"{row.ratio:.2f}×",
                row.target,
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  note ({r.section}/{r.name}): {n}" for r in rows for n in r.notes]
    return "\n".join(rendered + notes)
