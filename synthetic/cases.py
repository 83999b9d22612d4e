"""tests/data/: tiny literal exports, each with one quirk or fault a test names. Deterministic.

    .venv/bin/python -m synthetic tests

Every file is made from the literal rows below, so a test can state exactly what it expects;
binary formats (xlsx, parquet) are written from the same rows. The Lazada files are rows of the
export itself; the Shopee and TikTok Shop files render literal order lines (synthetic.render)
in each header language and layout, with each format's quirks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from schemas.exports import LAZADA_CURRENT, LAZADA_LEGACY
from synthetic import files, render
from synthetic.catalogs import SKU_MAP_COLUMNS

HERE = Path(__file__).resolve().parents[1] / "tests" / "data"

MY = dict(shippingName="Nur Aisyah Kamal", shippingAddress="No. 12, Jalan Mawar 3/2, Taman Sri Melati",
          shippingAddress3="Selangor", shippingAddress4="Shah Alam", shippingAddress5="Seksyen 7",
          shippingPhone="60123456780", shippingCity="Shah Alam", shippingPostCode="40000",
          shippingCountry="Malaysia", customerName="N***l")  # fmt: skip
MY_PERLIS = dict(MY, shippingName="Siti Farah Ibrahim", shippingAddress="Lot 5, Kampung Bukit Keteri",
                 shippingAddress3="Perlis", shippingAddress4="Kangar", shippingAddress5="Chuping",
                 shippingCity="Kangar", shippingPostCode="01000", shippingPhone="60194455667",
                 customerName="S***m")  # fmt: skip
PH = dict(shippingName="Juan Miguel Reyes", shippingAddress="Unit 4B, 88 Kamuning Road",
          shippingAddress3="Metro Manila", shippingAddress4="Quezon City", shippingAddress5="Pinyahan",
          shippingPhone="639171234567", shippingCity="Quezon City", shippingPostCode="1100",
          shippingCountry="Philippines", customerName="J***s")  # fmt: skip
TH = dict(shippingName="สมชาย ใจดี", shippingAddress="99/12 ซอยสุขุมวิท 101",
          shippingAddress3="สมุทรปราการ/ Samut Prakan",
          shippingAddress4="เมืองสมุทรปราการ/ Mueang Samut Prakan",
          shippingAddress5="สำโรงเหนือ/ Samrong Nuea", shippingPhone="66812345678",
          shippingCity="เมืองสมุทรปราการ/ Mueang Samut Prakan", shippingPostCode="10270",
          shippingCountry="Thailand", customerName="ส***ี")  # fmt: skip
SG = dict(shippingName="Ng Jun Hao", shippingAddress="Blk 123 Tampines Street 11, #08-45",
          shippingPhone="6591234567", shippingPostCode="521123", shippingCountry="Singapore",
          customerName="N***o")  # fmt: skip
VN = dict(shippingName="Nguyễn Văn Hùng", shippingAddress="Số 12 Ngõ 34 Phố Huế",
          shippingAddress3="Hà Nội", shippingAddress4="Quận Hai Bà Trưng",
          shippingAddress5="Phường Phố Huế", shippingPhone="84912345678",
          shippingCity="Quận Hai Bà Trưng", shippingCountry="Vietnam", customerName="N***g")  # fmt: skip
ID = dict(shippingName="Budi Santoso", shippingAddress="Jl. Melati No. 12 RT 03/RW 02",
          shippingAddress3="DKI Jakarta", shippingAddress4="Jakarta Selatan",
          shippingAddress5="Kebayoran Baru", shippingPhone="6281234567890",
          shippingCity="Jakarta Selatan", shippingPostCode="12130", shippingCountry="Indonesia",
          customerName="B***o")  # fmt: skip


def row(item_id: str, order: str, sku: str, cc: str, who: dict, status: str, paid: str,
        unit: str, created: str, updated: str, item: str = "Canvas Tote Bag",
        variation: str = "Color Family:Black") -> dict:  # fmt: skip
    """One unit row of the current export; every other column blank."""
    values = dict.fromkeys(LAZADA_CURRENT, "")
    values.update(who)
    values.update(
        orderItemId=item_id, orderType="Normal", lazadaId="3069252927", sellerSku=sku,
        lazadaSku=f"3069252927_{cc}-1{sum(map(ord, sku)):010d}", createTime=created,
        updateTime=updated, orderNumber=order, invoiceRequired="No", payMethod="COD",
        paidPrice=paid, unitPrice=unit, sellerDiscountTotal="0.00", platformDiscountTotal="0.00",
        itemName=item, variation=variation, status=status,
    )  # fmt: skip
    return values


# The base export: 6 orders, 12 unit rows, every shop country.
BASE = [
    row("212345678911234", "212345678901234", "BAG-TOTE-BLK", "MY", MY, "pending", "42.90", "45.90", "14 Mar 2026 09:12", "14 Mar 2026 09:40"),
    row("212345678921234", "212345678901234", "BAG-TOTE-BLK", "MY", MY, "pending", "42.90", "45.90", "14 Mar 2026 09:12", "14 Mar 2026 09:40"),
    row("212345678931234", "212345678901234", "BAG-TOTE-GRY", "MY", MY, "pending", "19.90", "19.90", "14 Mar 2026 09:12", "14 Mar 2026 09:40", variation="Color Family:Grey"),
    row("598765432119876", "598765432109876", "TS-RED-M", "PH", PH, "canceled", "299.00", "349.00", "14 Mar 2026 21:47", "15 Mar 2026 08:02", item="Cotton T-Shirt"),
    row("871234560112345", "871234560012345", "TS-RED-M", "TH", TH, "shipped", "199.75", "235.00", "13 Mar 2026 20:41", "15 Mar 2026 11:10", item="เสื้อยืดคอกลม Cotton 100%"),
    row("871234560122345", "871234560012345", "TS-RED-L", "TH", TH, "ready_to_ship", "199.75", "235.00", "13 Mar 2026 20:41", "15 Mar 2026 11:10", item="เสื้อยืดคอกลม Cotton 100%"),
    row("300000000110001", "300000000100001", "CAP-BSB-2PK", "SG", SG, "ready_to_ship", "12.50", "12.50", "14 Mar 2026 23:30", "15 Mar 2026 07:00", item="Baseball Cap (2 pcs)"),
    row("300000000120001", "300000000100002", "LAMP-DESK-WHT", "VN", VN, "pending", "150000.00", "150000.00", "15 Mar 2026 00:30", "15 Mar 2026 01:00", item="LED Desk Lamp"),
    row("300000000130001", "300000000100003", "TS-RED-L", "ID", ID, "pending", "125000.00", "125000.00", "15 Mar 2026 06:59", "15 Mar 2026 07:30", item="Kaos Katun"),
    row("300000000130002", "300000000100003", "TS-RED-L", "ID", ID, "pending", "125000.00", "125000.00", "15 Mar 2026 06:59", "15 Mar 2026 07:30", item="Kaos Katun"),
    row("300000000130003", "300000000100003", "TS-RED-L", "ID", ID, "canceled", "125000.00", "125000.00", "15 Mar 2026 06:59", "15 Mar 2026 07:30", item="Kaos Katun"),
    row("300000000140001", "300000000100004", "BAG-TOTE-BLK", "MY", MY_PERLIS, "pending", "45.90", "45.90", "15 Mar 2026 10:05", "15 Mar 2026 10:06"),
]  # fmt: skip

SKU_MAP = [
    # marketplace, country, seller_sku, platform_item_id, platform_sku_id, source_platform,
    # source_item_id, source_sku_id, source_spec_id, source_sku_props, qty_multiplier,
    # supplier_shop, status, source_url
    *[
        ("lazada", cc, "BAG-TOTE-BLK", "", "", "taobao", "718293045561", "5219384756012", "", "颜色分类:黑色", "1", "某某箱包旗舰店", "approved", "")
        for cc in ("MY", "SG", "PH", "TH", "VN", "ID")
    ],
    ("lazada", "MY", "BAG-TOTE-GRY", "", "", "taobao", "718293045561", "5219384756013", "", "颜色分类:灰色", "1", "某某箱包旗舰店", "approved", ""),
    ("lazada", "TH", "TS-RED-M", "", "", "1688", "554456348334", "4951323355633", "b266e0726506185beaf205cbae88530d", "颜色:红色;尺码:M", "1", "义乌某某服饰厂", "approved", ""),
    ("lazada", "PH", "TS-RED-M", "", "", "1688", "554456348334", "4951323355633", "b266e0726506185beaf205cbae88530d", "颜色:红色;尺码:M", "1", "义乌某某服饰厂", "approved", ""),
    ("lazada", "TH", "TS-RED-L", "", "", "1688", "554456348334", "4951323355634", "c266e0726506185beaf205cbae88530e", "颜色:红色;尺码:L", "1", "义乌某某服饰厂", "approved", ""),
    ("lazada", "ID", "TS-RED-L", "", "", "1688", "554456348334", "4951323355634", "c266e0726506185beaf205cbae88530e", "颜色:红色;尺码:L", "1", "义乌某某服饰厂", "approved", ""),
    ("lazada", "SG", "CAP-BSB-2PK", "", "", "1688", "612345678901", "4951323355700", "2ba3d63866a71fbae83909d9b4814f01", "颜色:黑色", "2", "某某帽业", "approved", ""),
    ("lazada", "VN", "LAMP-DESK-WHT", "", "", "taobao", "800000000005", "9000000000050", "", "颜色分类:白色", "1", "Generated shop", "pending", ""),
    *[
        row
        for market in ("shopee", "tiktok")
        for cc in ("MY", "PH", "TH", "VN")
        for row in (
            (market, cc, "BAG-TOTE-BLK", "", "", "taobao", "718293045561", "5219384756012", "", "", "1", "", "approved", ""),
            (market, cc, "CAP-BSB-2PK", "", "", "1688", "612345678901", "4951323355700", "2ba3d63866a71fbae83909d9b4814f01", "", "2", "", "approved", ""),
            (market, cc, "TS-RED-M", "", "", "1688", "554456348334", "4951323355633", "", "", "1", "", "approved", ""),
        )
    ],
]  # fmt: skip
SKU_MAP_HEADER = SKU_MAP_COLUMNS


def write_csv(path: Path, rows: list[dict], columns, *, delimiter: str = ",",
              bom: bool = False, newline: str = "\n") -> None:  # fmt: skip
    table = pa.table(
        {c: pa.array([r.get(c, "") or None for r in rows], pa.string()) for c in columns}
    )
    files.write_csv(table, path, delimiter=delimiter, newline=newline,
                    encoding="utf-8-sig" if bom else "utf-8")  # fmt: skip


def legacy(rows: list[dict], id_header: str = "Order Item Id") -> tuple[list[dict], list[str]]:
    names = {**render.LEGACY_NAMES, "orderItemId": id_header}
    columns = [c if c != "Order Item Id" else id_header for c in LAZADA_LEGACY]
    return [{names[k]: v for k, v in r.items() if k in names} for r in rows], columns


def bad_rows() -> list[dict]:
    """One broken row per reject reason, between good rows (file: lazada_bad_rows.csv)."""
    good = [dict(r) for r in BASE[:3]]
    bad = []

    def variant(item_id: str, order: str, **changes: str) -> dict:
        r = dict(BASE[0], orderItemId=item_id, orderNumber=order)
        r.update(changes)
        return r

    bad.append(
        variant("400000000000001", "400000000000101", createTime="31 Feb 2026 10:00")
    )  # row 5
    bad.append(variant("400000000000002", "400000000000102", paidPrice="12,90"))  # row 6
    bad.append(variant("400000000000003", "400000000000103", status="awaiting_pickup"))  # row 7
    bad.append(
        variant("400000000000004", "400000000000104", shippingName="=cmd|' /C calc'!A0")
    )  # 8
    bad.append(variant("400000000000005", "400000000000105", itemName="x" * 5000))  # row 9
    bad.append(variant("400000000000006", "400000000000106", sellerSku=""))  # row 10
    bad.append(variant("2.12345678911234E+14", "400000000000107"))  # row 11
    bad.append(variant("400000000000008", "400000000000108", paidPrice="1000000000000000.00"))  # 12
    bad.append(
        variant(
            "400000000000009", "400000000000109", lazadaSku="123_XX-9", shippingCountry="Atlantis"
        )
    )  # 13
    bad.append(variant("400000000000010", "400000000000110", shippingCountry="Thailand"))  # row 14
    bad.append(variant("400000000000011", "400000000000111", orderNumber="4" * 50))  # row 15
    bad.append(variant("400000000000012", "400000000000112", updateTime="yesterday"))  # row 16
    bad.append(variant("400000000000013", "400000000000113", paidPrice="-5.00"))  # row 17
    bad.append(variant("400000000000014", "400000000000114", shippingPhone="+A1+B1"))  # row 18
    return good + bad + [dict(BASE[7])]  # row 19: a good VN row after the bad ones


def lazada_files() -> None:
    cols = LAZADA_CURRENT
    write_csv(HERE / "lazada_current.csv", BASE, cols)
    write_csv(HERE / "lazada_current_bom_crlf.csv", BASE, cols, bom=True, newline="\r\n")
    shuffled = ["myOwnNote", *reversed([c for c in cols if c != "platformDiscountTotal"])]
    write_csv(HERE / "lazada_76_columns_shuffled.csv",
              [dict(r, myOwnNote="ok") for r in BASE], shuffled)  # fmt: skip
    rows, columns = legacy(BASE)
    write_csv(HERE / "lazada_legacy_semicolon.csv", rows, columns, delimiter=";")
    rows, columns = legacy(BASE[:4], id_header="Item Id")
    write_csv(HERE / "lazada_legacy_item_id.csv", rows, [c for c in columns if c not in ("Order Type", "Order Flag")])  # fmt: skip
    write_csv(HERE / "lazada_bad_rows.csv", bad_rows(), cols)
    write_csv(HERE / "lazada_missing_column.csv", BASE[:4], [c for c in cols if c != "sellerSku"])
    write_csv(HERE / "lazada_duplicate_header.csv", [dict(r) | {"Order Item Id": r["orderItemId"]} for r in BASE[:2]],
              [*cols, "Order Item Id"])  # fmt: skip
    _overlap(cols)
    _malformed(cols)
    (HERE / "lazada_not_utf8.csv").write_bytes("orderItemId,sellerSku\n1,เสื้อ\n".encode("cp874"))
    _xlsx(HERE / "lazada_current.xlsx", BASE)
    _xlsx_formula(HERE / "lazada_formula.xlsx")
    _parquet_current(HERE / "lazada_current.parquet")
    _parquet_legacy(HERE / "lazada_legacy_numbers.parquet")
    write_csv(
        HERE / "sku_map.csv",
        [dict(zip(SKU_MAP_HEADER, r, strict=True)) for r in SKU_MAP],
        SKU_MAP_HEADER,
    )
    conflict = [*SKU_MAP, ("lazada", "MY", "BAG-TOTE-BLK", "", "", "taobao", "718293045561", "5219384756013", "", "", "1", "", "approved", "")]  # fmt: skip
    write_csv(HERE / "sku_map_conflict.csv", [dict(zip(SKU_MAP_HEADER, r, strict=True)) for r in conflict], SKU_MAP_HEADER)  # fmt: skip
    bad_mult = [(*SKU_MAP[0][:10], "1.5", *SKU_MAP[0][11:])]
    write_csv(HERE / "sku_map_bad_multiplier.csv", [dict(zip(SKU_MAP_HEADER, r, strict=True)) for r in bad_mult], SKU_MAP_HEADER)  # fmt: skip
    write_csv(HERE / "sku_map_missing_column.csv", [dict(zip(SKU_MAP_HEADER, r, strict=True)) for r in SKU_MAP[:2]],
              [c for c in SKU_MAP_HEADER if c != "source_item_id"])  # fmt: skip


def _overlap(cols) -> None:
    """Two daily exports sharing an order whose status moved on between them."""
    day1 = [dict(r) for r in BASE[:3]] + [dict(BASE[6])]
    day2 = [dict(r) for r in BASE[:3]] + [dict(BASE[7])]
    for r in day2[:2]:  # two units shipped after day 1's export
        r.update(status="shipped", updateTime="15 Mar 2026 18:00")
    write_csv(HERE / "lazada_overlap_day1.csv", day1, cols)
    write_csv(HERE / "lazada_overlap_day2.csv", day2, cols)
    conflict = [dict(BASE[0]), dict(BASE[0], paidPrice="40.00"), dict(BASE[3])]
    write_csv(HERE / "lazada_duplicate_conflict.csv", conflict, cols)


def _malformed(cols) -> None:
    """A row with a stray delimiter, and an address holding a line break (valid, quoted)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerow([BASE[0][c] for c in cols])
    broken = [BASE[1][c] for c in cols] + ["stray"]
    writer.writerow(broken)
    multiline = dict(BASE[3], shippingAddress="Unit 4B,\n88 Kamuning Road")
    writer.writerow([multiline[c] for c in cols])
    writer.writerow([BASE[4][c] for c in cols])
    (HERE / "lazada_malformed.csv").write_text(buf.getvalue(), encoding="utf-8")


def _xlsx(path: Path, rows: list[dict]) -> None:
    """Phones, postcodes, prices and odd-row ids as numbers, as a spreadsheet stores them."""
    numbers = {"shippingPhone": 1, "shippingPostCode": 1, "paidPrice": 1, "unitPrice": 1,
               "orderItemId": 2}  # fmt: skip
    table = pa.table(
        {c: pa.array([r[c] or None for r in rows], pa.string()) for c in LAZADA_CURRENT}
    )
    files.write_xlsx(table, path, numbers=numbers, extra_sheet=True)


def _xlsx_formula(path: Path) -> None:
    """A text cell that looks like a formula, and a real formula cell with a cached value."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("sheet1")
    sheet.write_row(0, 0, LAZADA_CURRENT)
    for r, values in enumerate(BASE[:3], start=1):
        for c, name in enumerate(LAZADA_CURRENT):
            if values[name]:
                sheet.write_string(r, c, values[name])
    name_col = LAZADA_CURRENT.index("shippingName")
    sheet.write_string(2, name_col, '=HYPERLINK("http://evil.example","x")')
    item_col = LAZADA_CURRENT.index("itemName")
    sheet.write_formula(3, item_col, '=UPPER("evaluated")', None, "cached text")
    book.close()


def _parquet_current(path: Path) -> None:
    table = pa.table({c: [r[c] or None for r in BASE] for c in LAZADA_CURRENT})
    pq.write_table(table, path)


def _parquet_legacy(path: Path) -> None:
    """Legacy headers; ids int64, phones float64, prices decimal: what a pandas user might save."""
    rows, columns = legacy(BASE)
    data = {c: [r.get(c) or None for r in rows] for c in columns}
    table = pa.table(
        {
            **{c: pa.array(v, pa.string()) for c, v in data.items()},
            "Order Item Id": pa.array([int(v) for v in data["Order Item Id"]], pa.int64()),
            "Order Number": pa.array([int(v) for v in data["Order Number"]], pa.int64()),
            "Shipping Phone Number": pa.array([float(v) for v in data["Shipping Phone Number"]]),
            "Paid Price": pa.array([Decimal(v) for v in data["Paid Price"]], pa.decimal128(18, 2)),
        }
    )
    pq.write_table(table, path)


# --- Shopee and TikTok Shop: literal order lines, rendered ----------------------------------------

PEOPLE = {  # name, phone, street, state, city, district, postcode
    "MY": ("Nur Aisyah Kamal", "60123456780", "No. 12, Jalan Mawar 3/2, Taman Sri Melati",
           "Selangor", "Shah Alam", "Seksyen 7", "40000"),
    "PH": ("Juan Miguel Reyes", "639171234567", "Unit 4B, 88 Kamuning Road", "Metro Manila",
           "Quezon City", "Pinyahan", "1100"),
    "TH": ("สมชาย ใจดี", "66812345678", "99/12 ซอยสุขุมวิท 101", "สมุทรปราการ/ Samut Prakan",
           "เมืองสมุทรปราการ/ Mueang Samut Prakan", "สำโรงเหนือ/ Samrong Nuea", "10270"),
    "VN": ("Nguyễn Văn Hùng", "84912345678", "Số 12 Ngõ 34 Phố Huế", "Hà Nội", "Quận Hai Bà Trưng",
           "Phường Phố Huế", None),
}  # fmt: skip
SKUS = {  # seller SKU -> item name, variation, platform SKU id
    "BAG-TOTE-BLK": ("Canvas Tote Bag", "Black", "15298395971"),
    "CAP-BSB-2PK": ("Baseball Cap (2 pcs)", "Black", "15298395972"),
    "TS-RED-M": ("Cotton T-Shirt", "Red, M", "15298395973"),
}


def order_lines(country: str, prefix: str) -> pa.Table:
    """Four orders of one shop: two lines (one of 2 units), a pack of 2 bought 3 times, a
    cancelled order, and one placed the day before."""
    name, phone, street, state, city, district, postcode = PEOPLE[country]
    specs = [  # order, SKU, quantity, unit and discount cents, stage, created
        ("01", "BAG-TOTE-BLK", 2, 5900, 1310, "to_ship", "2026-03-14 09:12:33"),
        ("01", "TS-RED-M", 1, 2990, 0, "to_ship", "2026-03-14 09:12:33"),
        ("02", "CAP-BSB-2PK", 3, 3590, 0, "packed", "2026-03-14 23:30:00"),
        ("03", "TS-RED-M", 1, 2990, 0, "cancelled", "2026-03-14 10:00:00"),
        ("04", "BAG-TOTE-BLK", 1, 5900, 0, "to_ship", "2026-03-13 08:00:00"),
    ]
    n = len(specs)
    created = [dt.datetime.fromisoformat(s[6]) for s in specs]
    return pa.table(
        {
            "country": [country] * n,
            "order_number": [prefix + s[0] for s in specs],
            "line_seq": [0, 1, 0, 0, 0],
            "seller_sku": [s[1] for s in specs],
            "item_name": [SKUS[s[1]][0] for s in specs],
            "variation": [SKUS[s[1]][1] for s in specs],
            "platform_item_id": ["3069252927"] * n,
            "platform_sku_id": [SKUS[s[1]][2] for s in specs],
            "quantity": pa.array([s[2] for s in specs], pa.int64()),
            "unit_cents": pa.array([s[3] for s in specs], pa.int64()),
            "discount_cents": pa.array([s[4] for s in specs], pa.int64()),
            "platform_discount_cents": pa.array([0] * n, pa.int64()),
            "stage": [s[5] for s in specs],
            "created": pa.array(created, pa.timestamp("s")),
            "updated": pa.array([c + dt.timedelta(minutes=30) for c in created], pa.timestamp("s")),
            "name": [name] * n,
            "phone": [phone] * n,
            "street": [street] * n,
            "state": [state] * n,
            "city": [city] * n,
            "district": [district] * n,
            "postcode": pa.array([postcode] * n, pa.string()),
        }
    )


def marketplace_files() -> None:
    """Shopee in each header language and TikTok Shop in three address layouts, each with its
    quirks: title rows above the header, cp874, utf-8-sig, `(PHP)` suffixes, the description row,
    times ending in a TAB."""
    files.write_xlsx(render.shopee(order_lines("MY", "260314MYAAAA"), "en"), HERE / "shopee_en.xlsx",
                     numbers={"Phone Number": 1, "Quantity": 1})  # fmt: skip
    files.write_csv(render.shopee(order_lines("PH", "260314PHAAAA"), "en_ph"),
                    HERE / "shopee_en_ph.csv", encoding="utf-8-sig")  # fmt: skip
    files.write_csv(render.shopee(order_lines("TH", "260314THAAAA"), "th"),
                    HERE / "shopee_th_cp874.csv", encoding="cp874",
                    before=[["รายงานคำสั่งซื้อ"], ["ร้าน: ตัวอย่าง", "2026-03-14"]])  # fmt: skip
    files.write_xlsx(
        render.shopee(order_lines("VN", "260314VNAAAA"), "vi"), HERE / "shopee_vi.xlsx"
    )
    files.write_csv(render.shopee(order_lines("MY", "260314ZHAAAA"), "zh"), HERE / "shopee_zh.csv")
    th = render.tiktok(order_lines("TH", "5791234567890123"), "th")
    files.write_csv(
        th, HERE / "tiktok_th.csv", after=render.tiktok_description(tuple(th.column_names))
    )
    my = render.tiktok(order_lines("MY", "5791234567890456"), "my")
    files.write_xlsx(
        my, HERE / "tiktok_my.xlsx", after=render.tiktok_description(tuple(my.column_names))
    )
    files.write_csv(
        render.tiktok(order_lines("VN", "5791234567890789"), "vn"), HERE / "tiktok_vn.csv"
    )


def build() -> list[Path]:
    """Write every file here; their paths."""
    lazada_files()
    marketplace_files()
    return sorted(HERE.glob("*.*"))
