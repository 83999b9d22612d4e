"""The sandbox's deterministic product catalog.

Original item and SKU ids follow a fixed scheme (docs/sandbox.md) so that other code can write SKU
maps without importing this module; the distribution ids (`mpId`, `mpSkuId`), prices, stock and
suppliers are derived from them by hashing, so every process sees the same catalog. It is built
lazily on first use (about 0.1 s) so server start-up stays instant.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

TB = "TB"  # Taobao/Tmall: `item_source_market` omitted
CBU = "CBU"  # 1688: `item_source_market=CBU_MARKET`

TB_BASE_ITEM = 800_000_000_000
TB_BASE_SKU = 9_000_000_000_000
TB_GENERATED = 10_000
CBU_BASE_ITEM = 610_000_000_000
CBU_BASE_SKU = 4_900_000_000_000
CBU_GENERATED = 2_000
SUPPLIERS = 200

_COLORS = ("黑色", "白色", "灰色", "红色", "蓝色", "绿色")
_SIZES = ("S", "M", "L", "XL")


@dataclass(frozen=True, slots=True)
class Prop:
    prop_id: int
    prop_name: str
    value_id: int
    value_name: str


@dataclass(frozen=True, slots=True)
class Sku:
    sku_id: int
    spec_id: str | None  # 1688 only
    mp_sku_id: int | None  # None: not distributable
    price: int  # fen
    promotion_price: int  # fen
    stock: int
    status: str  # "normal" or e.g. "delisted"
    props: tuple[Prop, ...]

    @property
    def spec_text(self) -> str:
        return ";".join(f"{p.prop_name}:{p.value_name}" for p in self.props)


@dataclass(frozen=True, slots=True)
class Supplier:
    index: int
    nick: str
    shop_name: str
    delivery_fee: int  # fen, per supplier order


@dataclass(frozen=True, slots=True)
class Item:
    item_id: int
    market: str  # TB | CBU
    in_pool: bool
    mp_id: str | None  # 18-digit string; None when not in the pool
    title: str
    supplier: Supplier
    skus: tuple[Sku, ...]

    @property
    def price(self) -> int:
        return min(s.price for s in self.skus)

    @property
    def promotion_price(self) -> int:
        return min(s.promotion_price for s in self.skus)

    @property
    def stock(self) -> int:
        return sum(s.stock for s in self.skus)


_M64 = (1 << 64) - 1


def _h(x: int, salt: int) -> int:
    """splitmix64 of (x, salt): a cheap, stable 64-bit mix (hashlib is 5x slower here)."""
    z = (x * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def mp_id_for(item_id: int) -> str:
    """18 digits, always > 2^53: exercises exact big-id handling on every order."""
    return str(600_000_000_000_000_000 + _h(item_id, 1) % 400_000_000_000_000_000)


def mp_sku_id_for(sku_id: int) -> int:
    """A third of the SKUs get a 19-digit id (> 2^53), the rest a 13-digit one."""
    h = _h(sku_id, 2)
    if h % 3 == 0:
        return 1_000_000_000_000_000_000 + h % 8_000_000_000_000_000_000
    return 4_000_000_000_000 + h % 5_000_000_000_000


def _supplier(index: int) -> Supplier:
    fee = 0 if index % 10 == 0 else 300 + (index * 37 % 10) * 100
    return Supplier(index, f"sbx-supplier-{index:03d}", f"山景测试店{index:03d}", fee)


_SUPPLIER_LIST = tuple(_supplier(i) for i in range(SUPPLIERS))


def supplier(index: int) -> Supplier:
    return _SUPPLIER_LIST[index]


def _prices(sku_id: int) -> tuple[int, int]:
    h = _h(sku_id, 3)
    price = 300 + h % 8701
    promo = max(300, price - price * (h // 8701 % 16) // 100)
    return price, promo


def _sku(
    sku_id: int,
    props: tuple[Prop, ...],
    *,
    spec_id: str | None = None,
    stock: int | None = None,
    mp: bool = True,
    status: str = "normal",
) -> Sku:
    price, promo = _prices(sku_id)
    if stock is None:
        stock = 1000 + _h(sku_id, 4) % 9000
    return Sku(
        sku_id, spec_id, mp_sku_id_for(sku_id) if mp else None, price, promo, stock, status, props
    )


def _color(value: str) -> Prop:
    return Prop(1627207, "颜色分类", 28000 + _COLORS.index(value), value)


def _cbu_props(color: str, size: str | None) -> tuple[Prop, ...]:
    props = [Prop(3216, "颜色", 28000 + _COLORS.index(color), color)]
    if size is not None:
        props.append(Prop(450, "尺码", 20500 + _SIZES.index(size), size))
    return tuple(props)


def _item(item_id: int, market: str, sup: int, skus: tuple[Sku, ...], in_pool: bool = True) -> Item:
    kind = "淘宝" if market == TB else "1688"
    return Item(
        item_id,
        market,
        in_pool,
        mp_id_for(item_id) if in_pool else None,
        f"{kind}测试商品 {item_id}",
        supplier(sup),
        skus,
    )


def _fixed_items() -> list[Item]:
    """Hand-picked items that tests and sample SKU maps name by id (see docs/sandbox.md)."""
    return [
        _item(
            718293045561,
            TB,
            1,
            (
                _sku(5219384756012, (_color("黑色"),), stock=1200),
                _sku(5219384756013, (_color("灰色"),), stock=1500),
            ),
        ),
        _item(
            652876415053,
            TB,
            2,
            (
                _sku(4476108391170, (_color("白色"),), stock=2000),
                _sku(4476108391171, (_color("蓝色"),), stock=2000),
            ),
        ),
        _item(
            554456348334,
            CBU,
            3,
            (
                _sku(
                    4951323355633,
                    _cbu_props("红色", "M"),
                    spec_id="b266e0726506185beaf205cbae88530d",
                    stock=5000,
                ),
                _sku(
                    4951323355634,
                    _cbu_props("红色", "L"),
                    spec_id="c266e0726506185beaf205cbae88530e",
                    stock=5000,
                ),
            ),
        ),
        _item(
            612345678901,
            CBU,
            3,
            (
                _sku(
                    4951323355700,
                    _cbu_props("黑色", None),
                    spec_id="2ba3d63866a71fbae83909d9b4814f01",
                    stock=3000,
                ),
            ),
        ),
        _item(700000000001, TB, 4, (_sku(7000000000011, (_color("黑色"),)),), in_pool=False),
        _item(700000000002, TB, 1, (_sku(7000000000021, (_color("黑色"),), mp=False),)),
        _item(700000000003, TB, 1, (_sku(7000000000031, (_color("黑色"),), stock=0),)),
        _item(700000000004, TB, 1, (_sku(7000000000041, (_color("黑色"),), status="delisted"),)),
    ]


def _generated_tb(i: int) -> Item:
    item_id = TB_BASE_ITEM + i
    low = i % 97 == 13  # a few low-stock items, to exercise SKU_UNAVAILABLE on big quantities
    skus = tuple(
        _sku(
            TB_BASE_SKU + i * 10 + j,
            (_color(_COLORS[(i + j) % len(_COLORS)]),),
            stock=3 + j if low else None,
        )
        for j in range(1 + i % 4)
    )
    return _item(item_id, TB, 10 + (i * 7) % 170, skus, in_pool=i % 50 != 49)


def _generated_cbu(i: int) -> Item:
    item_id = CBU_BASE_ITEM + i
    color = _COLORS[i % len(_COLORS)]
    skus = tuple(
        _sku(
            CBU_BASE_SKU + i * 10 + j,
            _cbu_props(color, _SIZES[j]),
            spec_id=hashlib.md5(f"{item_id}:{j}".encode()).hexdigest(),
        )
        for j in range(1 + i % 3)
    )
    return _item(item_id, CBU, 180 + i % 20, skus, in_pool=i % 50 != 49)


class Catalog:
    """Lookups the endpoints need: by original id (product/get) and by mp ids (render/create).

    Generated items are built on demand and cached; only the mpId -> item index is computed up
    front (about 12,000 hashes), which keeps the first request fast.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str, int], Item] = {
            (i.market, i.item_id): i for i in _fixed_items()
        }
        self._fixed = dict(self._items)
        self._by_mp: dict[int, tuple[str, int]] = {}
        for item in self._fixed.values():
            if item.mp_id is not None:
                self._by_mp[int(item.mp_id)] = (item.market, item.item_id)
        for market, base, count in (
            (TB, TB_BASE_ITEM, TB_GENERATED),
            (CBU, CBU_BASE_ITEM, CBU_GENERATED),
        ):
            for i in range(count):
                if i % 50 != 49:
                    self._by_mp[int(mp_id_for(base + i))] = (market, base + i)
        if len(self._by_mp) != sum(
            1 for _ in self._keys() if self._in_pool(*_)
        ):  # pragma: no cover
            raise RuntimeError("mpId collision in the catalog scheme")
        self._lock = threading.Lock()

    def _keys(self) -> Iterator[tuple[str, int]]:
        yield from self._fixed
        yield from ((TB, TB_BASE_ITEM + i) for i in range(TB_GENERATED))
        yield from ((CBU, CBU_BASE_ITEM + i) for i in range(CBU_GENERATED))

    def _in_pool(self, market: str, item_id: int) -> bool:
        fixed = self._fixed.get((market, item_id))
        if fixed is not None:
            return fixed.in_pool
        base = TB_BASE_ITEM if market == TB else CBU_BASE_ITEM
        return (item_id - base) % 50 != 49

    def product(self, item_id: int, market: str) -> Item | None:
        """The item with this original id in this market, or None."""
        key = (market, item_id)
        item = self._items.get(key)
        if item is not None:
            return item
        if market == TB and 0 <= item_id - TB_BASE_ITEM < TB_GENERATED:
            item = _generated_tb(item_id - TB_BASE_ITEM)
        elif market == CBU and 0 <= item_id - CBU_BASE_ITEM < CBU_GENERATED:
            item = _generated_cbu(item_id - CBU_BASE_ITEM)
        else:
            return None
        with self._lock:
            return self._items.setdefault(key, item)

    def mp_sku(self, mp_id: int, mp_sku_id: int) -> tuple[Item, Sku] | None:
        """The pool item and SKU behind an (`mpId`, `mpSkuId`) pair, or None."""
        key = self._by_mp.get(mp_id)
        if key is None:
            return None
        item = self.product(key[1], key[0])
        assert item is not None
        for sku in item.skus:
            if sku.mp_sku_id == mp_sku_id:
                return item, sku
        return None

    def items(self) -> Iterator[Item]:
        """Every item, fixed ones first (builds them all: for the catalog dump only)."""
        for market, item_id in self._keys():
            item = self.product(item_id, market)
            assert item is not None
            yield item


_catalog: Catalog | None = None
_lock = threading.Lock()


def get_catalog() -> Catalog:
    """The process-wide catalog."""
    global _catalog
    if _catalog is None:
        with _lock:
            if _catalog is None:
                _catalog = Catalog()
    return _catalog


def item_json(item: Item) -> dict[str, object]:
    """The catalog entry as `GET /_sandbox/catalog` shows it (ids as strings)."""
    return {
        "item_id": str(item.item_id),
        "market": item.market,
        "in_pool": item.in_pool,
        "mp_id": item.mp_id,
        "title": item.title,
        "supplier_nick": item.supplier.nick,
        "skus": [
            {
                "sku_id": str(s.sku_id),
                "spec_id": s.spec_id,
                "mp_sku_id": None if s.mp_sku_id is None else str(s.mp_sku_id),
                "price": s.price,
                "promotion_price": s.promotion_price,
                "stock": s.stock,
                "status": s.status,
                "spec": s.spec_text,
            }
            for s in item.skus
        ],
    }
