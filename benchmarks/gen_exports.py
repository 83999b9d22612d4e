"""The benchmarks' export files: made by the one generator (`synthetic`), cached.

    python -m benchmarks.gen_exports 1000000 [lazada|shopee|tiktok]

A file is regenerated only when its parameters (kept in a `.meta.json` beside it) differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from synthetic import write_export

DATA_DIR = Path(__file__).parent / ".data"
GENERATOR_VERSION = 3


def generate(
    n_rows: int,
    path: Path,
    *,
    seed: int = 1,
    purchasable_share: float = 0.7,
    marketplace: str = "lazada",
) -> tuple[Path, Path]:
    """Write (or reuse) `path` (the export CSV) and its SKU map next to it; both paths.

    `purchasable_share` of the orders wait to ship (the rest are shipped, delivered or
    cancelled), so `plan` finds one purchase per such order.
    """
    path = Path(path)
    map_path = path.with_name(path.stem + ".sku_map.csv")
    meta_path = path.with_name(path.stem + ".meta.json")
    meta = {"version": GENERATOR_VERSION, "n_rows": n_rows, "seed": seed,
            "purchasable_share": purchasable_share, "marketplace": marketplace}  # fmt: skip
    fresh = path.exists() and map_path.exists() and meta_path.exists()
    if fresh and json.loads(meta_path.read_text()) == meta:
        return path, map_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    _, tmp_map = write_export(marketplace, n_rows, tmp, seed=seed, live_share=purchasable_share)
    tmp.replace(path)
    tmp_map.replace(map_path)
    meta_path.write_text(json.dumps(meta))
    return path, map_path


def default_path(n_rows: int, seed: int = 1, marketplace: str = "lazada") -> Path:
    return DATA_DIR / f"{marketplace}_{n_rows}_s{seed}.csv"


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    market = sys.argv[2] if len(sys.argv) > 2 else "lazada"
    print(*generate(rows, default_path(rows, 1, market), marketplace=market), sep="\n")
