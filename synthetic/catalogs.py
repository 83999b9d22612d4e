"""What the synthetic shops sell and where each item is bought: catalogs and SKU maps.

The benchmark catalog is the sandbox's generated items (their ids follow a fixed scheme,
docs/sandbox.md), every SKU sold in every country; the sample catalog (synthetic.samples) is
a handful of the sandbox's fixed items. A SKU map row says, for (marketplace, country, seller
SKU), which supplier item and SKU to buy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.orders import Catalog, join, pick, text
from synthetic.world import COUNTRIES, ITEMS, PRICE_STEP

# The sandbox catalog's generated items (sandbox/catalog.py's scheme).
N_TAOBAO_ITEMS, TAOBAO_ITEM_BASE, TAOBAO_SKU_BASE = 10_000, 800_000_000_000, 9_000_000_000_000
N_1688_ITEMS, ALI_ITEM_BASE, ALI_SKU_BASE = 2_000, 610_000_000_000, 4_900_000_000_000
# price band per country, cents: low, high (the step is PRICE_STEP)
PRICE_BANDS = ((1_990, 15_000), (800, 8_000), (15_000, 150_000), (9_900, 100_000),
               (5_000_000, 80_000_000), (3_000_000, 50_000_000))  # fmt: skip
SKU_MAP_COLUMNS = ("marketplace", "country", "seller_sku", "platform_item_id", "platform_sku_id",
                   "source_platform", "source_item_id", "source_sku_id", "source_spec_id",
                   "source_sku_props", "qty_multiplier", "supplier_shop", "status", "source_url")  # fmt: skip


def generated_catalog() -> tuple[Catalog, pa.Table]:
    """(the catalog, its supplier targets): every in-pool generated sandbox SKU, in catalog order.

    Targets are (source_platform, source_item_id, source_sku_id, qty_multiplier), one per SKU;
    every tenth SKU is sold in packs of two (multiplier 2).
    """
    parts = []
    for platform, n_items, item_base, sku_base, per_item, tag in (
        ("taobao", N_TAOBAO_ITEMS, TAOBAO_ITEM_BASE, TAOBAO_SKU_BASE, 4, "GT"),
        ("1688", N_1688_ITEMS, ALI_ITEM_BASE, ALI_SKU_BASE, 3, "GA"),
    ):
        i = np.arange(n_items, dtype=np.int64)
        i = i[i % 50 != 49]  # items the sandbox keeps out of the distribution pool
        n_skus = 1 + i % per_item
        item = np.repeat(i, n_skus)
        j = np.arange(len(item)) - np.repeat(np.cumsum(n_skus) - n_skus, n_skus)
        parts.append(
            pa.table(
                {
                    "source_platform": pick([platform], np.zeros(len(item))),
                    "source_item_id": text(item_base + item),
                    "source_sku_id": text(sku_base + item * 10 + j),
                    "seller_sku": join(tag + "-", text(item), "-", text(j)),
                }
            )
        )
    found = pa.concat_tables(parts)
    n = found.num_rows
    idx = np.arange(n)
    skus = pa.table(
        {
            "seller_sku": found["seller_sku"],
            "item_name": pick([name for name, _ in ITEMS], idx % len(ITEMS)),
            "variation": pick([v for _, v in ITEMS], idx % len(ITEMS)),
            "platform_item_id": text(3_000_000_000 + idx * 13),
            "platform_sku_id": text(15_000_000_000 + idx * 17),
        }
    )
    low, high = (np.array([b[k] for b in PRICE_BANDS]) for k in (0, 1))
    step = np.array(PRICE_STEP)
    prices = ((low + (idx[:, None] * 7919) % (high - low)) // step) * step
    targets = found.select(["source_platform", "source_item_id", "source_sku_id"]).append_column(
        "qty_multiplier", pa.array(np.where(idx % 10 == 9, 2, 1))
    )
    return Catalog(skus, prices.astype(np.int64)), targets


def sku_map(
    catalog: Catalog,
    targets: pa.Table,
    marketplaces: tuple[str, ...],
    *,
    status: pa.Array | None = None,
    shop: pa.Array | None = None,
) -> pa.Table:
    """A SKU map row per (marketplace, country where the SKU is sold, SKU), all text."""
    sold = catalog.prices > 0
    sku_idx, country_idx = np.nonzero(sold)
    rows = []
    for marketplace in marketplaces:
        n = len(sku_idx)
        take = pa.array(sku_idx)
        skus, tgt = catalog.skus.take(take), targets.take(take)

        def column(name: str, tgt: pa.Table = tgt, n: int = n) -> pa.Array:
            return tgt[name] if name in tgt.column_names else pa.nulls(n, pa.string())

        rows.append(
            pa.table(
                {
                    "marketplace": pick([marketplace], np.zeros(n)),
                    "country": pick(COUNTRIES, country_idx),
                    "seller_sku": skus["seller_sku"],
                    "platform_item_id": skus["platform_item_id"],
                    "platform_sku_id": skus["platform_sku_id"],
                    "source_platform": tgt["source_platform"],
                    "source_item_id": tgt["source_item_id"],
                    "source_sku_id": column("source_sku_id"),
                    "source_spec_id": column("source_spec_id"),
                    "source_sku_props": column("source_sku_props"),
                    "qty_multiplier": pc.cast(tgt["qty_multiplier"], pa.string()),
                    "supplier_shop": join("Generated shop ", tgt["source_item_id"])
                    if shop is None
                    else pc.take(shop, take),
                    "status": pick(["approved"], np.zeros(n))
                    if status is None
                    else pc.take(status, take),
                    "source_url": column("source_url"),
                }
            )
        )
    return pa.concat_tables(rows).select(list(SKU_MAP_COLUMNS))
