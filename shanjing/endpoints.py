"""Every path of the Shanjing API in one place, with its method and whether a resend is safe."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["API_PREFIX", "ENDPOINTS", "METHODS", "RESEND_SAFE"]

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
