"""Wire helpers shared by the handlers: the business-failure exception, key restyling, and the
parameter checks every endpoint applies the same way (docs/wire-contract.md, "Details fixed")."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

_ID_RE = re.compile(r"[0-9]{1,20}")
_SNAKE_RE = re.compile(r"(?<!^)(?=[A-Z])")


class Rejection(Exception):
    """A business failure: answered as HTTP 200 `success=false` with this code, nothing done."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg


def failure(code: str, msg: str) -> dict[str, Any]:
    """The `success=false` envelope (business rejections, auth failures, gateway errors)."""
    return {"success": False, "errorCode": code, "errorMsg": msg, "data": None}


_snake_cache: dict[str, str] = {}


def _snake(key: str) -> str:
    out = _snake_cache.get(key)
    if out is None:
        out = _snake_cache[key] = _SNAKE_RE.sub("_", key).lower()
    return out


def restyle(value: Any, snake: bool, success_str: bool) -> Any:
    """camelCase -> snake_case keys and/or `success` as a string, in every nested object."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if success_str and k == "success" and isinstance(v, bool):
                v = "true" if v else "false"
            out[_snake(k) if snake else k] = restyle(v, snake, success_str)
        return out
    if isinstance(value, list):
        return [restyle(v, snake, success_str) for v in value]
    return value


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def parse_id(value: Any, name: str) -> int:
    """An id given as a JSON integer or a digit string; floats are refused (they lose digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return int(value)
    raise Rejection("INVALID_PARAMETER", f"{name} must be an integer id or a digit string")


def parse_qty(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        qty = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        qty = int(value)
    else:
        raise Rejection("INVALID_PARAMETER", f"{name} must be a positive integer")
    if qty <= 0:
        raise Rejection("INVALID_PARAMETER", f"{name} must be a positive integer")
    return qty


def parse_line_list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`order_line_list` / `render_item_List`: a string holding a JSON array of objects."""
    if key not in body:
        raise Rejection("INVALID_PARAMETER", f"{key} is required")
    raw = body[key]
    if not isinstance(raw, str):
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} must be a string holding a JSON array")
    try:
        lines = json.loads(raw)
    except ValueError:
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} is not valid JSON") from None
    if not isinstance(lines, list) or not lines or not all(isinstance(x, dict) for x in lines):
        raise Rejection("ORDER_LINE_LIST_MALFORMED", f"{key} must be a non-empty array of objects")
    return lines


def int_param(q: Any, name: str, default: int | None, lo: int, hi: int | None) -> Any:
    """An integer query parameter within [lo, hi], or `default` when absent."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < lo or (hi is not None and int(raw) > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise Rejection("INVALID_PARAMETER", f"{name} must be an integer {bound}")
    return int(raw)


def check_address(value: Any, name: str, strict: bool) -> dict[str, str]:
    """`country` is always required; create also needs `name` and `address`."""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("country"), str)
        or not value["country"]
    ):
        raise Rejection("RECEIVER_MISSING", f"{name} must be an object with a country")
    if strict:
        for key in ("name", "address"):
            if not isinstance(value.get(key), str) or not value[key].strip():
                raise Rejection("INVALID_PARAMETER", f"{name}.{key} is required")
    keys = ("country", "state", "city", "district", "address", "zip")
    return {k: str(value.get(k) or "") for k in keys}


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or INVALID_PARAMETER."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise Rejection("INVALID_PARAMETER", "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Rejection("INVALID_PARAMETER", "body must be a JSON object")
    return body


async def optional_json(request: web.Request) -> dict[str, Any]:
    """A control endpoint's optional JSON object body ({} when absent or unreadable)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
