"""Benchmark harness: a report of measured numbers against their targets, and the machine."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Measurement:
    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None  # None when the metric has no target


@dataclass
class Report:
    measurements: list[Measurement] = field(default_factory=list)

    def add(
        self,
        benchmark: str,
        metric: str,
        value: float,
        unit: str,
        *,
        target: str = "",
        met: bool | None = None,
    ) -> None:
        measurement = Measurement(benchmark, metric, value, unit, target, met)
        self.measurements.append(measurement)
        print(f"  {benchmark}: {metric} = {_format(value)} {unit} {target}".rstrip(), flush=True)

    @property
    def all_met(self) -> bool:
        return all(m.met is not False for m in self.measurements)

    def markdown(self) -> str:
        lines = [
            "| benchmark | metric | value | target | met |",
            "| --- | --- | --- | --- | --- |",
        ]
        for m in self.measurements:
            met = "" if m.met is None else ("yes" if m.met else "**no**")
            lines.append(f"| {m.benchmark} | {m.metric} | {_format(m.value)} {m.unit} | {m.target} | {met} |")
        return "\n".join(lines)


def machine_description() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return (
        f"{model}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def _format(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
