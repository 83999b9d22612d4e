"""Client of the Shanjing Ecommerce Api (Taobao/Tmall and 1688 purchasing). Knows HTTP, not pandas.

See docs/client.md: usage, the error tree, the retry policy and the token refresh rules.
"""

from shanjing.auth import FileTokenStore, StaticTokenStore, TokenManager, TokenStore
from shanjing.client import ClientStats, ShanjingClient
from shanjing.endpoints import API_PREFIX, ENDPOINTS
from shanjing.errors import (
    AuthError,
    BusinessError,
    HTTPStatusError,
    MalformedResponseError,
    RateLimitedError,
    ReauthorizationRequired,
    ShanjingError,
    TransportError,
)
from shanjing.models import (
    Address,
    CreatedLine,
    CreatedOrder,
    CreateOrderRequest,
    CreateResult,
    Money,
    OrderLine,
    OrderQueryPage,
    Product,
    ProductSku,
    PurchaseOrder,
    RenderGroup,
    RenderItem,
    RenderPriceInfo,
    RenderResult,
    SkuProperty,
    SubPurchaseOrder,
    TokenInfo,
    UnavailableSku,
)

__all__ = [
    "API_PREFIX",
    "ENDPOINTS",
    "Address",
    "AuthError",
    "BusinessError",
    "ClientStats",
    "CreateOrderRequest",
    "CreateResult",
    "CreatedLine",
    "CreatedOrder",
    "FileTokenStore",
    "HTTPStatusError",
    "MalformedResponseError",
    "Money",
    "OrderLine",
    "OrderQueryPage",
    "Product",
    "ProductSku",
    "PurchaseOrder",
    "RateLimitedError",
    "ReauthorizationRequired",
    "RenderGroup",
    "RenderItem",
    "RenderPriceInfo",
    "RenderResult",
    "ShanjingClient",
    "ShanjingError",
    "SkuProperty",
    "StaticTokenStore",
    "SubPurchaseOrder",
    "TokenInfo",
    "TokenManager",
    "TokenStore",
    "TransportError",
    "UnavailableSku",
]
