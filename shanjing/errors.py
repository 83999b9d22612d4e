"""Every error the Shanjing client raises, as one tree, so a caller sees at once what to catch.

```
ShanjingError(endpoint, request_id, message)              # base
├── TransportError(possibly_received: bool)                 # connect/read/write/timeout/reset
│   └── MalformedResponseError                              # 200 we could not read: possibly processed
├── HTTPStatusError(status_code: int, retryable: bool)
│   └── RateLimitedError(retry_after: float | None)         # 429; never processed
├── BusinessError(code: str, message: str)                  # documented rejection (HTTP 200): nothing done
├── GatewayError(code: str, message: str)                   # any other success=false: possibly processed
├── IncompleteLookupError(reason: str)                      # a lookup whose answer cannot be trusted
└── AuthError                                               # token invalid and refresh did not help
    └── ReauthorizationRequired                             # refresh token expired/invalid: fatal
```

What each one tells the submit stage about a create:

- `TransportError.possibly_received` is True unless the client proved the request never left
  (connection refused/unresolvable/not opened in time, or a failure before the transport was
  called). True means the outcome is *unknown*: reconcile with the order query before resending.
- `RateLimitedError`, `AuthError` and `BusinessError` prove nothing was created. A
  `BusinessError` is raised only for the documented rejections of that endpoint
  (`shanjing.endpoints.REJECTIONS`).
- `HTTPStatusError` (5xx) and `GatewayError` on a create are unknown too: a gateway may fail (or
  answer "system busy", "service timeout", an unknown code) after the upstream committed.
- `IncompleteLookupError` (from `find_by_outer_id` and the other complete-or-raise lookups) means
  the lookup failed: neither "found" nor "absent" may be concluded from it.

Every error carries the endpoint name and the request id (the server's `X-Request-Id`, or the
id the client generated) and never a token: messages are built from redacted text only.
`ReauthorizationRequired` is also a `schemas.errors.UserError`, so the command line prints it as
one line telling the operator what to do.
"""

from __future__ import annotations

from typing import Any

from schemas.errors import UserError

__all__ = [
    "AuthError",
    "BusinessError",
    "GatewayError",
    "HTTPStatusError",
    "IncompleteLookupError",
    "MalformedResponseError",
    "RateLimitedError",
    "ReauthorizationRequired",
    "ShanjingError",
    "TransportError",
]


class ShanjingError(Exception):
    """Base of every client error: which endpoint, which request, what happened."""

    def __init__(self, endpoint: str, request_id: str | None, message: str) -> None:
        super().__init__(endpoint, request_id, message)
        self.endpoint = endpoint
        self.request_id = request_id
        self.message = message

    def _extra(self) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would be lost by the default pickling (Prefect pickles results).
        return (_rebuild, (type(self), self.endpoint, self.request_id, self.message, self._extra()))

    def __str__(self) -> str:
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.endpoint}: {self.message}{rid}"

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self._extra().items())
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, request_id={self.request_id!r}, "
            f"message={self.message!r}{extra})"
        )


def _rebuild(
    cls: type[ShanjingError],
    endpoint: str,
    request_id: str | None,
    message: str,
    extra: dict[str, Any],
) -> ShanjingError:
    return cls(endpoint, request_id, message, **extra)


class TransportError(ShanjingError):
    """The exchange failed below HTTP: no status line was read, or the body could not be read.

    `possibly_received` is False only when the client proved the request never left the
    process; every other transport failure may have reached (and been processed by) the server.
    """

    def __init__(
        self, endpoint: str, request_id: str | None, message: str, *, possibly_received: bool
    ) -> None:
        super().__init__(endpoint, request_id, message)
        self.possibly_received = possibly_received

    def _extra(self) -> dict[str, Any]:
        return {"possibly_received": self.possibly_received}


class MalformedResponseError(TransportError):
    """An HTTP 200 whose body is not the expected JSON: the server may have done the work."""

    def __init__(
        self,
        endpoint: str,
        request_id: str | None,
        message: str,
        *,
        possibly_received: bool = True,
    ) -> None:
        super().__init__(endpoint, request_id, message, possibly_received=possibly_received)


class HTTPStatusError(ShanjingError):
    """A non-200 status other than an auth rejection (401/403 become `AuthError`)."""

    def __init__(
        self,
        endpoint: str,
        request_id: str | None,
        message: str,
        *,
        status_code: int,
        retryable: bool,
    ) -> None:
        super().__init__(endpoint, request_id, message)
        self.status_code = status_code
        self.retryable = retryable

    def _extra(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "retryable": self.retryable}


class RateLimitedError(HTTPStatusError):
    """HTTP 429: the server refused before processing, so resending is always safe."""

    def __init__(
        self,
        endpoint: str,
        request_id: str | None,
        message: str,
        *,
        retry_after: float | None,
    ) -> None:
        super().__init__(endpoint, request_id, message, status_code=429, retryable=True)
        self.retry_after = retry_after

    def _extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class BusinessError(ShanjingError):
    """`success=false` in an HTTP 200 body: the API understood and refused; nothing was done."""

    def __init__(
        self,
        endpoint: str,
        request_id: str | None,
        message: str,
        *,
        code: str,
        fail_items: str | None = None,
    ) -> None:
        super().__init__(endpoint, request_id, message)
        self.code = code
        self.fail_items = fail_items

    def __str__(self) -> str:
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.endpoint}: {self.code}: {self.message}{rid}"

    def _extra(self) -> dict[str, Any]:
        return {"code": self.code, "fail_items": self.fail_items}


class GatewayError(ShanjingError):
    """`success=false` in an HTTP 200 body with a code that is no documented business rejection of
    the endpoint (a gateway timeout, "system busy", an unknown code): the work may have been done.

    Retried like a 5xx where a resend is safe; on create and cancel raised at once, outcome
    unknown.
    """

    def __init__(self, endpoint: str, request_id: str | None, message: str, *, code: str) -> None:
        super().__init__(endpoint, request_id, message)
        self.code = code

    def __str__(self) -> str:
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.endpoint}: {self.code}: {self.message}{rid}"

    def _extra(self) -> dict[str, Any]:
        return {"code": self.code}


class IncompleteLookupError(ShanjingError):
    """A paged lookup whose answer is not complete and filtered, so absence cannot be concluded.

    `reason` is one of `FILTER_IGNORED` (an order without, or with another, value of the filter),
    `NO_TOTAL`, `SHORT_PAGE` (pages ended before the total, or the total moved while paging),
    `PAGE_CAP`.
    """

    def __init__(self, endpoint: str, request_id: str | None, message: str, *, reason: str) -> None:
        super().__init__(endpoint, request_id, message)
        self.reason = reason

    def _extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


class AuthError(ShanjingError):
    """The access token was rejected even after one refresh (or a 401/403 persisted)."""


class ReauthorizationRequired(AuthError, UserError):
    """The refresh token is expired, rotated or unknown: only a person can fix this."""

    def __init__(self, endpoint: str, request_id: str | None, message: str | None = None) -> None:
        super().__init__(endpoint, request_id, message or REAUTHORIZE_HINT)


REAUTHORIZE_HINT = (
    "the Shanjing refresh token is expired or invalid: re-authorize the Shanjing account and set "
    "SHANJING_ACCESS_TOKEN/SHANJING_REFRESH_TOKEN (or update the token file / Prefect Secret block)"
)
