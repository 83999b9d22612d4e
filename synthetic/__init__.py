"""The one generator of synthetic marketplace exports: samples, test data and benchmark files.

    orders.random_lines   random orders as order lines (vectorised, deterministic by seed)
    render.lazada/shopee/tiktok   the lines as each marketplace's export (real headers, text)
    files.write_csv/write_xlsx    written with the formats' quirks (encodings, title rows, ...)
    catalogs              what is sold and the SKU map that says where to buy it
    samples               data/samples/ (a small, profitable multi-marketplace shop)
    cases                 tests/data/ (tiny literal exports, one quirk or fault each)

`python -m synthetic samples`, `python -m synthetic tests`, or
`python -m synthetic export MARKETPLACE ROWS PATH [--seed N]` (benchmarks/gen_exports.py caches
its files under benchmarks/.data). Every name, address, phone and id is made up.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from synthetic import catalogs, files, orders, render

MARKETPLACES = ("lazada", "shopee", "tiktok")


def export_tables(
    marketplace: str, n_rows: int, *, seed: int = 1, live_share: float = 0.7
) -> tuple[pa.Table, pa.Table]:
    """(an export of about `n_rows` rows, its SKU map) over the sandbox's generated catalog.

    Lazada rows are units (quantity 1 each, a few later units of live orders cancelled);
    Shopee (English header) and TikTok Shop (TH layout) rows are order lines with quantities.
    Every SKU maps to an in-pool sandbox item, so each live order is one purchase.
    """
    catalog, targets = catalogs.generated_catalog()
    lazada = marketplace == "lazada"
    lines = orders.random_lines(
        n_rows,
        marketplace=marketplace,
        catalog=catalog,
        seed=seed,
        weights=(0.25, 0.10, 0.20, 0.20, 0.12, 0.13),
        live_share=live_share,
        multi_unit_share=0.0 if lazada else 0.2,
        partial_cancel_share=0.15 if lazada else 0.0,
    )
    table = {
        "lazada": lambda: render.lazada(lines, seed=seed),
        "shopee": lambda: render.shopee(lines, "en"),
        "tiktok": lambda: render.tiktok(lines, "th"),
    }[marketplace]()
    return table, catalogs.sku_map(catalog, targets, (marketplace,))


def write_export(marketplace: str, n_rows: int, path: Path, *, seed: int = 1,
                 live_share: float = 0.7) -> tuple[Path, Path]:  # fmt: skip
    """`export_tables` written as CSV (TikTok with its description row) and the SKU map beside
    it (`<stem>.sku_map.csv`); both paths."""
    table, sku_map = export_tables(marketplace, n_rows, seed=seed, live_share=live_share)
    map_path = path.with_name(path.stem + ".sku_map.csv")
    after = (
        render.tiktok_description(tuple(table.column_names)) if marketplace == "tiktok" else None
    )
    files.write_csv(table, path, after=after)
    files.write_csv(sku_map, map_path)
    return path, map_path
