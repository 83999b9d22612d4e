"""data/samples/: one small, profitable shop selling on Lazada, Shopee and TikTok Shop.

    .venv/bin/python -m synthetic samples

Prices are set from the sandbox catalog's supplier prices and the placeholder FX rates, so that
on the first `make run` most purchases are created; each failure path appears a few times: a
SKU the map has pending, a SKU missing from the map, an item out of the distribution pool, a
SKU without `mpSkuId`, one out of stock, a loss-making price (the margin hold), and a few rows
broken the way real exports break (data/samples/README.md lists them). Deterministic.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from purchase_sync.submit.settings import DEFAULT_FX_TO_CNY
from sandbox.catalog import CBU, TB, get_catalog
from synthetic import files, render
from synthetic.catalogs import sku_map
from synthetic.orders import Catalog, random_lines
from synthetic.world import COUNTRIES, PRICE_STEP

OUT = Path(__file__).resolve().parents[1] / "data" / "samples"
DAY = "2026-11-26"
CURRENCY = ("MYR", "SGD", "PHP", "THB", "VND", "IDR")

# seller SKU -> item, variation, supplier target (platform, item, sku, spec, props, multiplier)
ITEMS = {
    "BAG-TOTE-BLK": ("Canvas Tote Bag Large Capacity Shoulder Bag", "Color Family:Black",
                     ("taobao", "718293045561", "5219384756012", "", "颜色分类:黑色", 1)),
    "BAG-TOTE-GRY": ("Canvas Tote Bag Large Capacity Shoulder Bag", "Color Family:Grey",
                     ("taobao", "718293045561", "5219384756013", "", "颜色分类:灰色", 1)),
    "TS-RED-M": ("Cotton Crew Neck T-Shirt 100% Cotton", "Color Family:Red, Size:M",
                 ("1688", "554456348334", "4951323355633", "b266e0726506185beaf205cbae88530d",
                  "颜色:红色;尺码:M", 1)),
    "TS-RED-L": ("Cotton Crew Neck T-Shirt 100% Cotton", "Color Family:Red, Size:L",
                 ("1688", "554456348334", "4951323355634", "c266e0726506185beaf205cbae88530e",
                  "颜色:红色;尺码:L", 1)),
    "CAP-BSB-2PK": ("Baseball Cap Unisex Adjustable (2 pcs)", "Color Family:Black",
                    ("1688", "612345678901", "4951323355700", "2ba3d63866a71fbae83909d9b4814f01",
                     "颜色:黑色", 2)),
    "LAMP-DESK-WHT": ("LED Desk Lamp Foldable USB", "Color Family:White",
                      ("taobao", "800000000005", "9000000000050", "", "颜色分类:白色", 1)),
    "FLASK-500-SLV": ("Stainless Steel Vacuum Flask 500ml", "Capacity:500ml",
                      ("taobao", "800000000010", "9000000000101", "", "容量:500ml", 1)),
    "EARBUD-BT53-BLK": ("Wireless Earbuds Bluetooth 5.3 Touch Control", "Color Family:Black",
                        ("1688", "610000000007", "4900000000070", "", "颜色:黑色", 1)),
    "CABLE-ORG-5P": ("Silicone Cable Organiser 5pcs", "Color Family:Grey",
                     ("taobao", "800000000002", "9000000000021", "", "颜色分类:灰色", 1)),
    # the failure paths, each sold in one country
    "PHONECASE-IP15": ("Phone Case Shockproof Clear", "Compatible Model:iPhone 15",
                       ("taobao", "800000000003", "9000000000030", "", "型号:iPhone 15", 1)),
    "MUG-CER-WHT": ("Ceramic Mug 350ml", "Color Family:White",
                    ("taobao", "700000000001", "7000000000011", "", "颜色分类:白色", 1)),
    "UMBRELLA-FOLD-NVY": ("Folding Umbrella Windproof", "Color Family:Navy",
                          ("taobao", "700000000002", "7000000000021", "", "颜色分类:藏青", 1)),
    "SOCKS-5PR-MIX": ("Ankle Socks 5 Pairs", "Color Family:Multicolor",
                      ("taobao", "700000000003", "7000000000031", "", "颜色分类:混色", 1)),
    "NOTEBOOK-A5-DOT": ("A5 Dotted Notebook 160 Pages", "Color Family:Black", None),
}  # fmt: skip
ONLY_IN = {"PHONECASE-IP15": "MY", "MUG-CER-WHT": "SG", "UMBRELLA-FOLD-NVY": "PH",
           "SOCKS-5PR-MIX": "TH", "NOTEBOOK-A5-DOT": "VN"}  # fmt: skip
PENDING = {"PHONECASE-IP15"}  # in the map, not yet approved
LOSS = {("EARBUD-BT53-BLK", "PH")}  # priced below the supplier's price: the margin hold
MARKUP = 1.8  # marketplace price = supplier price x MARKUP + a margin for the supplier's delivery
DELIVERY_CNY = 15


def catalog() -> tuple[Catalog, pa.Table]:
    """The sample catalog and its targets, priced from the sandbox's supplier prices."""
    names = list(ITEMS)
    sandbox = get_catalog()
    prices = np.zeros((len(names), len(COUNTRIES)), np.int64)
    for i, sku in enumerate(names):
        target = ITEMS[sku][2]
        cost_cny = Decimal(10)  # the unmapped SKU: any price
        if target is not None:
            item = sandbox.product(int(target[1]), CBU if target[0] == "1688" else TB)
            sku_id = int(target[2]) if target[2] else None
            found = next(s for s in item.skus if s.sku_id == sku_id)
            cost_cny = Decimal(found.promotion_price) / 100 * target[5]
        for c, country in enumerate(COUNTRIES):
            if ONLY_IN.get(sku, country) != country:
                continue
            markup = 0.8 if (sku, country) in LOSS else MARKUP
            cny = float(cost_cny) * markup + (0 if (sku, country) in LOSS else DELIVERY_CNY)
            local = cny / float(DEFAULT_FX_TO_CNY[CURRENCY[c]]) * 100
            step = PRICE_STEP[c]
            prices[i, c] = math.ceil(local / step / 0.9) * step  # a 10% discount still pays
    skus = pa.table(
        {
            "seller_sku": names,
            "item_name": [ITEMS[s][0] for s in names],
            "variation": [ITEMS[s][1] for s in names],
            "platform_item_id": [str(3_000_000_000 + sum(map(ord, s)) * 131) for s in names],
            "platform_sku_id": [str(15_000_000_000 + sum(map(ord, s)) * 977) for s in names],
        }
    )
    fields = ("source_platform", "source_item_id", "source_sku_id", "source_spec_id",
              "source_sku_props", "qty_multiplier")  # fmt: skip
    targets = pa.table(
        {f: [None if ITEMS[s][2] is None else ITEMS[s][2][k] or None for s in names]
         for k, f in enumerate(fields)}
    )  # fmt: skip
    targets = targets.set_column(5, "qty_multiplier", pa.array(
        [1 if ITEMS[s][2] is None else ITEMS[s][2][5] for s in names]))  # fmt: skip
    return Catalog(skus, prices), targets


def the_sku_map(cat: Catalog, targets: pa.Table) -> pa.Table:
    status = pa.array(
        ["pending" if s in PENDING else "approved" for s in cat.skus["seller_sku"].to_pylist()]
    )
    shop = pc.if_else(
        pc.equal(targets["source_platform"], "1688"), "义乌某某服饰厂", "某某箱包旗舰店"
    )
    table = sku_map(cat, targets, ("lazada", "shopee", "tiktok"), status=status, shop=shop)
    url = pc.if_else(
        pc.equal(table["source_platform"], "taobao"),
        pc.binary_join_element_wise(
            "https://item.taobao.com/item.htm?id=", table["source_item_id"], ""
        ),
        pc.binary_join_element_wise(
            "https://detail.1688.com/offer/", table["source_item_id"], ".html", ""
        ),
    )
    table = table.set_column(table.column_names.index("source_url"), "source_url", url)
    return table.filter(pc.invert(pc.equal(table["seller_sku"], "NOTEBOOK-A5-DOT")))


def _lines(
    marketplace: str, n: int, countries: tuple[str, ...], seed: int, cat: Catalog
) -> pa.Table:
    return random_lines(
        n, marketplace=marketplace, catalog=cat, seed=seed, countries=countries,
        live_share=0.8, multi_unit_share=0.25,
        partial_cancel_share=0.06 if marketplace == "lazada" else 0.0,
    )  # fmt: skip


def _edit(table: pa.Table, row: int, column: str, value: str) -> pa.Table:
    """`table` with one cell changed (row counted from 0 among the data rows)."""
    values = table[column].to_pylist()
    values[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values, pa.string()))


def build() -> list[str]:
    """Write every sample file; what was done to them, for the README."""
    cat, targets = catalog()
    OUT.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    files.write_csv(the_sku_map(cat, targets), OUT / "sku_map.csv")

    # Lazada: the 26th's CSV export, six shops; and the same shop's xlsx export taken at noon
    lazada = render.lazada(_lines("lazada", 120, COUNTRIES, 20261126, cat), seed=7)
    lazada, found = _lazada_faults(lazada)
    notes += found
    files.write_csv(lazada, OUT / f"lazada_orders_{DAY}.csv")
    earlier = _earlier(lazada, bad_rows=(5, 17, 29, 41, 53, 65, 78))
    files.write_xlsx(earlier, OUT / f"lazada_orders_{DAY}.xlsx",
                     numbers={**dict.fromkeys(("shippingPhone", "billingPhone", "shippingPostCode",
                                               "billingPostCode", "paidPrice", "unitPrice"), 1),
                              "orderItemId": 3})  # fmt: skip

    for name, language, country, writer, faults in SHOPEE:
        table = render.shopee(_lines("shopee", 14, (country,), _seed(name), cat), language)
        table, found = faults(table)
        notes += [f"{name}: {n}" for n in found]
        writer(table, OUT / name)
    for name, layout, country, writer, faults in TIKTOK:
        table = render.tiktok(_lines("tiktok", 14, (country,), _seed(name), cat), layout)
        table, found = faults(table)
        notes += [f"{name}: {n}" for n in found]
        writer(table, OUT / name)
    return notes


def _seed(name: str) -> int:
    return sum(map(ord, name))


def _lazada_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    """A few rows broken the way real exports break (row numbers as a spreadsheet shows them)."""
    t = _edit(t, 5, "createTime", "31 Nov 2026 10:15")
    t = _edit(t, 17, "paidPrice", "12,90")
    t = _edit(t, 29, "status", "awaiting_pickup")
    t = _edit(t, 41, "shippingAddress", '=HYPERLINK("http://evil.example","Track parcel")')
    t = _edit(t, 53, "orderItemId", "2.10123457E+14")
    t = _edit(t, 65, "sellerSku", "")
    twin = t.slice(77, 1)
    twin = _edit(twin, 0, "sellerSku", "BAG-TOTE-GRY" if twin["sellerSku"][0].as_py() != "BAG-TOTE-GRY" else "BAG-TOTE-BLK")  # fmt: skip
    t = pa.concat_tables([t.slice(0, 78), twin, t.slice(78)])
    return t, [
        "row 7: createTime `31 Nov 2026 10:15` -> BAD_DATE",
        "row 19: paidPrice `12,90` -> BAD_PRICE",
        "row 31: status `awaiting_pickup` -> UNKNOWN_STATUS",
        "row 43: shippingAddress a formula -> FORMULA_INJECTION",
        "row 55: orderItemId `2.10123457E+14` -> BAD_ID",
        "row 67: sellerSku empty -> MISSING_VALUE",
        "rows 79-80: one orderItemId twice, different sellerSku -> DUPLICATE_CONFLICT",
    ]


def _earlier(t: pa.Table, bad_rows: tuple[int, ...]) -> pa.Table:
    """The same shop's export at noon on the 26th: fewer orders, older statuses, no bad rows."""
    keep = np.ones(t.num_rows, bool)
    keep[list(bad_rows)] = False
    created = pc.strptime(t["createTime"], format="%d %b %Y %H:%M", unit="s", error_is_null=True)
    noon = pa.scalar(dt.datetime.fromisoformat(f"{DAY}T12:00"), pa.timestamp("s"))
    keep &= pc.fill_null(pc.less(created, noon), False).to_numpy(zero_copy_only=False)
    t = t.filter(pa.array(keep))
    done = pc.is_in(t["status"], value_set=pa.array(["shipped", "delivered"]))
    t = t.set_column(
        t.column_names.index("status"), "status", pc.if_else(done, "ready_to_ship", t["status"])
    )
    for column in ("trackingCode", "deliveredDate"):
        t = t.set_column(
            t.column_names.index(column), column, pc.if_else(done, render.NULL, t[column])
        )
    return t.set_column(t.column_names.index("updateTime"), "updateTime", t["createTime"])


def _none(t: pa.Table) -> tuple[pa.Table, list[str]]:
    return t, []


def _shopee_th_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    t = _edit(t, 2, "จำนวน", "0")
    t = _edit(t, 6, "วันที่ทำการสั่งซื้อ", "2026-11-31 10:15")
    return t, ["row 6 (2 title rows, header on row 3): จำนวน (quantity) `0` -> BAD_QUANTITY",
               "row 10: วันที่ทำการสั่งซื้อ (order date) `2026-11-31 10:15` -> BAD_DATE"]  # fmt: skip


def _shopee_ph_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    orders = t["Order ID"].to_pylist()
    row = next(i for i in range(1, len(orders)) if orders[i] == orders[i - 1])
    t = _edit(
        t, row, "Delivery Address", "Unit 9C, 12 Katipunan Avenue, Loyola Heights, 1108 Quezon City"
    )
    t = _edit(t, 1 if row != 1 else 3, "Deal Price", "1,299.00")
    return t, [f"rows {row + 1}-{row + 2}: one order, two different delivery addresses -> "
               "RECEIVER_CONFLICT (both lines)",
               f"row {(1 if row != 1 else 3) + 2}: Deal Price `1,299.00` -> BAD_PRICE"]  # fmt: skip


def _shopee_vn_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    return _edit(t, 4, "Trạng Thái Đơn Hàng", "Đang xử lý"), [
        "row 6: Trạng Thái Đơn Hàng (status) `Đang xử lý` -> UNKNOWN_STATUS"]  # fmt: skip


def _tiktok_th_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    t = _edit(t, 3, "SKU ID", "1.70000015E+18")
    t = _edit(t, 8, "Seller SKU", '=HYPERLINK("http://evil.example","x")')
    return t, ["row 6 (row 2 describes the columns): SKU ID `1.70000015E+18` -> BAD_ID",
               "row 11: Seller SKU a formula -> FORMULA_INJECTION"]  # fmt: skip


def _tiktok_my_faults(t: pa.Table) -> tuple[pa.Table, list[str]]:
    return _edit(t, 5, "Order Substatus", "Awaiting pickup"), [
        "row 8: Order Substatus `Awaiting pickup` -> UNKNOWN_STATUS"]  # fmt: skip


def _csv(**options) -> Callable[[pa.Table, Path], None]:
    return lambda table, path: files.write_csv(table, path, **options)


def _xlsx(**options) -> Callable[[pa.Table, Path], None]:
    return lambda table, path: files.write_xlsx(table, path, **options)


def _tiktok_csv(described: bool) -> Callable[[pa.Table, Path], None]:
    def write(table: pa.Table, path: Path) -> None:
        after = render.tiktok_description(tuple(table.column_names)) if described else None
        files.write_csv(table, path, after=after)

    return write


def _tiktok_xlsx(table: pa.Table, path: Path) -> None:
    files.write_xlsx(table, path, after=render.tiktok_description(tuple(table.column_names)),
                     numbers={"Quantity": 1})  # fmt: skip


SHOPEE = (  # file, header language, shop country, writer, faults
    (f"shopee_my_orders_{DAY}.xlsx", "en", "MY", _xlsx(numbers={"Phone Number": 1, "Quantity": 1}), _none),
    (f"shopee_ph_orders_{DAY}.csv", "en_ph", "PH", _csv(encoding="utf-8-sig"), _shopee_ph_faults),
    (f"shopee_th_orders_{DAY}.csv", "th", "TH",
     _csv(encoding="cp874", before=[["รายงานคำสั่งซื้อ"], ["ร้าน: ตัวอย่าง", DAY]]), _shopee_th_faults),
    (f"shopee_vn_orders_{DAY}.xlsx", "vi", "VN", _xlsx(), _shopee_vn_faults),
    (f"shopee_sg_orders_{DAY}.csv", "zh", "SG", _csv(), _none),
)  # fmt: skip
TIKTOK = (  # file, address layout, shop country, writer, faults
    (f"tiktok_th_orders_{DAY}.csv", "th", "TH", _tiktok_csv(described=True), _tiktok_th_faults),
    (f"tiktok_my_orders_{DAY}.xlsx", "my", "MY", _tiktok_xlsx, _tiktok_my_faults),
    (f"tiktok_id_orders_{DAY}.csv", "id", "ID", _tiktok_csv(described=False), _none),
)
