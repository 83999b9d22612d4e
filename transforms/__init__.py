"""The ingest: marketplace exports -> canonical order lines -> purchases, as Arrow tables.

`ingest()` is the one entry point (`purchase-sync plan` and the Prefect flow both call it); the
modules, in the order the data goes through them: inputs (files as text), formats and the
marketplace readers (lazada, shopee, tiktok) with normalise (cell rules, canonical lines),
rules (what becomes of each line), grouping (purchases). No network, no Prefect.
"""

from transforms.handoff import to_planned_purchases
from transforms.output import write_plan
from transforms.pii import mask_pii
from transforms.pipeline import Ingested, default_sku_map, ingest
from transforms.readers import FileReport
from transforms.skumap import load_sku_map
from transforms.statuses import purchasable_statuses
from transforms.window import Window, parse_window

__all__ = [
    "FileReport",
    "Ingested",
    "Window",
    "default_sku_map",
    "ingest",
    "load_sku_map",
    "mask_pii",
    "parse_window",
    "purchasable_statuses",
    "to_planned_purchases",
    "write_plan",
]
