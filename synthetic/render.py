"""Order lines (synthetic.orders) -> a marketplace export table: the real header, every cell text.

- `lazada(lines)`: one row per unit (a line of 3 is three rows), the 77 camelCase columns (or
  the legacy display names);
- `shopee(lines, language)`: one row per line, headers in English (`en`; PH `en_ph` with the
  `(PHP)` suffixes), Thai, Vietnamese or Chinese, order-level values repeated on every line;
- `tiktok(lines, layout)`: one row per line, English headers, the address columns of the
  shop's country (`th`, `my`, `vn`, `id`), times ending in a TAB, `(+66)...` phones.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import exports
from synthetic.orders import STAGES, join, pick, text
from synthetic.world import COUNTRIES, COUNTRY_NAMES, PRICE_STEP

NULL = pa.scalar(None, pa.string())


def money(cents: pa.Array | np.ndarray, *, whole: pa.Array | None = None) -> pa.Array:
    """Cents -> "42.90" (never through float); where `whole`, without decimals ("150000")."""
    cents = np.asarray(cents, np.int64)
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    mag = np.abs(cents)
    full = join(sign, text(mag // 100), ".", pc.utf8_lpad(text(mag % 100), 2, "0"))
    return full if whole is None else pc.if_else(whole, join(sign, text(mag // 100)), full)


def stamp(times: pa.Array, fmt: str, shift_s: np.ndarray | int = 0) -> pa.Array:
    values = np.asarray(times.to_numpy(zero_copy_only=False), "datetime64[s]")
    return pc.strftime(pa.array(values + np.asarray(shift_s).astype("timedelta64[s]")), format=fmt)


def _stage(lines: pa.Table) -> np.ndarray:
    return pc.index_in(lines["stage"], value_set=pa.array(list(STAGES))).to_numpy()


def _cents(lines: pa.Table, name: str) -> np.ndarray:
    return lines[name].to_numpy()


def _country(lines: pa.Table) -> np.ndarray:
    return pc.index_in(lines["country"], value_set=pa.array(list(COUNTRIES))).to_numpy()


def _when(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), values, NULL)


def _thai(values: pa.Array) -> pa.Array:
    """The Thai half of Lazada's bilingual `ไทย/ English` region names (as Shopee and TikTok TH
    write them)."""
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(values, r"/.*$", ""))


def _table(columns: tuple[str, ...], values: dict[str, pa.Array], n: int) -> pa.Table:
    unknown = set(values) - set(columns)
    assert not unknown, f"not in the header: {unknown}"
    blank = pa.nulls(n, pa.string())
    return pa.table({name: values.get(name, blank) for name in columns})


# --- Lazada ---------------------------------------------------------------------------------------

LAZADA_STATUS = ("unpaid", "pending", "ready_to_ship", "shipped", "delivered", "canceled")
LEGACY_NAMES = {  # current name -> legacy display name
    "orderItemId": "Order Item Id", "lazadaId": "Lazada Id", "sellerSku": "Seller SKU",
    "lazadaSku": "Lazada SKU", "createTime": "Created at", "updateTime": "Updated at",
    "orderNumber": "Order Number", "customerName": "Customer Name", "shippingName": "Shipping Name",
    "shippingAddress": "Shipping Address", "shippingAddress2": "Shipping Address2",
    "shippingAddress3": "Shipping Address3", "shippingAddress4": "Shipping Address4",
    "shippingAddress5": "Shipping Address5", "shippingPhone": "Shipping Phone Number",
    "shippingPhone2": "Shipping Phone Number2", "shippingCity": "Shipping City",
    "shippingPostCode": "Shipping Postcode", "shippingCountry": "Shipping Country",
    "payMethod": "Payment Method", "paidPrice": "Paid Price", "unitPrice": "Unit Price",
    "itemName": "Item Name", "variation": "Variation", "status": "Status",
}  # fmt: skip


def lazada(lines: pa.Table, *, seed: int = 1, legacy: bool = False) -> pa.Table:
    """One row per unit, with its own `orderItemId`."""
    units = lines.take(pa.array(np.repeat(np.arange(lines.num_rows), _cents(lines, "quantity"))))
    n = units.num_rows
    stage = _stage(units)
    cc = units["country"]
    unit, discount = _cents(units, "unit_cents"), _cents(units, "discount_cents")
    first_unit = np.r_[True, units["order_number"].to_numpy(zero_copy_only=False)[1:]
                       != units["order_number"].to_numpy(zero_copy_only=False)[:-1]] if n else np.zeros(0, bool)  # fmt: skip
    step = np.array(PRICE_STEP)[_country(units)]
    fmt = "%d %b %Y %H:%M"
    name = units["name"]
    shipped = stage >= 3
    values = {
        "orderItemId": text(400_000_000_000_000 + seed * 10_000_000_000 + np.arange(n) * 3),
        "orderType": pick(["Normal"], np.zeros(n)),
        "deliveryType": pick(["dropship"], np.zeros(n)),
        "lazadaId": units["platform_item_id"],
        "sellerSku": units["seller_sku"],
        "lazadaSku": join(units["platform_item_id"], "_", cc, "-", units["platform_sku_id"]),
        "wareHouse": pick(["dropshipping"], np.zeros(n)),
        "createTime": stamp(units["created"], fmt),
        "updateTime": stamp(units["updated"], fmt),
        "rtsSla": stamp(units["created"], fmt, 2 * 86_400),
        "ttsSla": stamp(units["created"], fmt, 5 * 86_400),
        "orderNumber": units["order_number"],
        "invoiceRequired": pick(["No"], np.zeros(n)),
        "deliveredDate": _when(stage == 4, stamp(units["created"], fmt, 3 * 86_400)),
        "customerName": join(pc.utf8_slice_codeunits(name, 0, 1), "***", pc.utf8_slice_codeunits(name, -1)),
        "shippingName": name, "billingName": name,
        "shippingAddress": units["street"], "billingAddr": units["street"],
        "shippingAddress3": units["state"], "billingAddr3": units["state"],
        "shippingAddress4": units["city"], "billingAddr4": units["city"],
        "shippingAddress5": units["district"], "billingAddr5": units["district"],
        "shippingPhone": units["phone"], "billingPhone": units["phone"],
        "shippingCity": units["city"], "billingCity": units["city"],
        "shippingPostCode": units["postcode"], "billingPostCode": units["postcode"],
        "shippingCountry": pick(COUNTRY_NAMES, _country(units)),
        "billingCountry": pick(COUNTRY_NAMES, _country(units)),
        "payMethod": pick(["COD", "COD", "MIXEDCARD", "Lazada Wallet"], np.arange(n) % 4),
        "paidPrice": money(unit - discount),
        "unitPrice": money(unit),
        "sellerDiscountTotal": money(-discount),
        "platformDiscountTotal": money(-_cents(units, "platform_discount_cents")),
        "shippingFee": money(np.where(first_unit, step * 49, 0)),
        "walletCredit": money(np.zeros(n, np.int64)),
        "itemName": units["item_name"],
        "variation": units["variation"],
        "shippingProvider": join("LEX ", cc),
        "shippingProviderType": pick(["standard"], np.zeros(n)),
        "trackingCode": _when(shipped, join("LEX", cc, pc.utf8_slice_codeunits(units["order_number"], -9))),
        "promisedShippingTime": stamp(units["created"], fmt, 2 * 86_400),
        "status": pick(LAZADA_STATUS, stage),
        "buyerFailedDeliveryReturnInitiator": _when(stage == 5, pick(["cancellation-customer"], np.zeros(n))),
        "buyerFailedDeliveryReason": _when(stage == 5, pick(["Change of mind"], np.zeros(n))),
    }  # fmt: skip
    table = _table(exports.LAZADA_CURRENT, values, n)
    if legacy:
        table = table.select([c for c in table.column_names if c in LEGACY_NAMES])
        table = table.rename_columns([LEGACY_NAMES[c] for c in table.column_names])
        table = table.select([c for c in exports.LAZADA_LEGACY if c in table.column_names])
    return table


# --- Shopee ---------------------------------------------------------------------------------------

SHOPEE_HEADERS = {"en": exports.SHOPEE_EN, "en_ph": exports.SHOPEE_EN_PH, "th": exports.SHOPEE_TH,
                  "vi": exports.SHOPEE_VI, "zh": exports.SHOPEE_ZH}  # fmt: skip
# The name in each language's header of the (English) columns the generator fills; None: the
# language's export has no such column.
_SHOPEE_NAMES = {
    "en": {}, "en_ph": {"City": "District"},  # PH: Town (barangay), District (city), Province
    "th": {"Order ID": "หมายเลขคำสั่งซื้อ", "Order Status": "สถานะการสั่งซื้อ",
           "Order Creation Date": "วันที่ทำการสั่งซื้อ", "Order Paid Time": "เวลาการชำระสินค้า",
           "Ship Time": "เวลาส่งสินค้า", "Order Complete Time": "เวลาที่ทำการสั่งซื้อสำเร็จ",
           "Parent SKU Reference No.": "เลขอ้างอิง Parent SKU", "Product Name": "ชื่อสินค้า",
           "SKU Reference No.": "เลขอ้างอิง SKU (SKU Reference No.)", "Variation Name": "ชื่อตัวเลือก",
           "Original Price": "ราคาตั้งต้น", "Deal Price": "ราคาขาย", "Quantity": "จำนวน",
           "Receiver Name": "ชื่อผู้รับ", "Phone Number": "หมายเลขโทรศัพท์",
           "Delivery Address": "ที่อยู่ในการจัดส่ง", "Country": "ประเทศ", "Province": "จังหวัด",
           "City": "เขต/อำเภอ", "Zip Code": "รหัสไปรษณีย์", "Town": None},
    "vi": {"Order ID": "Mã đơn hàng", "Order Status": "Trạng Thái Đơn Hàng",
           "Order Creation Date": "Ngày đặt hàng", "Order Paid Time": "Thời gian đơn hàng được thanh toán",
           "Ship Time": "Ngày gửi hàng", "Order Complete Time": "Thời gian hoàn thành đơn hàng",
           "Parent SKU Reference No.": "SKU sản phẩm", "Product Name": "Tên sản phẩm",
           "SKU Reference No.": "SKU phân loại hàng", "Variation Name": "Tên phân loại hàng",
           "Original Price": "Giá gốc", "Deal Price": "Giá ưu đãi", "Quantity": "Số lượng",
           "Receiver Name": "Tên Người nhận", "Phone Number": "Số điện thoại",
           "Delivery Address": "Địa chỉ nhận hàng", "Country": "Quốc gia",
           "Province": "Tỉnh/Thành phố", "City": "TP / Quận / Huyện", "Town": "Quận",
           "Zip Code": None},
    "zh": {"Order ID": "订单编号", "Order Status": "订单状态", "Order Creation Date": "订单成立日期",
           "Order Paid Time": "买家付款时间", "Ship Time": "实际出货时间", "Order Complete Time": "订单完成时间",
           "Parent SKU Reference No.": "主商品货号", "Product Name": "商品名称",
           "SKU Reference No.": "商品选项货号", "Variation Name": "商品选项名称",
           "Original Price": "商品原价", "Deal Price": "商品活动价格", "Quantity": "数量",
           "Receiver Name": "收件人", "Phone Number": "电话号码", "Delivery Address": "收件地址",
           "Country": "国家", "Province": "省/州", "City": "城市", "Town": "行政区",
           "Zip Code": "邮政编码"},
}  # fmt: skip
SHOPEE_STATUS = {  # stage -> Order Status, by language
    "en": ("Unpaid", "To ship", "To ship", "Shipping", "Completed", "Cancelled"),
    "th": ("ที่ต้องชำระ", "ที่ต้องจัดส่ง", "ที่ต้องจัดส่ง", "การจัดส่ง", "สำเร็จแล้ว", "ยกเลิกแล้ว"),
    "vi": ("Chờ thanh toán", "Chờ lấy hàng", "Chờ lấy hàng", "Đang giao", "Hoàn thành", "Đã hủy"),
    "zh": ("待付款", "待出货", "待出货", "运送中", "已完成", "已取消"),
}
SHOPEE_COUNTRY = {  # how the Country column names the country, by language
    "en": COUNTRIES, "th": ("มาเลเซีย", "สิงคโปร์", "ฟิลิปปินส์", "ไทย", "เวียดนาม", "อินโดนีเซีย"),
    "vi": ("Malaysia", "Singapore", "Philippines", "Thailand", "Việt Nam", "Indonesia"),
    "zh": ("马来西亚", "新加坡", "菲律宾", "泰国", "越南", "印度尼西亚"),
}  # fmt: skip


def shopee(lines: pa.Table, language: str = "en") -> pa.Table:
    """One row per line; order-level values (status, times, receiver) on every line."""
    n = lines.num_rows
    base = language.split("_")[0]
    stage = _stage(lines)
    unit, discount = _cents(lines, "unit_cents"), _cents(lines, "discount_cents")
    quantity = _cents(lines, "quantity")
    whole = pa.array(np.isin(_country(lines), [COUNTRIES.index("VN"), COUNTRIES.index("ID")]))
    fmt = "%Y-%m-%d %H:%M"
    state, city, district = (lines[k] if base != "th" else _thai(lines[k])
                             for k in ("state", "city", "district"))  # fmt: skip
    address = join(lines["street"], ", ", district, ", ", pc.fill_null(lines["postcode"], ""), " ",
                   city, ", ", state)  # fmt: skip
    seller_sku = lines["seller_sku"]
    english = {
        "Order ID": lines["order_number"],
        "Order Status": pick(SHOPEE_STATUS[base], stage),
        "Order Creation Date": stamp(lines["created"], fmt),
        "Order Paid Time": _when(stage > 0, stamp(lines["created"], fmt, 60)),
        "Ship Time": _when(stage >= 3, stamp(lines["created"], fmt, 86_400)),
        "Order Complete Time": _when(stage == 4, stamp(lines["created"], fmt, 4 * 86_400)),
        "Parent SKU Reference No.": pc.replace_substring_regex(seller_sku, r"-[^-]*$", ""),
        "Product Name": lines["item_name"],
        "SKU Reference No.": seller_sku,
        "Variation Name": lines["variation"],
        "Original Price": money(unit, whole=whole),
        "Deal Price": money(unit - discount, whole=whole),
        "Quantity": text(quantity),
        "Product Subtotal": money((unit - discount) * quantity, whole=whole),
        "Receiver Name": lines["name"],
        "Phone Number": lines["phone"],
        "Delivery Address": address,
        "Town": district,
        "City": city,
        "Province": state,
        "Country": pick(SHOPEE_COUNTRY[base], _country(lines)),
        "Zip Code": lines["postcode"],
    }
    names = _SHOPEE_NAMES[language]
    values = {names.get(k, k): v for k, v in english.items() if names.get(k, k) is not None}
    header = SHOPEE_HEADERS[language]
    return _table(header, {k: v for k, v in values.items() if k in header}, n)


# --- TikTok Shop ----------------------------------------------------------------------------------

TIKTOK_HEADERS = {"th": exports.TIKTOK_TH, "my": exports.TIKTOK_MY, "vn": exports.TIKTOK_VN,
                  "id": exports.TIKTOK_ID}  # fmt: skip
TIKTOK_STATUS = ("Unpaid", "To ship", "To ship", "Shipped", "Completed", "Cancelled")
TIKTOK_SUBSTATUS = ("Unpaid", "Awaiting shipment", "Awaiting collection", "In transit",
                    "Delivered", "Cancelled")  # fmt: skip


def tiktok(lines: pa.Table, layout: str = "th") -> pa.Table:
    """One row per line; order-level values on every line; times end with a TAB."""
    n = lines.num_rows
    stage = _stage(lines)
    unit, discount = _cents(lines, "unit_cents"), _cents(lines, "discount_cents")
    platform, quantity = _cents(lines, "platform_discount_cents"), _cents(lines, "quantity")
    whole = pa.array(np.isin(_country(lines), [COUNTRIES.index("VN"), COUNTRIES.index("ID")]))
    fmt = "%d/%m/%Y %H:%M:%S\t"
    phone = lines["phone"]
    dialled = join(
        "(+", pc.utf8_slice_codeunits(phone, 0, 2), ")", pc.utf8_slice_codeunits(phone, 2)
    )
    masked = join(
        pc.utf8_slice_codeunits(dialled, 0, 7), "*****", pc.utf8_slice_codeunits(phone, -2)
    )
    thai = pa.array(_country(lines) == COUNTRIES.index("TH"))
    state, city, district = (pc.if_else(thai, _thai(lines[k]), lines[k])
                             for k in ("state", "city", "district"))  # fmt: skip
    values = {
        "Order ID": lines["order_number"],
        "Order Status": pick(TIKTOK_STATUS, stage),
        "Order Substatus": pick(TIKTOK_SUBSTATUS, stage),
        "Normal or Pre-order": pick(["Normal"], np.zeros(n)),
        "SKU ID": join("17", pc.utf8_lpad(lines["platform_sku_id"], 17, "0")),
        "Seller SKU": lines["seller_sku"],
        "Product Name": lines["item_name"],
        "Variation": lines["variation"],
        "Quantity": text(quantity),
        "Sku Quantity of return": pick(["0"], np.zeros(n)),
        "SKU Unit Original Price": money(unit, whole=whole),
        "SKU Subtotal Before Discount": money(unit * quantity, whole=whole),
        "SKU Platform Discount": money(platform * quantity, whole=whole),
        "SKU Seller Discount": money(discount * quantity, whole=whole),
        "SKU Subtotal After Discount": money((unit - discount - platform) * quantity, whole=whole),
        "Created Time": stamp(lines["created"], fmt),
        "Paid Time": _when(stage > 0, stamp(lines["created"], fmt, 29)),
        "RTS Time": _when(stage >= 2, stamp(lines["created"], fmt, 3_600)),
        "Shipped Time": _when(stage >= 3, stamp(lines["created"], fmt, 86_400)),
        "Delivered Time": _when(stage == 4, stamp(lines["created"], fmt, 3 * 86_400)),
        "Cancelled Time": _when(stage == 5, stamp(lines["created"], fmt, 7_200)),
        "Cancel By": _when(stage == 5, pick(["User"], np.zeros(n))),
        "Fulfillment Type": pick(["Fulfillment by seller"], np.zeros(n)),
        "Warehouse Name": pick(["Main Warehouse"], np.zeros(n)),
        "Delivery Option": pick(["Standard shipping"], np.zeros(n)),
        "Buyer Username": join(
            pc.utf8_lower(pc.utf8_slice_codeunits(lines["name"], 0, 4)),
            ".",
            pc.utf8_slice_codeunits(lines["order_number"], -3),
        ),
        "Recipient": lines["name"],
        "Phone #": pc.if_else(pa.array(stage == 4), masked, dialled),  # masked once completed
        "Zipcode": lines["postcode"],
        "Country": pick(COUNTRY_NAMES, _country(lines)),
        "Province": state,
        "State": state,
        "District": city,
        "Regency and City": city,
        "Post Town": city,
        "Districts": district,
        "Commune": district,
        "Detail Address": lines["street"],
        "Payment Method": pick(["Cash on delivery"], np.zeros(n)),
    }
    header = TIKTOK_HEADERS[layout]
    return _table(header, {k: v for k, v in values.items() if k in header}, n)


def tiktok_description(header: tuple[str, ...]) -> list[str]:
    """Row 2 of a TikTok export: what some columns mean."""
    return [exports.TIKTOK_DESCRIPTIONS.get(name, "") for name in header]
