"""`python -m bench` (or `make bench`): run every benchmark and print its table.

`python -m bench <name> ...` runs only those (names as in BENCHMARKS).
"""

from __future__ import annotations

import importlib
import sys

from bench.common import setup_django

# Each module has `main() -> None`, printing its own table(s).
BENCHMARKS: list[str] = [
    "capture", "inventory", "routing", "pipeline_inline", "statement_cost", "pipeline", "channels", "search", "kpis",
]  # fmt: skip


def run(names: list[str]) -> None:
    setup_django()
    for name in names or BENCHMARKS:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    run(sys.argv[1:])
