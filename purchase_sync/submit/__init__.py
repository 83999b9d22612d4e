"""The submit stage: every planned purchase created once and only once (docs/submit.md).

`run_submit` chains the stages; each stage is also exported so the Prefect flow can make it a
task: `register -> reconcile -> resolve -> pre_price -> create`, then `results_frame`.
"""

from __future__ import annotations

from .common import Resolution
from .create import create
from .plan import Plan, Rejected
from .price import pre_price
from .reconcile import reconcile
from .register import register
from .report import PriceChange, ProgressEvent, SubmitReport, Verdict
from .resolve import resolve
from .results import results_frame
from .run import run_submit
from .settings import SubmitSettings, WarehouseAddress, amount_to_fen

__all__ = [
    "Plan",
    "PriceChange",
    "ProgressEvent",
    "Rejected",
    "Resolution",
    "SubmitReport",
    "SubmitSettings",
    "Verdict",
    "WarehouseAddress",
    "amount_to_fen",
    "create",
    "pre_price",
    "reconcile",
    "register",
    "resolve",
    "results_frame",
    "run_submit",
]
