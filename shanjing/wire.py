"""The wire's types: key normalisation, exact ids, money in fen, and the base models.

The real response spelling is not confirmed (Shanjing examples are camelCase, the upstream is
snake_case), so every response model normalises keys to snake_case before validation, in every
nested object, and keeps unknown fields (`extra="allow"`). Ids are `str` everywhere: JSON
integers are turned into their exact digits, and a float id is refused, because ids exceed 2^53.
Money is integer fen; times are epoch milliseconds.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

__all__ = [
    "Count",
    "DigitId",
    "EpochMs",
    "Fen",
    "Id",
    "IntCode",
    "OptText",
    "RequestModel",
    "Text",
    "WireModel",
    "parse_bool",
    "snake_key",
]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")
_DIGITS = re.compile(r"\d+")


@functools.lru_cache(maxsize=4096)
def snake_key(key: str) -> str:
    """`mpSkuId`, `mp_skuId`, `mp_sku_id` → `mp_sku_id`; `user_Id` → `user_id`.

    Cached: responses repeat a few dozen key names, and this runs for every key of every object.
    """
    return re.sub(r"_+", "_", _CAMEL_BOUNDARY.sub(r"_\1", key)).lower()


def parse_bool(value: Any) -> bool:
    """`success` arrives as a boolean or, from some upstream paths, as the string "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"not a boolean: {type(value).__name__}")


def _to_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an id must be a string or an integer, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        raise ValueError("an id must never pass through float/decimal (ids exceed 2^53)")
    return value


def _digits_only(value: str) -> str:
    if not _DIGITS.fullmatch(value):
        raise ValueError("must be the decimal digits of an integer id")
    return value


def _to_fen(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an amount must be an integer number of fen, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, float):
        raise ValueError("an amount must be an integer number of fen, never a float")
    return value


def _to_count(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return value


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, float):
        raise ValueError("must be an integer, never a float")
    return value


def _to_epoch_ms(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a time must be integer epoch milliseconds, not a boolean")
    return _to_int(value)


def _to_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _to_opt_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_to_id)]
"""An identifier as its exact decimal text (JSON integers are converted, floats refused)."""
DigitId = Annotated[str, BeforeValidator(_to_id), AfterValidator(_digits_only)]
"""An id that is sent as a bare JSON integer, so it must be all digits."""
Fen = Annotated[int, BeforeValidator(_to_fen)]
"""Money in integer fen (or cents): never float."""
Count = Annotated[int, BeforeValidator(_to_count)]
IntCode = Annotated[int, BeforeValidator(_to_int)]
"""An integer code that may arrive as a string (e.g. `refund_status`, "-10")."""
EpochMs = Annotated[int, BeforeValidator(_to_epoch_ms)]
"""A time as integer epoch milliseconds (a digit string is accepted, a float refused)."""
Text = Annotated[str, BeforeValidator(_to_text)]
OptText = Annotated[str | None, BeforeValidator(_to_opt_text)]


class WireModel(BaseModel):
    """A response object: keys normalised to snake_case, unknown keys kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    #: Normalised wire key → field name, where the domain name differs from the wire name.
    wire_renames: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = snake_key(key) if isinstance(key, str) else key
            name = cls.wire_renames.get(name, name)
            out.setdefault(name, value)
        return cls._reshape(out)

    @classmethod
    def _reshape(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Hook for models whose fields are not one-to-one with wire keys."""
        return data


class RequestModel(BaseModel):
    """A request built in Python: typos in field names fail instead of vanishing."""

    model_config = ConfigDict(extra="forbid", frozen=True)
