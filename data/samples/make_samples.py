"""Regenerate the sample Lazada export (csv + xlsx) and its SKU map. Deterministic.

    .venv/bin/python data/samples/make_samples.py

The export holds ~90 orders from six shop countries, created on 2026-11-25 and 2026-11-26 shop
time: multi-unit orders, partial and whole cancellations, shipped and delivered lines, and a few
deliberately bad rows (see README.md here). The xlsx is the same shop's export taken earlier, at
noon on the 26th: an overlapping set of orders whose statuses are older, with phones, postcodes
and some ids stored as spreadsheet numbers. Every name, address and phone is synthetic.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import xlsxwriter

from schemas.ingest import LAZADA_EXPORT_COLUMNS

HERE = Path(__file__).parent
CSV_PATH = HERE / "lazada_orders_2026-11-26.csv"
XLSX_PATH = HERE / "lazada_orders_2026-11-26.xlsx"
MAP_PATH = HERE / "sku_map.csv"
XLSX_CUTOFF = dt.datetime(2026, 11, 26, 12, 0)  # shop-local time the xlsx was exported

# seller SKU -> (item name, variation, price by country in cents, catalog target, map status,
#                countries the SKU is sold in). Targets are the sandbox catalog's fixed ids.
CATALOG = {
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
}  # fmt: skip
# Special cases, each sold in one country only.
SPECIAL = {
    "PHONECASE-IP15": ("MY", "Phone Case Shockproof Clear", "Compatible Model:iPhone 15",
                       ("taobao", "800000000003", "9000000000030", "", "型号:iPhone 15", 1),
                       "pending"),
    "MUG-CER-WHT": ("SG", "Ceramic Mug 350ml", "Color Family:White",
                    ("taobao", "700000000001", "7000000000011", "", "颜色分类:白色", 1),
                    "approved"),  # item not in the distribution pool
    "UMBRELLA-FOLD-NVY": ("PH", "Folding Umbrella Windproof", "Color Family:Navy",
                          ("taobao", "700000000002", "7000000000021", "", "颜色分类:藏青", 1),
                          "approved"),  # the SKU has no mpSkuId
    "SOCKS-5PR-MIX": ("TH", "Ankle Socks 5 Pairs", "Color Family:Multicolor",
                      ("taobao", "700000000003", "7000000000031", "", "颜色分类:混色", 1),
                      "approved"),  # out of stock
    "NOTEBOOK-A5-DOT": ("VN", "A5 Dotted Notebook 160 Pages", "Color Family:Black",
                        None, None),  # not in the SKU map at all
}  # fmt: skip
BASE_PRICE = {  # cents in MYR; other countries scale it
    "BAG-TOTE-BLK": 4590, "BAG-TOTE-GRY": 4590, "TS-RED-M": 2990, "TS-RED-L": 2990,
    "CAP-BSB-2PK": 3590, "LAMP-DESK-WHT": 5900, "FLASK-500-SLV": 3990, "EARBUD-BT53-BLK": 7900,
    "CABLE-ORG-5P": 1990, "PHONECASE-IP15": 1590, "MUG-CER-WHT": 1990,
    "UMBRELLA-FOLD-NVY": 2490, "SOCKS-5PR-MIX": 1290, "NOTEBOOK-A5-DOT": 990,
}  # fmt: skip
COUNTRY = {  # code: (name, price factor vs MYR, step in cents, shipping fee cents)
    "MY": ("Malaysia", 1.0, 10, 490),
    "SG": ("Singapore", 0.3, 10, 199),
    "PH": ("Philippines", 12.0, 100, 4500),
    "TH": ("Thailand", 7.5, 100, 3800),
    "VN": ("Vietnam", 5400.0, 100_000, 1_500_000),
    "ID": ("Indonesia", 3400.0, 100_000, 900_000),
}
PEOPLE = {  # (shipping name, street, addr3, addr4, addr5, phone, postcode)
    "MY": [
        ("Nur Aisyah Kamal", "No. 12, Jalan Mawar 3/2, Taman Sri Melati", "Selangor", "Shah Alam",
         "Seksyen 7", "60123456780", "40000"),
        ("Tan Wei Jie", "23A, Jalan SS2/24", "Selangor", "Petaling Jaya", "SS2", "60162233445",
         "47300"),
        ("Siti Farah Ibrahim", "Lot 5, Kampung Bukit Keteri", "Perlis", "Kangar", "Chuping",
         "60194455667", "01000"),
        ("Kumar Raj", "No. 8, Lorong Maarof", "Kuala Lumpur", "Kuala Lumpur", "Bangsar",
         "60127788990", "59000"),
        ("Lim Mei Ling", "88, Jalan Burma", "Penang", "George Town", "Pulau Tikus", "60175566778",
         "10050"),
    ],
    "SG": [
        ("Ng Jun Hao", "Blk 123 Tampines Street 11, #08-45", "", "Singapore", "", "6591234567",
         "521123"),
        ("Priya Nair", "45 Clementi Ave 3, #12-08", "", "Singapore", "", "6598765432", "120045"),
        ("Marcus Goh", "7 Jurong West Street 81, #03-112", "", "", "", "6581112233", "640007"),
    ],
    "PH": [
        ("Juan Miguel Reyes", "Unit 4B, 88 Kamuning Road", "Metro Manila", "Quezon City",
         "Pinyahan", "639171234567", "1100"),
        ("Maria Angelica Santos", "123 Mabini St.", "Cebu", "Cebu City", "Lahug", "639189876543",
         "6000"),
        ("Jose Paolo Cruz", "Blk 9 Lot 3, Camella Homes", "Davao del Sur", "Davao City",
         "Talomo", "639054443322", "8000"),
    ],
    "TH": [
        ("สมชาย ใจดี", "99/12 ซอยสุขุมวิท 101", "สมุทรปราการ/ Samut Prakan",
         "เมืองสมุทรปราการ/ Mueang Samut Prakan", "สำโรงเหนือ/ Samrong Nuea", "66812345678",
         "10270"),
        ("Kanya Srisuk", "55/7 ถนนพหลโยธิน", "กรุงเทพมหานคร/ Bangkok", "จตุจักร/ Chatuchak",
         "ลาดยาว/ Lat Yao", "66898887766", "10900"),
        ("วิไล ทองดี", "12 หมู่ 3 ถนนห้วยแก้ว", "เชียงใหม่/ Chiang Mai",
         "เมืองเชียงใหม่/ Mueang Chiang Mai", "สุเทพ/ Suthep", "66861234321", "50200"),
    ],
    "VN": [
        ("Nguyễn Văn Hùng", "Số 12 Ngõ 34 Phố Huế", "Hà Nội", "Quận Hai Bà Trưng",
         "Phường Phố Huế", "84912345678", ""),
        ("Trần Thị Mai", "45 Đường Lê Lợi", "Hồ Chí Minh", "Quận 1", "Phường Bến Nghé",
         "84987654321", ""),
        ("Lê Minh Tuấn", "78 Đường Nguyễn Văn Linh", "Đà Nẵng", "Quận Hải Châu",
         "Phường Hòa Thuận Tây", "84905556677", ""),
    ],
    "ID": [
        ("Budi Santoso", "Jl. Melati No. 12 RT 03/RW 02", "DKI Jakarta", "Jakarta Selatan",
         "Kebayoran Baru", "6281234567890", "12130"),
        ("Dewi Lestari", "Jl. Dago No. 45", "Jawa Barat", "Bandung", "Coblong", "6285712345678",
         "40135"),
        ("Andi Pratama", "Jl. Raya Darmo No. 8", "Jawa Timur", "Surabaya", "Wonokromo",
         "6281398765432", "60241"),
    ],
}  # fmt: skip
ORDERS_PER_COUNTRY = {"MY": 20, "SG": 12, "PH": 16, "TH": 16, "VN": 12, "ID": 14}


def _mask(name: str) -> str:
    return name[0] + "***" + name[-1]


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%d %b %Y %H:%M")


def _price(sku: str, country: str) -> int:
    _, factor, step, _ = COUNTRY[country]
    return max(step, round(BASE_PRICE[sku] * factor / step) * step)


def build_rows(rng: random.Random) -> list[dict]:
    """Every unit row of the export as {column: text}."""
    rows: list[dict] = []
    order_seq = 0
    for country, n_orders in ORDERS_PER_COUNTRY.items():
        skus = list(CATALOG) + [s for s, spec in SPECIAL.items() if spec[0] == country]
        for _ in range(n_orders):
            order_seq += 1
            order_number = f"{2_101_234_560_000_00 + order_seq * 17:015d}"
            created = dt.datetime(2026, 11, 25) + dt.timedelta(minutes=rng.randrange(2 * 1440))
            person = rng.choice(PEOPLE[country])
            n_skus = 1 if rng.random() < 0.7 else rng.choice((2, 2, 3))
            kind = rng.random()
            order_status = (
                "canceled" if kind < 0.08 else
                "shipped" if kind < 0.2 and created.day == 25 else
                "delivered" if kind < 0.25 and created.day == 25 else
                "ready_to_ship" if kind < 0.45 else "pending"
            )  # fmt: skip
            for sku in rng.sample(skus, n_skus):
                units = 1 if rng.random() < 0.75 else rng.choice((2, 2, 3, 4))
                for _ in range(units):
                    status = order_status
                    if status in ("pending", "ready_to_ship") and rng.random() < 0.06:
                        status = "canceled"  # one unit of a live order cancelled
                    rows.append(_row(rng, country, order_number, created, person, sku, status))
    for i, row in enumerate(rows):
        row["orderItemId"] = f"{2_101_234_570_000_00 + i * 7:015d}"
    return rows


def _row(rng, country, order_number, created, person, sku, status) -> dict:
    name, street, addr3, addr4, addr5, phone, postcode = person
    if sku in CATALOG:
        item_name, variation = CATALOG[sku][:2]
    else:
        item_name, variation = SPECIAL[sku][1:3]
    unit = _price(sku, country)
    step = COUNTRY[country][2]
    discount = -((unit * rng.choice((0, 0, 5, 10)) // 100) // step) * step
    platform = -step * 5 if rng.random() < 0.15 else 0
    lazada_id = str(3_000_000_000 + sum(map(ord, sku)) * 131)
    shipped = status in ("shipped", "delivered")
    row = dict.fromkeys(LAZADA_EXPORT_COLUMNS, "")
    row.update(
        {
            "orderType": "Normal",
            "deliveryType": "dropship",
            "lazadaId": lazada_id,
            "sellerSku": sku,
            "lazadaSku": f"{lazada_id}_{country}-{15_000_000_000 + sum(map(ord, sku)) * 977}",
            "wareHouse": "dropshipping",
            "createTime": _stamp(created),
            "updateTime": _stamp(created + dt.timedelta(minutes=rng.randrange(30, 600))),
            "rtsSla": _stamp(created + dt.timedelta(days=2)),
            "ttsSla": _stamp(created + dt.timedelta(days=5)),
            "orderNumber": order_number,
            "invoiceRequired": "No",
            "deliveredDate": _stamp(created + dt.timedelta(hours=30))
            if status == "delivered"
            else "",
            "customerName": _mask(name),
            "shippingName": name,
            "shippingAddress": street,
            "shippingAddress3": addr3,
            "shippingAddress4": addr4,
            "shippingAddress5": addr5,
            "shippingPhone": phone,
            "shippingCity": addr4,
            "shippingPostCode": postcode,
            "shippingCountry": COUNTRY[country][0],
            "billingName": name,
            "billingAddr": street,
            "billingAddr3": addr3,
            "billingAddr4": addr4,
            "billingAddr5": addr5,
            "billingPhone": phone,
            "billingCity": addr4,
            "billingPostCode": postcode,
            "billingCountry": COUNTRY[country][0],
            "payMethod": rng.choice(("COD", "COD", "MIXEDCARD")),
            "paidPrice": _money(unit + discount),
            "unitPrice": _money(unit),
            "sellerDiscountTotal": _money(discount),
            "platformDiscountTotal": _money(platform),
            "shippingFee": _money(0),
            "walletCredit": _money(0),
            "itemName": item_name,
            "variation": variation,
            "shippingProvider": f"LEX {country}",
            "shippingProviderType": "standard",
            "trackingCode": f"LEX{country}{order_number[-9:]}" if shipped else "",
            "promisedShippingTime": _stamp(created + dt.timedelta(days=2)),
            "status": status,
        }
    )
    if status == "canceled":
        row["buyerFailedDeliveryReturnInitiator"] = "cancellation-customer"
        row["buyerFailedDeliveryReason"] = "Change of mind"
    return row


def add_bad_rows(rows: list[dict]) -> list[str]:
    """Break a few rows the way real exports break; return what was done (for the README)."""
    notes = []

    def live(i: int) -> dict:
        return rows[i]

    live(5)["createTime"] = "31 Nov 2026 10:15"
    notes.append("row 7: createTime `31 Nov 2026 10:15` (no such day) -> BAD_DATE")
    live(17)["paidPrice"] = "12,90"
    notes.append("row 19: paidPrice `12,90` (decimal comma) -> BAD_PRICE")
    live(29)["status"] = "awaiting_pickup"
    notes.append("row 31: status `awaiting_pickup` -> UNKNOWN_STATUS")
    live(41)["shippingAddress"] = '=HYPERLINK("http://evil.example","Track parcel")'
    notes.append("row 43: shippingAddress is a spreadsheet formula -> FORMULA_INJECTION")
    live(53)["orderItemId"] = "2.10123457E+14"
    notes.append("row 55: orderItemId in scientific notation -> BAD_ID")
    live(65)["sellerSku"] = ""
    notes.append("row 67: sellerSku empty -> MISSING_VALUE")
    twin = dict(rows[77])
    twin["sellerSku"] = "BAG-TOTE-GRY" if twin["sellerSku"] != "BAG-TOTE-GRY" else "BAG-TOTE-BLK"
    rows.insert(78, twin)
    notes.append("rows 79-80: one orderItemId twice with different sellerSku -> DUPLICATE_CONFLICT")
    return notes


def earlier_export(rows: list[dict]) -> list[dict]:
    """The same shop's export taken at noon on the 26th: fewer orders, older statuses."""
    earlier = []
    for row in rows:
        created = dt.datetime.strptime(row["createTime"], "%d %b %Y %H:%M")
        if created >= XLSX_CUTOFF:
            continue
        row = dict(row)
        if row["status"] in ("shipped", "delivered"):
            row["status"] = "ready_to_ship"
            row["trackingCode"] = row["deliveredDate"] = ""
        row["updateTime"] = row["createTime"]
        earlier.append(row)
    return earlier


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=LAZADA_EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_xlsx(rows: list[dict], path: Path) -> None:
    """Phones, postcodes, prices and every third orderItemId as numbers, as Excel stores them."""
    numeric = {"shippingPhone", "billingPhone", "shippingPostCode", "billingPostCode",
               "paidPrice", "unitPrice", "sellerDiscountTotal", "platformDiscountTotal",
               "shippingFee", "walletCredit"}  # fmt: skip
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("sheet1")
    sheet.write_row(0, 0, LAZADA_EXPORT_COLUMNS)
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(LAZADA_EXPORT_COLUMNS):
            value = row[name]
            as_number = name in numeric or (name == "orderItemId" and r % 3 == 0)
            if value and as_number:
                sheet.write_number(r, c, float(value))
            elif value:
                sheet.write_string(r, c, value)
    book.close()


def write_sku_map(path: Path) -> None:
    header = ["marketplace", "country", "seller_sku", "platform_item_id", "platform_sku_id",
              "source_platform", "source_item_id", "source_sku_id", "source_spec_id",
              "source_sku_props", "qty_multiplier", "supplier_shop", "status", "source_url"]  # fmt: skip
    out = []
    for country in COUNTRY:
        for sku, (_, _, target) in CATALOG.items():
            out.append(_map_row(country, sku, target, "approved"))
    for sku, (country, _, _, target, status) in SPECIAL.items():
        if target is not None:
            out.append(_map_row(country, sku, target, status))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(out)


def _map_row(country: str, sku: str, target: tuple, status: str) -> list[str]:
    platform, item, sku_id, spec, props, multiplier = target
    lazada_id = 3_000_000_000 + sum(map(ord, sku)) * 131
    url = (
        f"https://item.taobao.com/item.htm?id={item}"
        if platform == "taobao"
        else f"https://detail.1688.com/offer/{item}.html"
    )
    shop = "某某箱包旗舰店" if platform == "taobao" else "义乌某某服饰厂"
    return ["lazada", country, sku, str(lazada_id), str(15_000_000_000 + sum(map(ord, sku)) * 977),
            platform, item, sku_id, spec, props, str(multiplier), shop, status, url]  # fmt: skip


def main() -> None:
    rng = random.Random(20261126)
    rows = build_rows(rng)
    notes = add_bad_rows(rows)
    write_csv(rows, CSV_PATH)
    write_xlsx(earlier_export([r for r in rows if r not in _bad(rows)]), XLSX_PATH)
    write_sku_map(MAP_PATH)
    print(f"{len(rows)} rows, {len({r['orderNumber'] for r in rows})} orders")
    print("\n".join(notes))


def _bad(rows: list[dict]) -> list[dict]:
    """The deliberately broken rows, kept out of the (earlier, clean) xlsx export."""
    return [rows[i] for i in (5, 17, 29, 41, 53, 65, 78)]


if __name__ == "__main__":
    main()
