"""The submit stages, one module each; this module names them for the flow and older callers.

register -> reconcile -> resolve -> pre_price -> rails -> create (docs/submit.md).
"""

from __future__ import annotations

from .common import Resolution
from .create import create
from .outcomes import created_outcome, error_outcome
from .price import pre_price
from .reconcile import found_outcome, reconcile
from .register import register
from .resolve import resolve
from .run import read_final_states, run_submit

__all__ = [
    "Resolution",
    "create",
    "created_outcome",
    "error_outcome",
    "found_outcome",
    "pre_price",
    "read_final_states",
    "reconcile",
    "register",
    "resolve",
    "run_submit",
]
