"""Random marketplace orders as a table of order lines (one row per order x SKU), vectorised.

`random_lines` draws orders (country, buyer, time, stage) and their lines (distinct SKUs of the
order's country, a quantity, prices) with numpy and Arrow only, so a million lines take
seconds; the same seed gives the same table. `synthetic.render` turns the table into any
marketplace's export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.world import (
    COUNTRIES,
    FIRST,
    LAST,
    PHONE,
    POSTCODE_DIGITS,
    PRICE_STEP,
    REGIONS,
    STREETS,
)

# The life of an order, as every marketplace knows it (synthetic.render names them per export).
STAGES = ("unpaid", "to_ship", "packed", "shipped", "delivered", "cancelled")
TO_SHIP, PACKED, SHIPPED, DELIVERED, CANCELLED = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Catalog:
    """What the shops sell: one row per seller SKU, its price in each country (0: not sold)."""

    skus: pa.Table  # seller_sku, item_name, variation, platform_item_id, platform_sku_id
    prices: np.ndarray  # int64 cents, shape (SKUs, len(COUNTRIES))


def text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and scalars."""
    return pc.binary_join_element_wise(*parts, "")


def pick(options: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(options)), pa.array(np.asarray(idx, np.int64)))


def random_lines(
    n_lines: int,
    *,
    marketplace: str,
    catalog: Catalog,
    seed: int = 1,
    start: str = "2026-11-25T00:00",
    span_s: int = 2 * 86_400,
    countries: tuple[str, ...] = COUNTRIES,
    weights: tuple[float, ...] | None = None,
    live_share: float = 0.7,
    multi_unit_share: float = 0.2,
    partial_cancel_share: float = 0.0,
) -> pa.Table:
    """`n_lines` order lines of about n_lines / 1.35 orders, sorted by order creation time.

    A `live_share` of orders waits to ship (to_ship, or packed); the rest are shipped,
    delivered or cancelled. `partial_cancel_share` of an order's later lines are cancelled on
    their own (Lazada's statuses are per item; the first line never is, so every live order
    stays a purchase).
    """
    rng = np.random.default_rng(seed)
    n_orders = max(1, min(n_lines, round(n_lines / 1.35)))
    code = np.array([COUNTRIES.index(c) for c in countries])
    country = code[rng.choice(len(code), n_orders, p=weights)]

    # lines per order: ~20% of orders take the extra lines, up to the SKUs the country sells
    per_order = np.ones(n_orders, np.int64)
    extra = n_lines - n_orders
    if extra:
        multi = rng.choice(n_orders, max(1, n_orders // 5), replace=False)
        per_order += np.bincount(multi[rng.integers(0, len(multi), extra)], minlength=n_orders)
    sold = [np.flatnonzero(catalog.prices[:, c] > 0) for c in range(len(COUNTRIES))]
    width = np.array([len(s) for s in sold])
    per_order = np.minimum(per_order, width[country])
    order = np.repeat(np.arange(n_orders), per_order)
    line_seq = np.arange(len(order)) - np.repeat(np.cumsum(per_order) - per_order, per_order)

    # distinct SKUs within an order: consecutive entries of its country's list from a random start
    flat = np.concatenate(sold)
    begin = np.concatenate([[0], np.cumsum(width)[:-1]])
    first = (rng.random(n_orders) * width[country]).astype(np.int64)
    c = country[order]
    sku = flat[begin[c] + (first[order] + line_seq) % width[c]]

    created = np.sort(rng.integers(0, span_s, n_orders))
    live = rng.random(n_orders) < live_share
    stage = np.where(
        live,
        rng.choice([TO_SHIP, PACKED], n_orders, p=[0.7, 0.3]),
        rng.choice([SHIPPED, DELIVERED, CANCELLED], n_orders, p=[0.45, 0.4, 0.15]),
    )
    line_stage = stage[order]
    if partial_cancel_share:
        later = (line_stage <= PACKED) & (line_seq > 0)
        line_stage[later & (rng.random(len(order)) < partial_cancel_share)] = CANCELLED
    quantity = np.where(
        rng.random(len(order)) < multi_unit_share, rng.integers(2, 5, len(order)), 1
    )

    step = np.array(PRICE_STEP)[c]
    unit = catalog.prices[sku, c]
    discount = (unit * rng.choice([0, 0, 5, 10], len(order)) // 100 // step) * step
    platform = np.where(rng.random(len(order)) < 0.2, step * 5, 0)
    base = np.datetime64(start, "s")
    when = base + created[order].astype("timedelta64[s]")
    people = _people(country, rng)
    skus = catalog.skus.take(pa.array(sku))
    columns = {
        "country": pick(COUNTRIES, c),
        "order_number": pc.take(order_numbers(marketplace, seed, base, created), pa.array(order)),
        "line_seq": pa.array(line_seq),
        **{name: skus[name] for name in skus.column_names},
        "quantity": pa.array(quantity.astype(np.int64)),
        "unit_cents": pa.array(unit.astype(np.int64)),
        "discount_cents": pa.array(discount.astype(np.int64)),
        "platform_discount_cents": pa.array(np.minimum(platform, unit - discount).astype(np.int64)),
        "stage": pick(STAGES, line_stage),
        "created": pa.array(when),
        "updated": pa.array(when + rng.integers(60, 20_000, len(order)).astype("timedelta64[s]")),
        **{k: pc.take(v, pa.array(order)) for k, v in people.items()},
    }
    return pa.table(columns)


def order_numbers(
    marketplace: str, seed: int, base: np.datetime64, created: np.ndarray
) -> pa.Array:
    """Order numbers in each marketplace's form: Lazada 15 digits, Shopee YYMMDD + 8 letters or
    digits, TikTok 18 digits."""
    seq = np.arange(len(created), dtype=np.int64)
    seed = seed % 1000
    if marketplace == "lazada":
        return text(300_000_000_000_000 + seed * 10_000_000_000 + seq * 7)
    if marketplace == "tiktok":
        return text(578_000_000_000_000_000 + seed * 1_000_000_000_000 + seq * 13)
    day = pc.strftime(pa.array(base + created.astype("timedelta64[s]")), format="%y%m%d")
    value = (seed * 1_000_003 + seq * 7_919) % 36**8
    digits = [(value // 36**k) % 36 for k in range(7, -1, -1)]
    alphabet = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return join(day, *(pick(alphabet, d) for d in digits))


def _per_country(country: np.ndarray, options: tuple, rng: np.random.Generator) -> np.ndarray:
    """For each order, a random index into its country's entry of `options` (a flat index)."""
    width = np.array([len(o) for o in options])
    begin = np.concatenate([[0], np.cumsum(width)[:-1]])
    return begin[country] + (rng.random(len(country)) * width[country]).astype(np.int64)


def _people(country: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """One buyer per order: name, phone, street, region, postcode (all text)."""
    flat = lambda options: [v for per in options for v in per]  # noqa: E731
    name = join(
        pick(flat(FIRST), _per_country(country, FIRST, rng)),
        " ",
        pick(flat(LAST), _per_country(country, LAST, rng)),
    )
    templates = [
        t.replace("{n}", "\x00").replace("{m}", "\x00").split("\x00") for t in flat(STREETS)
    ]
    at = _per_country(country, STREETS, rng)
    n = len(country)
    street = join(
        pick([t[0] for t in templates], at), text(rng.integers(1, 300, n)),
        pick([t[1] for t in templates], at), text(rng.integers(1, 40, n)),
        pick([t[2] for t in templates], at),
    )  # fmt: skip
    region = _per_country(country, REGIONS, rng)
    prefix, width = (np.array([p[i] for p in PHONE], np.int64)[country] for i in (0, 1))
    phone = text(prefix * 10**width + rng.integers(0, 10**10, n) % 10**width)
    digits = np.array(POSTCODE_DIGITS)[country]
    value = rng.integers(0, 10**6, n)
    postcode = pa.nulls(n, pa.string())
    for d in sorted(set(digits.tolist()) - {0}):
        padded = pc.utf8_lpad(text(value % 10**d), d, "0")
        postcode = pc.if_else(pa.array(digits == d), padded, postcode)
    return {
        "name": name,
        "phone": phone,
        "street": street,
        **{part: pick([r[i] for r in flat(REGIONS)], region)
           for i, part in enumerate(("state", "city", "district"))},
        "postcode": postcode,
    }  # fmt: skip
