"""Shopee Seller Centre order exports (xlsx, or the CSV fallback), in the shop's language.

One row per order line (an SKU of an order) with its `Quantity`; order-level values (status,
dates, receiver) repeat on every line. The headers are English (MY, SG; PH with `(PHP)`
suffixes on money columns), Thai, Vietnamese or Chinese; a CSV may start with title rows above
the header and be encoded cp874 (TH). A line is (Order ID, SKU Reference No.): the variation
SKU, or the parent SKU where the variation has none; it is also the SKU-map key. The line's
amount is Deal Price x Quantity. The shop country is the `Country` column, or the currency of a
header suffix such as `(PHP)`, and the two must agree.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from schemas.marketplaces import COUNTRIES, CURRENCIES
from schemas.types import MONEY_TYPE
from transforms import cells as c
from transforms.formats import ExportFormat, Field, HeaderMatch, Vocabulary
from transforms.normalise import Cells, Rules, unknown_status

F = Field
# English, Thai, Vietnamese, Chinese (Simplified, then Traditional) names of each column.
FIELDS = {
    "order_number": F(("Order ID", "หมายเลขคำสั่งซื้อ", "Mã đơn hàng", "订单编号", "訂單編號"),
                      "code", True, 40),
    "status": F(("Order Status", "สถานะการสั่งซื้อ", "Trạng Thái Đơn Hàng", "订单状态", "訂單狀態"),
                "status", True, 200),
    "created": F(("Order Creation Date", "วันที่ทำการสั่งซื้อ", "Ngày đặt hàng", "订单成立日期",
                  "訂單成立日期"), "date", True, 40),
    "paid_time": F(("Order Paid Time", "เวลาการชำระสินค้า", "Thời gian đơn hàng được thanh toán",
                    "买家付款时间", "買家付款時間"), "date", max_length=40),
    "ship_time": F(("Ship Time", "เวลาส่งสินค้า", "Ngày gửi hàng", "实际出货时间", "實際出貨時間"),
                   "date", max_length=40),
    "complete_time": F(("Order Complete Time", "เวลาที่ทำการสั่งซื้อสำเร็จ",
                        "Thời gian hoàn thành đơn hàng", "订单完成时间", "訂單完成時間"),
                       "date", max_length=40),
    "seller_sku": F(("SKU Reference No.", "เลขอ้างอิง SKU (SKU Reference No.)", "SKU phân loại hàng",
                     "商品选项货号", "商品選項貨號"), "text", True, 200, fallback="parent_sku"),
    "parent_sku": F(("Parent SKU Reference No.", "เลขอ้างอิง Parent SKU", "SKU sản phẩm", "主商品货号",
                     "主商品貨號"), "text", max_length=200),
    "item_name": F(("Product Name", "ชื่อสินค้า", "Tên sản phẩm", "商品名称", "商品名稱"),
                   "text", max_length=1000),
    "variation": F(("Variation Name", "ชื่อตัวเลือก", "Tên phân loại hàng", "商品选项名称",
                    "商品選項名稱"), "text", max_length=500),
    "unit_price": F(("Original Price", "ราคาตั้งต้น", "Giá gốc", "商品原价", "商品原價"),
                    "money", max_length=40),
    "deal_price": F(("Deal Price", "ราคาขาย", "Giá ưu đãi", "商品活动价格", "商品活動價格"),
                    "money", True, 40),
    "quantity": F(("Quantity", "จำนวน", "Số lượng", "数量", "數量"), "quantity", True, 20),
    "name": F(("Receiver Name", "ชื่อผู้รับ", "Tên Người nhận", "收件人", "收件者姓名"),
              "text", max_length=200, pii="name"),
    "phone": F(("Phone Number", "หมายเลขโทรศัพท์", "Số điện thoại", "电话号码", "收件者電話"),
               "phone", max_length=40, pii="phone"),
    "address": F(("Delivery Address", "ที่อยู่ในการจัดส่ง", "Địa chỉ nhận hàng", "收件地址"),
                 "text", max_length=500, pii="address"),
    "town": F(("Town",), "text", max_length=200),
    "district": F(("District", "เขต/อำเภอ", "Quận", "行政区", "行政區"), "text", max_length=200),
    "city": F(("City", "TP / Quận / Huyện", "城市"), "text", max_length=200),
    "province": F(("Province", "State", "จังหวัด", "Tỉnh/Thành phố", "省/州"),
                  "text", max_length=200),
    "region": F(("Region",), "text", max_length=200),
    "zip": F(("Zip Code", "รหัสไปรษณีย์", "邮政编码", "郵遞區號"), "text", max_length=20,
             pii="postcode"),
    "country": F(("Country", "ประเทศ", "Quốc gia", "国家", "國家"), "text", max_length=100),
}  # fmt: skip
DATES = (
    ("%Y-%m-%d %H:%M", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
    ("%Y-%m-%d %H:%M:%S", r"^\d{4}-\d{2}-(?P<d>\d{2})"),
)
# Display values of Order Status (the API's order_status names are accepted as they are). The
# Thai ones are from a real export; the English, Vietnamese and Chinese ones are likely but not
# all verified (docs/ingest.md).
STATUSES = Vocabulary(
    "shopee",
    "Shopee order status",
    names={
        "Unpaid": "unpaid", "To ship": "ready_to_ship", "Shipping": "shipped",
        "Delivered": "to_confirm_receive", "Completed": "completed", "Cancelled": "cancelled",
        "Canceled": "cancelled", "Return/Refund": "to_return",
        "ที่ต้องชำระ": "unpaid", "ที่ต้องจัดส่ง": "ready_to_ship", "การจัดส่ง": "shipped",
        "จัดส่งสำเร็จแล้ว": "to_confirm_receive", "สำเร็จแล้ว": "completed", "ยกเลิกแล้ว": "cancelled",
        "Chờ thanh toán": "unpaid", "Chờ xác nhận": "unpaid", "Chờ lấy hàng": "ready_to_ship",
        "Đang giao": "shipped", "Đã giao": "to_confirm_receive", "Hoàn thành": "completed",
        "Đã hủy": "cancelled", "Trả hàng/Hoàn tiền": "to_return",
        "待付款": "unpaid", "待出货": "ready_to_ship", "待出貨": "ready_to_ship",
        "运送中": "shipped", "運送中": "shipped", "已完成": "completed", "已取消": "cancelled",
        "不成立": "cancelled", "退货/退款": "to_return", "退貨/退款": "to_return",
    },
    # "received; the buyer may ask for a refund until 2026-06-07": the date varies
    prefixes=(("ผู้ซื้อได้รับสินค้าแล้ว", "to_confirm_receive"),),
)  # fmt: skip


def _style(columns: dict[str, str]) -> str:
    """The header's language: en, th, vi or zh."""
    name = columns.get("order_number", "")
    if re.search(r"[\u0E00-\u0E7F]", name):
        return "th"
    if re.search(r"[\u4E00-\u9FFF]", name):
        return "zh"
    if re.search(r"[^\x00-\x7F]", name):
        return "vi"
    return "en"


FORMAT = ExportFormat(
    marketplace="shopee",
    fields=FIELDS,
    signature=("order_number", "seller_sku"),
    dates=DATES,
    dates_example="2026-03-14 09:12",
    statuses=STATUSES,
    style=_style,
    encodings=("utf-8", "cp874"),
)


class ShopeeReader:
    format = FORMAT

    def status(self, cells: Cells, rules: Rules) -> pa.Array:
        status = STATUSES.canonical(cells.raw("status"))
        unknown_status(rules, cells, "status", status)
        return status

    def country(self, cells: Cells, match: HeaderMatch, rules: Rules) -> pa.Array:
        by_name = c.country_from_name(cells.raw("country"))
        by_header = c.constant(CURRENCIES.get(match.currency or ""), cells.n)
        country = pc.coalesce(by_name, by_header)
        rules.add(
            "UNKNOWN_COUNTRY",
            "country",
            "the shop country is not in Country nor a currency suffix of the header "
            f"(one of {', '.join(COUNTRIES)})",
            pc.is_null(country),
        )
        rules.add(
            "COUNTRY_MISMATCH",
            "country",
            f"Country is not the country of the header's ({match.currency}) amounts",
            pc.not_equal(by_name, by_header),
        )
        return country

    def line(self, cells: Cells) -> dict[str, c.Column]:
        order_number = cells.value("order_number")
        seller_sku = cells.text("seller_sku")
        quantity = cells.value("quantity")
        paid = pc.multiply(cells.value("deal_price"), pc.cast(quantity, pa.decimal128(19, 0)))
        times = [cells.value(k) for k in ("created", "paid_time", "ship_time", "complete_time")
                 if cells.has(k)]  # fmt: skip
        city = cells.raw("city")
        return {
            "order_number": order_number,
            "order_line_id": pc.binary_join_element_wise(order_number, seller_sku, ":"),
            "seller_sku": seller_sku,
            "platform_sku_id": pa.nulls(cells.n, pa.string()),
            "quantity": quantity,
            "unit_price": cells.value("unit_price"),
            "paid_price": pc.cast(paid, MONEY_TYPE),
            "created": cells.value("created"),
            "updated": pc.max_element_wise(*times, skip_nulls=True),
            "item_name": cells.raw("item_name"),
            "variation": cells.raw("variation"),
            "name": cells.raw("name"),
            "phones": [cells.raw("phone")],
            "address": cells.raw("address"),
            "state": pc.coalesce(cells.raw("province"), cells.raw("region")),
            "city": pc.coalesce(city, cells.raw("district")),  # PH files have no City
            "district": pc.coalesce(
                cells.raw("town"), pc.if_else(pc.is_valid(city), cells.raw("district"), c.NULL_TEXT)
            ),
            "zip": cells.raw("zip"),
        }


READER = ShopeeReader()
