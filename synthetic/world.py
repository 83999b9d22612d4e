"""The made-up shops' world: countries, people, addresses, items. Synthetic, realistic formats."""

from __future__ import annotations

COUNTRIES = ("MY", "SG", "PH", "TH", "VN", "ID")
COUNTRY_NAMES = ("Malaysia", "Singapore", "Philippines", "Thailand", "Vietnam", "Indonesia")
# price step in minor units (cents) per country: VND and IDR have no real decimals
PRICE_STEP = (10, 10, 100, 100, 100_000, 100_000)
PHONE = ((601, 8), (658, 7), (639, 9), (668, 8), (849, 8), (628, 10))  # (prefix, random digits)
POSTCODE_DIGITS = (5, 6, 4, 5, 0, 5)  # VN exports leave it blank
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
STREETS = (  # each template has one {n} then one {m}; MY uses a full-width comma once
    ("No. {n}, Jalan Mawar {m}/2, Taman Sri Melati", "{n}, Jalan SS2/{m}，Petaling Jaya"),
    ("Blk {n} Tampines Street 81, #08-{m}", "{n} Clementi Ave 3, #12-{m}"),
    ("Unit {n}B, {m} Kamuning Road", "{n} Mabini St., Brgy. {m}"),
    ("{n}/{m} ซอยสุขุมวิท 101", "{n} หมู่ {m} ถนนพหลโยธิน"),
    ("Số {n} Ngõ {m} Phố Huế", "{n} Đường Lê Lợi, Phường {m}"),
    ("Jl. Melati No. {n} RT {m}/RW 02", "Jl. Sudirman Kav. {n}, Blok {m}"),
)
REGIONS = (  # (state, city, area); TH parts are bilingual as Lazada writes them
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
ITEMS = (  # (item name, variation) of the generated catalog's SKUs
    ("Canvas Tote Bag Large Capacity Shoulder Bag", "Color Family:Black"),
    ("Silicone Cable Organiser 5pcs", "Color Family:Grey"),
    ("LED Desk Lamp Foldable USB", "Color Family:White"),
    ("เสื้อยืดคอกลม Cotton 100%", "สี:แดง, ขนาด:M"),
    ("Stainless Steel Vacuum Flask 500ml", "Capacity:500ml"),
    ("Wireless Earbuds Bluetooth 5.3 Touch Control", "Color Family:Black"),
    ("Baseball Cap Unisex Adjustable", "Color Family:Navy"),
    ("Phone Case Shockproof Clear", "Compatible Model:iPhone 15"),
)
