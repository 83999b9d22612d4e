"""Reading an HTTP 200 answer: its `success` flag, its error code, and what a failure means.

One place decides what a `success=false` answer is (`envelope_error`): an auth rejection (the
client refreshes and resends), a documented business rejection of that endpoint
(`BusinessError`: nothing was done), or anything else (`GatewayError`: the work may have been
done). The table of documented rejections is `shanjing.endpoints.REJECTIONS`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shanjing.endpoints import is_rejection
from shanjing.errors import BusinessError, GatewayError, MalformedResponseError
from shanjing.models import parse_bool, snake_key

__all__ = [
    "AUTH_ERROR_CODES",
    "AuthRejected",
    "envelope_error",
    "normalised",
    "parse_model",
    "unwrap",
]

#: Error codes that mean "the access token is invalid or expired".
AUTH_ERROR_CODES = frozenset({"IllegalAccessToken"})

M = TypeVar("M", bound=BaseModel)


class AuthRejected(Exception):
    """Internal: the server refused the access token (IllegalAccessToken, 401 or 403)."""

    def __init__(self, request_id: str, reason: str) -> None:
        super().__init__(reason)
        self.request_id = request_id
        self.reason = reason


def normalised(payload: Any) -> dict[str, Any]:
    """The object's keys in snake_case (the first spelling wins); {} for anything else."""
    if not isinstance(payload, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in payload.items():
        out.setdefault(snake_key(key) if isinstance(key, str) else key, value)
    return out


def envelope_error(
    endpoint: str, rid: str | None, code: str, message: str, fail_items: Any = None
) -> BusinessError | GatewayError:
    """The error for a `success=false` answer: a rejection only if the code is documented."""
    if is_rejection(endpoint, code):
        return BusinessError(
            endpoint,
            rid,
            message,
            code=code,
            fail_items=None if fail_items is None else str(fail_items),
        )
    return GatewayError(endpoint, rid, message or "success=false without a message", code=code)


def failure_of(body: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of a normalised failure object; "UNKNOWN" when no code is given."""
    code = body.get("error_code")
    text = str(code) if code not in (None, "") else "UNKNOWN"
    message = body.get("error_msg") or body.get("error_message") or body.get("message") or ""
    return text, str(message)


def unwrap(endpoint: str, rid: str, payload: Any) -> Any:
    """`data` of a successful envelope; raise AuthRejected, BusinessError or GatewayError."""
    if not isinstance(payload, dict):
        raise MalformedResponseError(endpoint, rid, "the answer is not a JSON object")
    body = normalised(payload)
    code = body.get("error_code")
    if code is None and "code" in body and str(body["code"]) != "0":
        body["error_code"] = code = body["code"]  # upstream gateway envelope
    if "success" in body:
        try:
            success = parse_bool(body["success"])
        except ValueError:
            raise MalformedResponseError(endpoint, rid, "unreadable `success` flag") from None
    else:
        success = code in (None, "", "0")
    if success:
        return body.get("data")
    code_text, message = failure_of(body)
    if code_text in AUTH_ERROR_CODES:
        raise AuthRejected(rid, code_text)
    raise envelope_error(endpoint, rid, code_text, message, body.get("fail_items"))


def parse_model(model: type[M], data: Any, endpoint: str, rid: str) -> M:
    """Validate `data` without letting input values (personal data) into the message."""
    if data is None:
        raise MalformedResponseError(endpoint, rid, "a successful answer without `data`")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise MalformedResponseError(
            endpoint, rid, f"unexpected {model.__name__} shape: {problems}"
        ) from None
