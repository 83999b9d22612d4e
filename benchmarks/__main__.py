"""`make bench`: run every benchmark module (benchmarks/bench_*.py) and print its ratios.

Each module exposes `main(argv: list[str]) -> None` and prints its own figures as ratios against a
baseline measured in the same run. `python -m benchmarks client ingest --rows 100000` runs only those, passing the options on.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    # Leading bare words that name benchmarks select them; everything else (`--rows 1000`,
    # `--n=500`) is passed to each selected benchmark's own parser.
    wanted: list[str] = []
    rest = list(argv)
    while rest and not rest[0].startswith("-"):
        wanted.append(rest.pop(0))
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(names)}", file=sys.stderr
        )
        return 2
    wanted = wanted or names
    for name in wanted:
        print(f"\n=== bench {name} ===", flush=True)
        t0 = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main(rest)
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s wall", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
