"""The submit stage: every planned purchase created once and only once (docs/submit.md).

`run_submit` chains the stages; each stage is also exported so the Prefect flow can make it a
task: `register -> reconcile -> resolve -> pre_price -> create`, then `results_frame`.
"""

from __future__ import annotations

from .plan import Plan, Rejected
from .report import PriceChange, ProgressEvent, SubmitReport, Verdict
from .results import results_frame
from .settings import SubmitSettings, WarehouseAddress, amount_to_fen
from .stages import Resolution, create, pre_price, reconcile, register, resolve, run_submit

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
