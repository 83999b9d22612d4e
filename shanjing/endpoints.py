"""Every path of the Shanjing API in one place, with its method and whether a resend is safe."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["API_PREFIX", "ENDPOINTS", "METHODS", "REJECTIONS", "RESEND_SAFE", "is_rejection"]

API_PREFIX = "/rest/taobao-global"

ENDPOINTS: Mapping[str, str] = MappingProxyType(
    {
        "refresh": f"{API_PREFIX}/auth/token/refresh",
        "product": f"{API_PREFIX}/product/get",
        "render": f"{API_PREFIX}/purchase/order/render",
        "create": f"{API_PREFIX}/purchase/order/create",
        "cancel": f"{API_PREFIX}/purchase/order/asyn/cancel",
        # Unconfirmed for Shanjing (the page is missing); the upstream path is used.
        "query": f"{API_PREFIX}/purchase/orders/query",
    }
)

METHODS: Mapping[str, str] = MappingProxyType(
    {
        "refresh": "GET",
        "product": "GET",
        "render": "POST",
        "create": "POST",
        "cancel": "POST",
        "query": "GET",
    }
)

#: Endpoints that change nothing remotely (render is a read-only POST), so a 5xx or a transport
#: error may be retried. The refresh rotates tokens, but a lost refresh answer leaves only a dead
#: refresh token, which a resend reports as ReauthorizationRequired: never worse than giving up.
RESEND_SAFE: frozenset[str] = frozenset({"refresh", "product", "render", "query"})

_BAD_PARAMETER = frozenset({"INVALID_PARAMETER", "ORDER_LINE_LIST_MALFORMED", "RECEIVER_MISSING"})
_NOT_BUYABLE = frozenset({"ITEM_NOT_FOUND", "ITEM_NOT_IN_POOL", "SKU_NOT_FOUND", "SKU_UNAVAILABLE"})

#: The documented business rejections of each endpoint: a `success=false` answer with one of these
#: codes means the API understood the request and refused it, nothing done (`BusinessError`).
#: Any other code (gateway timeouts, "system busy", codes nobody documented) proves nothing and
#: raises `GatewayError`. This is an assumption, not a catalogue: Shanjing publishes no error
#: codes (shanjing-api.md, open question 4); the codes are the sandbox's (wire-contract.md), so
#: a real rejection spelt differently is read as "unknown" and reconciled, never as "not created".
REJECTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "product": frozenset({"INVALID_PARAMETER", "ITEM_NOT_FOUND", "ITEM_NOT_IN_POOL"}),
        "render": _BAD_PARAMETER | _NOT_BUYABLE,
        "create": _BAD_PARAMETER | _NOT_BUYABLE,
        "cancel": frozenset({"INVALID_PARAMETER", "PURCHASE_NOT_FOUND", "CANCEL_NOT_ALLOWED"}),
        "query": frozenset({"INVALID_PARAMETER"}),
    }
)


def is_rejection(endpoint: str, code: str) -> bool:
    """Whether `code` is a documented business rejection of `endpoint` (nothing was done)."""
    return code in REJECTIONS.get(endpoint, frozenset())
