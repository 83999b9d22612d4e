"""Large synthetic Lazada exports with the real 77 columns, deterministic by seed.

The ingest benchmark times `plan` on them and the submit benchmark turns them into purchases, so
every seller SKU maps (through the SKU map written alongside) to a generated catalog item that the
sandbox keeps in the distribution pool. Everything is vectorised (numpy + Arrow compute) so that a
million rows take seconds, and files are cached under `benchmarks/.data/`.

    python -m benchmarks.gen_exports 1000000        # -> benchmarks/.data/lazada_1000000_s1.csv
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.ingest import LAZADA_EXPORT_COLUMNS

DATA_DIR = Path(__file__).parent / ".data"
GENERATOR_VERSION = 2

# The sandbox catalog's generated items (fixed with the emulator's engineer).
N_TAOBAO_ITEMS, TAOBAO_ITEM_BASE, TAOBAO_SKU_BASE = 10_000, 800_000_000_000, 9_000_000_000_000
N_1688_ITEMS, ALI_ITEM_BASE, ALI_SKU_BASE = 2_000, 610_000_000_000, 4_900_000_000_000

COUNTRIES = ("MY", "SG", "PH", "TH", "VN", "ID")
COUNTRY_WEIGHTS = (0.25, 0.10, 0.20, 0.20, 0.12, 0.13)
COUNTRY_NAMES = ("Malaysia", "Singapore", "Philippines", "Thailand", "Vietnam", "Indonesia")
# price band per country, in minor units (cents): low, high, and the rounding step
PRICE_BANDS = (
    (1_990, 15_000, 10),
    (800, 8_000, 10),
    (15_000, 150_000, 100),
    (9_900, 100_000, 100),
    (5_000_000, 80_000_000, 100_000),
    (3_000_000, 50_000_000, 100_000),
)
PHONE = (  # (prefix, number of random digits)
    (601, 8), (658, 7), (639, 9), (668, 8), (849, 8), (628, 10),
)  # fmt: skip
POSTCODE_DIGITS = (5, 6, 4, 5, 0, 5)
FIRST = (
    ("Nur", "Ahmad", "Siti", "Mei Ling", "Kumar", "Farah", "Wei Jie", "Aisyah"),
    ("Jun Hao", "Priya", "Xin Yi", "Marcus", "Hui Min", "Daniel", "Sarah", "Ethan"),
    ("Juan", "Maria", "Jose", "Angelica", "Mark", "Kristine", "Paolo", "Jasmine"),
    ("สมชาย", "สุดา", "ประเสริฐ", "วิไล", "Nattapong", "Kanya", "อนุชา", "Ploy"),
    ("Nguyễn Văn", "Trần Thị", "Lê Minh", "Phạm Thu", "Hoàng Anh", "Vũ Đức", "Đặng Lan", "Bùi Hải"),
    ("Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Indah"),
)
LAST = (
    ("Kamal", "Tan", "Lim", "Ibrahim", "Raj", "Wong", "Abdullah", "Lee"),
    ("Tan", "Ng", "Goh", "Koh", "Chua", "Teo", "Lim", "Ong"),
    ("Reyes", "Santos", "Cruz", "Bautista", "Garcia", "Mendoza", "Torres", "Flores"),
    ("ใจดี", "Srisuk", "วงศ์ไทย", "Chaiyaporn", "มั่นคง", "Boonmee", "ทองดี", "Suwan"),
    ("Hùng", "Mai", "Tuấn", "Hà", "Dũng", "Linh", "Phương", "Nam"),
    ("Santoso", "Wijaya", "Saputra", "Lestari", "Pratama", "Kusuma", "Hidayat", "Sari"),
)
STREETS = (  # each template has one {n} then one {m}
    ("No. {n}, Jalan Mawar {m}/2, Taman Sri Melati", "{n}, Jalan SS2/{m}，Petaling Jaya"),
    ("Blk {n} Tampines Street 81, #08-{m}", "{n} Clementi Ave 3, #12-{m}"),
    ("Unit {n}B, {m} Kamuning Road", "{n} Mabini St., Brgy. {m}"),
    ("{n}/{m} ซอยสุขุมวิท 101", "{n} หมู่ {m} ถนนพหลโยธิน"),
    ("Số {n} Ngõ {m} Phố Huế", "{n} Đường Lê Lợi, Phường {m}"),
    ("Jl. Melati No. {n} RT {m}/RW 02", "Jl. Sudirman Kav. {n}, Blok {m}"),
)
REGIONS = (  # (state, city, area) triples; TH is bilingual as in the real export
    (("Selangor", "Shah Alam", "Seksyen 7"), ("Kuala Lumpur", "Kuala Lumpur", "Cheras"),
     ("Johor", "Johor Bahru", "Skudai"), ("Penang", "George Town", "Jelutong")),
    (("", "Singapore", ""), ("", "Singapore", "")),
    (("Metro Manila", "Quezon City", "Pinyahan"), ("Cebu", "Cebu City", "Lahug"),
     ("Davao del Sur", "Davao City", "Poblacion")),
    (("สมุทรปราการ/ Samut Prakan", "เมืองสมุทรปราการ/ Mueang Samut Prakan", "สำโรงเหนือ/ Samrong Nuea"),
     ("กรุงเทพมหานคร/ Bangkok", "จตุจักร/ Chatuchak", "ลาดยาว/ Lat Yao"),
     ("เชียงใหม่/ Chiang Mai", "เมืองเชียงใหม่/ Mueang Chiang Mai", "สุเทพ/ Suthep")),
    (("Hà Nội", "Quận Hoàn Kiếm", "Phường Hàng Bạc"), ("Hồ Chí Minh", "Quận 1", "Phường Bến Nghé")),
    (("DKI Jakarta", "Jakarta Selatan", "Kebayoran Baru"), ("Jawa Barat", "Bandung", "Coblong"),
     ("Jawa Timur", "Surabaya", "Gubeng")),
)  # fmt: skip
ITEMS = (
    ("Canvas Tote Bag Large Capacity Shoulder Bag", "Color Family:Black"),
    ("Silicone Cable Organiser 5pcs", "Color Family:Grey"),
    ("LED Desk Lamp Foldable USB", "Color Family:White"),
    ("เสื้อยืดคอกลม Cotton 100%", "สี:แดง, ขนาด:M"),
    ("Stainless Steel Vacuum Flask 500ml", "Capacity:500ml"),
    ("Wireless Earbuds Bluetooth 5.3 Touch Control", "Color Family:Black"),
    ("Baseball Cap Unisex Adjustable", "Color Family:Navy"),
    ("Phone Case Shockproof Clear", "Compatible Model:iPhone 15"),
)
EPOCH_LOCAL_START = np.datetime64("2026-11-25T00:00", "s")  # shop-local wall clock
WINDOW_SECONDS = 2 * 86_400


def catalog_skus() -> pa.Table:
    """Every in-pool generated catalog SKU as (platform, item, sku, seller SKU), in catalog order."""
    parts = []
    for platform, n_items, item_base, sku_base, per_item, tag in (
        ("taobao", N_TAOBAO_ITEMS, TAOBAO_ITEM_BASE, TAOBAO_SKU_BASE, 4, "GT"),
        ("1688", N_1688_ITEMS, ALI_ITEM_BASE, ALI_SKU_BASE, 3, "GA"),
    ):
        i = np.arange(n_items, dtype=np.int64)
        i = i[i % 50 != 49]  # items the sandbox keeps out of the distribution pool
        n_skus = 1 + i % per_item
        item = np.repeat(i, n_skus)
        j = np.arange(len(item)) - np.repeat(np.cumsum(n_skus) - n_skus, n_skus)
        parts.append(
            pa.table(
                {
                    "source_platform": pc.take(pa.array([platform]), np.zeros(len(item), np.int32)),
                    "source_item_id": pc.cast(pa.array(item_base + item), pa.string()),
                    "source_sku_id": pc.cast(pa.array(sku_base + item * 10 + j), pa.string()),
                    "seller_sku": _join(
                        [tag + "-", pc.cast(pa.array(item), pa.string()), "-", _s(j)]
                    ),
                }
            )
        )
    return pa.concat_tables(parts)


def _s(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _join(parts: list) -> pa.Array:
    """Element-wise concatenation of string arrays and scalars (Arrow, no Python loop)."""
    return pc.binary_join_element_wise(*parts, "")


def _pick(rng: np.random.Generator, options: tuple[str, ...], idx_or_n) -> pa.Array:
    idx = (
        rng.integers(0, len(options), idx_or_n) if isinstance(idx_or_n, int) else idx_or_n
    ).astype(np.int32)
    return pc.take(pa.array(list(options)), pa.array(idx))


def _const(value: str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, pa.string())
    return pc.take(pa.array([value]), pa.array(np.zeros(n, np.int32)))


def _money(cents: np.ndarray) -> pa.Array:
    """Integer cents -> "42.90" / "-3.00" text, exact (never through float)."""
    cents = np.asarray(cents, np.int64)
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    mag = np.abs(cents)
    return _join([sign, _s(mag // 100), ".", pc.utf8_lpad(_s(mag % 100), 2, "0")])


def _stamp(seconds: np.ndarray) -> pa.Array:
    ts = pa.array((EPOCH_LOCAL_START + seconds.astype("timedelta64[s]")).astype("datetime64[s]"))
    return pc.strftime(ts, format="%d %b %Y %H:%M")


def _per_country(country: np.ndarray, tables: tuple, rng: np.random.Generator) -> pa.Array:
    """Pick, for each row, a random entry of its own country's option list."""
    widths = np.array([len(t) for t in tables])
    flat = [v for t in tables for v in t]
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    idx = starts[country] + (rng.random(len(country)) * widths[country]).astype(np.int64)
    return pc.take(pa.array(flat), pa.array(idx.astype(np.int32)))


def build_tables(
    n_rows: int, *, seed: int = 1, n_orders: int | None = None, purchasable_share: float = 0.7
) -> tuple[pa.Table, pa.Table]:
    """The export (77 text columns) and its SKU map, both as Arrow tables."""
    rng = np.random.default_rng(seed)
    n_orders = n_orders or max(1, round(n_rows / 1.35))
    if not 0 < n_orders <= n_rows:
        raise ValueError("need 0 < n_orders <= n_rows (one row per unit)")
    catalog = catalog_skus()
    n_skus = catalog.num_rows

    # --- orders -------------------------------------------------------------------------------
    country = rng.choice(len(COUNTRIES), n_orders, p=COUNTRY_WEIGHTS)
    units = np.ones(n_orders, np.int64)
    extra = n_rows - n_orders
    if extra:  # ~20% of orders carry the extra units, with a long tail
        multi = rng.choice(n_orders, max(1, min(n_orders, n_orders // 5)), replace=False)
        units += np.bincount(multi[rng.integers(0, len(multi), extra)], minlength=n_orders).astype(
            np.int64
        )
    order_number = 300_000_000_000_000 + seed * 10_000_000_000 + np.arange(n_orders) * 7
    created = np.sort(rng.integers(0, WINDOW_SECONDS, n_orders))
    live = rng.random(n_orders) < purchasable_share
    order_status = np.where(
        live,
        rng.choice([0, 1], n_orders, p=[0.7, 0.3]),  # pending / ready_to_ship
        rng.choice([2, 3, 4], n_orders, p=[0.45, 0.4, 0.15]),  # shipped / delivered / canceled
    )
    sku_a = rng.integers(0, n_skus, n_orders)
    sku_b = rng.integers(0, n_skus, n_orders)
    first = _per_country(country, FIRST, rng)
    last = _per_country(country, LAST, rng)
    name = _join([first, " ", last])
    street = _fill_street(country, rng)
    region_idx = _region_index(country, rng)
    region_flat = [r for rs in REGIONS for r in rs]
    state = pc.take(pa.array([r[0] for r in region_flat]), region_idx)
    city = pc.take(pa.array([r[1] for r in region_flat]), region_idx)
    area = pc.take(pa.array([r[2] for r in region_flat]), region_idx)
    prefix = np.array([p for p, _ in PHONE], np.int64)[country]
    width = np.array([w for _, w in PHONE], np.int64)[country]
    phone = _s(prefix * 10**width + rng.integers(0, 10**10, n_orders) % 10**width)
    post = _postcodes(np.array(POSTCODE_DIGITS)[country], rng)

    # --- rows (one per unit) --------------------------------------------------------------------
    o = np.repeat(np.arange(n_orders), units)
    first_unit = np.r_[True, o[1:] != o[:-1]]
    sku = np.where(rng.random(n_rows) < 0.65, sku_a[o], sku_b[o])
    status = order_status[o].copy()
    # partial cancellations: never an order's first unit, so every live order stays a purchase
    status[(status <= 1) & ~first_unit & (rng.random(n_rows) < 0.15)] = 4
    cc = country[o]
    band = np.array(PRICE_BANDS)[cc]
    sku_price = (band[:, 0] + (np.arange(n_skus)[sku] * 7919) % (band[:, 1] - band[:, 0])) // band[
        :, 2
    ]
    unit_c = sku_price * band[:, 2]
    disc_c = -((unit_c * rng.choice([0, 0, 5, 10], n_rows)) // 100 // band[:, 2]) * band[:, 2]
    plat_c = np.where(rng.random(n_rows) < 0.2, -band[:, 2] * 5, 0)
    paid_c = unit_c + disc_c
    ship_c = np.where(first_unit, band[:, 2] * 49, 0)
    created_r = created[o]
    oi = pa.array(o.astype(np.int32))
    country_code = pc.take(pa.array(list(COUNTRIES)), pa.array(cc.astype(np.int32)))
    sku_tbl = catalog.take(pa.array(sku))
    lazada_id = _s(3_000_000_000 + sku * 13)
    platform_sku = _s(15_000_000_000 + sku * 17)
    item = pc.take(pa.array([i for i, _ in ITEMS]), pa.array((sku % len(ITEMS)).astype(np.int32)))
    variation = pc.take(
        pa.array([v for _, v in ITEMS]), pa.array((sku % len(ITEMS)).astype(np.int32))
    )
    statuses = ("pending", "ready_to_ship", "shipped", "delivered", "canceled")
    status_txt = pc.take(pa.array(list(statuses)), pa.array(status.astype(np.int32)))
    shipped = pa.array(status >= 2) if n_rows else pa.array([], pa.bool_())
    tracking = pc.if_else(
        shipped,
        _join(["LEX", country_code, _s(100_000_000 + o)]),
        pa.scalar(None, pa.string()),
    )
    ship_name = pc.take(name, oi)
    addr1, addr3, addr4, addr5 = (pc.take(c, oi) for c in (street, state, city, area))
    phone_r, post_r = pc.take(phone, oi), pc.take(post, oi)
    country_name = pc.take(pa.array(list(COUNTRY_NAMES)), pa.array(cc.astype(np.int32)))
    cancel = pa.array(status == 4)
    masked = _join(
        [pc.utf8_slice_codeunits(ship_name, 0, 1), "***", pc.utf8_slice_codeunits(ship_name, -1)]
    )
    blank = _const(None, n_rows)
    cols = {
        "orderItemId": _s(400_000_000_000_000 + seed * 10_000_000_000 + np.arange(n_rows) * 3),
        "orderType": _const("Normal", n_rows),
        "Guarantee": blank,
        "deliveryType": _const("dropship", n_rows),
        "lazadaId": lazada_id,
        "sellerSku": sku_tbl["seller_sku"],
        "lazadaSku": _join([lazada_id, "_", country_code, "-", platform_sku]),
        "wareHouse": _const("dropshipping", n_rows),
        "createTime": _stamp(created_r),
        "updateTime": _stamp(created_r + rng.integers(60, 20_000, n_rows)),
        "rtsSla": _stamp(created_r + 2 * 86_400),
        "ttsSla": _stamp(created_r + 5 * 86_400),
        "orderNumber": _s(order_number[o]),
        "invoiceRequired": _const("No", n_rows),
        "invoiceNumber": blank,
        "deliveredDate": pc.if_else(
            pa.array(status == 3), _stamp(created_r + 3 * 86_400), pa.scalar(None, pa.string())
        ),
        "customerName": masked,
        "customerEmail": blank,
        "nationalRegistrationNumber": blank,
        "shippingName": ship_name,
        "shippingAddress": addr1,
        "shippingAddress2": blank,
        "shippingAddress3": addr3,
        "shippingAddress4": addr4,
        "shippingAddress5": addr5,
        "shippingPhone": phone_r,
        "shippingPhone2": blank,
        "shippingCity": addr4,
        "shippingPostCode": post_r,
        "shippingCountry": country_name,
        "shippingRegion": blank,
        "billingName": ship_name,
        "billingAddr": addr1,
        "billingAddr2": blank,
        "billingAddr3": addr3,
        "billingAddr4": addr4,
        "billingAddr5": addr5,
        "billingPhone": phone_r,
        "billingPhone2": blank,
        "billingCity": addr4,
        "billingPostCode": post_r,
        "billingCountry": country_name,
        "taxCode": blank,
        "branchNumber": blank,
        "taxInvoiceRequested": blank,
        "payMethod": _pick(rng, ("COD", "COD", "MIXEDCARD", "Lazada Wallet"), n_rows),
        "paidPrice": _money(paid_c),
        "unitPrice": _money(unit_c),
        "sellerDiscountTotal": _money(disc_c),
        "platformDiscountTotal": _money(plat_c),
        "shippingFee": _money(ship_c),
        "walletCredit": _money(np.zeros(n_rows, np.int64)),
        "itemName": item,
        "variation": variation,
        "cdShippingProvider": blank,
        "shippingProvider": _join(["LEX ", country_code]),
        "shipmentTypeName": blank,
        "shippingProviderType": _const("standard", n_rows),
        "cdTrackingCode": blank,
        "trackingCode": tracking,
        "trackingUrl": pc.if_else(
            shipped,
            _join(["https://tracker.lel.asia/tracker?trackingNumber=", tracking]),
            pa.scalar(None, pa.string()),
        ),
        "shippingProviderFM": blank,
        "trackingCodeFM": blank,
        "trackingUrlFM": blank,
        "promisedShippingTime": _stamp(created_r + 2 * 86_400),
        "premium": blank,
        "status": status_txt,
        "buyerFailedDeliveryReturnInitiator": pc.if_else(
            cancel, _const("cancellation-customer", n_rows), pa.scalar(None, pa.string())
        ),
        "buyerFailedDeliveryReason": pc.if_else(
            cancel, _const("Change of mind", n_rows), pa.scalar(None, pa.string())
        ),
        "buyerFailedDeliveryDetail": blank,
        "buyerFailedDeliveryUserName": blank,
        "bundleId": blank,
        "semiManaged": blank,
        "flexibleDeliveryTime": blank,
        "bundleDiscount": blank,
        "refundAmount": blank,
        "sellerNote": blank,
    }
    assert tuple(cols) == LAZADA_EXPORT_COLUMNS
    export = pa.table(cols)

    n_map = n_skus * len(COUNTRIES)
    c_idx = np.repeat(np.arange(len(COUNTRIES)), n_skus).astype(np.int32)
    s_idx = np.tile(np.arange(n_skus), len(COUNTRIES))
    cat = catalog.take(pa.array(s_idx))
    sku_map = pa.table(
        {
            "marketplace": _const("lazada", n_map),
            "country": pc.take(pa.array(list(COUNTRIES)), pa.array(c_idx)),
            "seller_sku": cat["seller_sku"],
            "platform_item_id": _s(3_000_000_000 + s_idx * 13),
            "platform_sku_id": _s(15_000_000_000 + s_idx * 17),
            "source_platform": cat["source_platform"],
            "source_item_id": cat["source_item_id"],
            "source_sku_id": cat["source_sku_id"],
            "source_spec_id": _const(None, n_map),
            "source_sku_props": _const(None, n_map),
            "qty_multiplier": _s(np.where(s_idx % 10 == 9, 2, 1)),
            "supplier_shop": _join(["Generated shop ", cat["source_item_id"]]),
            "status": _const("approved", n_map),
            "source_url": _const(None, n_map),
        }
    )
    return export, sku_map


def _fill_street(country: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """A street line per order from its country's templates: prefix, number, middle, number, rest."""
    parts = [
        tpl.replace("{n}", "\x00").replace("{m}", "\x00").split("\x00")
        for t in STREETS
        for tpl in t
    ]
    widths = np.array([len(t) for t in STREETS])
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    idx = starts[country] + (rng.random(len(country)) * widths[country]).astype(np.int64)
    idx = pa.array(idx.astype(np.int32))
    n1 = _s(rng.integers(1, 300, len(country)))
    n2 = _s(rng.integers(1, 40, len(country)))
    pieces = [pc.take(pa.array([p[k] for p in parts]), idx) for k in range(3)]
    return _join([pieces[0], n1, pieces[1], n2, pieces[2]])


def _postcodes(digits: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Zero-padded postcodes of each country's width (leading zeros happen: MY 01000); none in VN."""
    value = rng.integers(0, 10**6, len(digits))
    result = pa.nulls(len(digits), pa.string())
    for d in np.unique(digits):
        if d == 0:
            continue
        text = pc.utf8_lpad(_s(value % 10**d), int(d), "0")
        result = pc.if_else(pa.array(digits == d), text, result)
    return result


def _region_index(country: np.ndarray, rng: np.random.Generator) -> pa.Array:
    widths = np.array([len(r) for r in REGIONS])
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    idx = starts[country] + (rng.random(len(country)) * widths[country]).astype(np.int64)
    return pa.array(idx.astype(np.int32))


def generate(
    n_rows: int,
    path: Path,
    *,
    seed: int = 1,
    n_orders: int | None = None,
    purchasable_share: float = 0.7,
) -> tuple[Path, Path]:
    """Write (or reuse) `path` (the export CSV) and its SKU map next to it; return both paths.

    `purchasable_share` is the share of orders whose units are `pending`/`ready_to_ship` (some
    later units of multi-unit orders are cancelled, never the first); the rest are shipped,
    delivered or cancelled whole. So `plan` finds one purchase per live order: with
    `purchasable_share=1.0`, exactly `n_orders` purchases. A file is
    regenerated only when its parameters (kept in a `.meta.json` beside it) differ.
    """
    path = Path(path)
    map_path = path.with_name(path.stem + ".sku_map.csv")
    meta_path = path.with_name(path.stem + ".meta.json")
    meta = {
        "version": GENERATOR_VERSION,
        "n_rows": n_rows,
        "seed": seed,
        "n_orders": n_orders,
        "purchasable_share": purchasable_share,
    }
    fresh = path.exists() and map_path.exists() and meta_path.exists()
    if fresh and json.loads(meta_path.read_text()) == meta:
        return path, map_path
    path.parent.mkdir(parents=True, exist_ok=True)
    export, sku_map = build_tables(
        n_rows, seed=seed, n_orders=n_orders, purchasable_share=purchasable_share
    )
    for table, target in ((export, path), (sku_map, map_path)):
        tmp = target.with_name(target.name + ".tmp")
        write_csv(table, tmp)
        tmp.replace(target)
    meta_path.write_text(json.dumps(meta))
    return path, map_path


def write_csv(table: pa.Table, path: Path) -> None:
    """CSV as spreadsheet tools write it: quotes only around values that need them.

    (pyarrow's writer quotes every string.) Rows are joined into one string each, vectorised,
    and the joined array's data buffer is exactly the bytes of the file body.
    """
    nulls = pc.JoinOptions(null_handling="replace", null_replacement="")
    with open(path, "wb") as out:
        out.write((",".join(_quote_one(n) for n in table.column_names) + "\n").encode())
        step = 200_000
        for start in range(0, table.num_rows, step):
            part = table.slice(start, step)
            fields = [_csv_quote(part[name].combine_chunks()) for name in part.column_names]
            rows = pc.binary_join_element_wise(*fields, ",", options=nulls)
            rows = pc.binary_join_element_wise(rows, "", "\n")
            out.write(_body(rows))


def _quote_one(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value


def _csv_quote(values: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(values, '[",\n\r]')
    quoted = _join(['"', pc.replace_substring(values, '"', '""'), '"'])
    return pc.if_else(needs, quoted, values)


def _body(rows: pa.Array) -> memoryview:
    """The concatenated bytes of a string array: its data buffer between first and last offset."""
    offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


def default_path(n_rows: int, seed: int = 1) -> Path:
    return DATA_DIR / f"lazada_{n_rows}_s{seed}.csv"


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(*generate(rows, default_path(rows)), sep="\n")
