"""Run the benchmarks: ``make bench`` or ``python tests/benchmarks [NAME ...]``.

Each ``bench_*.py`` module beside this file has ``run(report)``. The results print as a
Markdown table, ready for docs/benchmarks.md, and the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from pathlib import Path

from harness import Report, machine_description


def main(names: list[str]) -> int:
    available = sorted(path.stem.removeprefix("bench_") for path in Path(__file__).parent.glob("bench_*.py"))
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"Unknown benchmark {', '.join(unknown)}; choose from {', '.join(available)}.", file=sys.stderr)
        return 2
    # waitress warns each time a request waits for a worker thread, which load tests do on purpose.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    report = Report()
    started = time.monotonic()
    for name in names or available:
        print(f"{name}:", flush=True)
        importlib.import_module(f"bench_{name}").run(report)
    print(f"\nMachine: {machine_description()}")
    print(f"Command: make bench ({time.monotonic() - started:.0f} s)\n")
    print(report.markdown())
    return 0 if report.all_met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
