"""Pure DataFrame stages of the ingest: read -> normalise -> map -> group -> plan.

No network, no Prefect. Each public function is a stage boundary the flow can run as a task.
"""

from schemas.ingest import DEFAULT_PURCHASABLE
from transforms.grouping import GroupResult, map_and_group, to_planned_purchases
from transforms.pii import mask_pii
from transforms.plan import (
    FileReport,
    PlanResult,
    PlanWriter,
    ReadResult,
    plan,
    read_exports,
    write_plan,
)
from transforms.skumap import load_sku_map
from transforms.window import Window, parse_window

__all__ = [
    "DEFAULT_PURCHASABLE",
    "FileReport",
    "GroupResult",
    "PlanResult",
    "PlanWriter",
    "ReadResult",
    "Window",
    "load_sku_map",
    "map_and_group",
    "mask_pii",
    "parse_window",
    "plan",
    "read_exports",
    "to_planned_purchases",
    "write_plan",
]
