"""Turn benchmark outcomes into the one table on stdout and into results.json."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from typing import Any, NamedTuple

from common import Series
from suite import Benchmark, Target


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python and OS of this machine."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu_model": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def format_value(value: float, unit: str) -> str:
    if unit in ("req/s", "MB/s"):
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_spread(series: Series) -> str:
    digits = ",.0f" if series.high >= 100 else ".3g"
    return f"{series.low:{digits}}–{series.high:{digits}} (n={len(series.values)})"


def ratio_to(series: Series, baseline: Series | None) -> str:
    """``value / baseline``: for times above 1 is slower, for throughputs above 1 is more."""
    if baseline is None:
        return ""
    if series is baseline:
        return "baseline"
    ratio = series.median / baseline.median
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def evaluate(target: Target, bench: Benchmark) -> dict[str, Any]:
    """Whether a target is met, and the measured figure it was judged on."""
    mine = bench.get(target.contender).median
    other = bench.get(target.other).median if target.other else None
    if target.kind == "faster":
        figure, met, shown = other / mine, other / mine >= target.limit, f"{other / mine:.2f}x"
    elif target.kind == "within":
        figure, met, shown = mine / other, mine / other <= target.limit, f"{mine / other:.2f}x"
    elif target.kind == "at_least":
        figure, met, shown = mine / other, mine / other >= target.limit, f"{mine / other:.2f}x"
    elif target.kind == "min":
        unit = bench.get(target.contender).unit
        figure, met, shown = mine, mine >= target.limit, format_value(mine, unit)
    else:
        unit = bench.get(target.contender).unit
        figure, met, shown = mine, mine <= target.limit, format_value(mine, unit)
    return {
        "target": target.label,
        "contender": target.contender,
        "measured": figure,
        "measured_text": shown,
        "met": met,
    }


class NotRunEntry(NamedTuple):
    """A benchmark (or its remaining part) that could not run, and where it sits in the table."""

    position: int
    title: str
    reason: str


HEADERS = ("benchmark", "contender", "median", "spread: min–max (rounds)", "vs baseline", "target")


def table_rows(
    benchmarks: list[Benchmark], not_run: list[NotRunEntry], checks: list[tuple[str, str]]
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for position, bench in enumerate([*benchmarks, None]):
        for entry in not_run:
            if entry.position == position:
                reason = entry.reason if len(entry.reason) <= 70 else entry.reason[:69] + "…"
                rows.append((entry.title, "", f"not run: {reason}", "", "", ""))
        if bench is None:
            break
        baseline = bench.get(bench.baseline) if bench.baseline else None
        verdicts: dict[str, list[str]] = {}
        for target in bench.targets:
            outcome = evaluate(target, bench)
            status = "met" if outcome["met"] else "MISSED"
            verdicts.setdefault(target.contender, []).append(
                f"{target.label}: {outcome['measured_text']} {status}"
            )
        for index, series in enumerate(bench.series):
            name = series.contender + (" [baseline]" if series is baseline else "")
            goals = verdicts.get(series.contender) or [""]
            rows.append(
                (
                    bench.title if index == 0 else "",
                    name,
                    format_value(series.median, series.unit),
                    format_spread(series),
                    ratio_to(series, baseline),
                    goals[0],
                )
            )
            rows.extend(("", "", "", "", "", goal) for goal in goals[1:])
    for title, outcome in checks:
        rows.append((title, "", outcome, "", "", ""))
    return rows


def render(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in [HEADERS, *rows]) for column in range(len(HEADERS))]
    rule = "-+-".join("-" * width for width in widths)

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    lines = [line(HEADERS).rstrip(), rule]
    for row in rows:
        if row[0] and len(lines) > 2:
            lines.append(rule)
        lines.append(line(row).rstrip())
    return "\n".join(lines)


def results_document(
    benchmarks: list[Benchmark],
    not_run: list[NotRunEntry],
    checks: list[tuple[str, str]],
    settings: dict[str, Any],
    started: datetime.datetime,
) -> dict[str, Any]:
    return {
        "date": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings,
        "benchmarks": [
            {
                "key": bench.key,
                "title": bench.title,
                "baseline": bench.baseline,
                "series": [series.as_dict() for series in bench.series],
                "targets": [evaluate(target, bench) for target in bench.targets],
                "notes": bench.notes,
            }
            for bench in benchmarks
        ],
        "checks": [{"check": title, "outcome": outcome} for title, outcome in checks],
        "not_run": [{"benchmark": entry.title, "reason": entry.reason} for entry in not_run],
    }


def write_json(document: dict[str, Any], path: str) -> None:
    """Write atomically, so an interrupted run never leaves half a file."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as results_file:
        json.dump(document, results_file, indent=2)
        results_file.write("\n")
    os.replace(temporary, path)
