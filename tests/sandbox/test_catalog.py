"""The catalog's fixed ids and generated id scheme, as other areas rely on them without imports."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sandbox.conftest import Api

TWO_53 = 2**53


def _skus(resp: dict) -> dict[int, dict]:
    return {s["skuId"]: s for s in resp["data"]["skuList"]}


def test_fixed_taobao_item_has_its_two_named_skus(api: Api) -> None:
    resp = api.product(718293045561)
    assert resp["success"] is True
    skus = _skus(resp)
    assert set(skus) == {5219384756012, 5219384756013}
    props = {
        sid: [(p["propName"], p["valueName"]) for p in s["properties"]] for sid, s in skus.items()
    }
    assert props[5219384756012] == [("颜色分类", "黑色")]
    assert props[5219384756013] == [("颜色分类", "灰色")]
    assert all(s["specId"] is None for s in skus.values())
    assert len(api.product(652876415053)["data"]["skuList"]) == 2


def test_fixed_1688_items_carry_their_spec_ids(api: Api) -> None:
    skus = _skus(api.product(554456348334, cbu=True))
    assert skus[4951323355633]["specId"] == "b266e0726506185beaf205cbae88530d"
    assert skus[4951323355634]["specId"] == "c266e0726506185beaf205cbae88530e"
    spec_m = [(p["propName"], p["valueName"]) for p in skus[4951323355633]["properties"]]
    assert spec_m == [("颜色", "红色"), ("尺码", "M")]
    only = _skus(api.product(612345678901, cbu=True))
    assert list(only) == [4951323355700]
    assert only[4951323355700]["specId"] == "2ba3d63866a71fbae83909d9b4814f01"


def test_market_must_match_the_item(api: Api) -> None:
    assert api.product(554456348334)["errorCode"] == "ITEM_NOT_FOUND"  # 1688 item, Taobao market
    assert api.product(718293045561, cbu=True)["errorCode"] == "ITEM_NOT_FOUND"
    assert api.product(123)["errorCode"] == "ITEM_NOT_FOUND"


def test_items_outside_the_distribution_pool(api: Api) -> None:
    for item_id, cbu in ((700000000001, False), (800000000049, False), (610000000099, True)):
        resp = api.product(item_id, cbu)
        assert resp["success"] is False
        assert resp["errorCode"] == "ITEM_NOT_IN_POOL"
        assert resp["data"] is None


def test_edge_skus_are_shown_as_they_are(api: Api) -> None:
    no_mp = api.product(700000000002)["data"]["skuList"]
    assert [(s["skuId"], s["mpSkuId"]) for s in no_mp] == [(7000000000021, None)]
    empty = api.product(700000000003)["data"]["skuList"]
    assert [(s["skuId"], s["quantity"]) for s in empty] == [(7000000000031, 0)]


@settings(max_examples=25, deadline=None)
@given(i=st.integers(0, 9999))
def test_generated_taobao_scheme(shared_api: Api, i: int) -> None:
    api = shared_api
    resp = api.product(800_000_000_000 + i)
    if i % 50 == 49:
        assert resp["errorCode"] == "ITEM_NOT_IN_POOL"
        return
    data = resp["data"]
    assert data["itemId"] == 800_000_000_000 + i
    assert [s["skuId"] for s in data["skuList"]] == [
        9_000_000_000_000 + i * 10 + j for j in range(1 + i % 4)
    ]
    assert len(data["mpId"]) == 18 and int(data["mpId"]) > TWO_53
    for sku in data["skuList"]:
        assert 300 <= sku["promotionPrice"] <= sku["price"] <= 9000
        assert isinstance(sku["mpSkuId"], int)


@settings(max_examples=25, deadline=None)
@given(i=st.integers(0, 1999))
def test_generated_1688_scheme(shared_api: Api, i: int) -> None:
    api = shared_api
    item_id = 610_000_000_000 + i
    resp = api.product(item_id, cbu=True)
    if i % 50 == 49:
        assert resp["errorCode"] == "ITEM_NOT_IN_POOL"
        return
    skus = resp["data"]["skuList"]
    assert [s["skuId"] for s in skus] == [4_900_000_000_000 + i * 10 + j for j in range(1 + i % 3)]
    assert [s["specId"] for s in skus] == [
        hashlib.md5(f"{item_id}:{j}".encode()).hexdigest() for j in range(1 + i % 3)
    ]


def test_some_mp_sku_ids_exceed_2_53_and_the_catalog_is_stable(api: Api) -> None:
    ids = []
    for i in range(40):
        data = api.product(800_000_000_000 + i)["data"] if i % 50 != 49 else None
        if data:
            ids += [s["mpSkuId"] for s in data["skuList"]]
    assert any(x > TWO_53 for x in ids) and any(x < TWO_53 for x in ids)
    first = api.product(718293045561)["data"]
    dump = api.handle.control.catalog_item(718293045561)
    assert dump["mp_id"] == first["mpId"]
    assert [s["mp_sku_id"] for s in dump["skus"]] == [str(s["mpSkuId"]) for s in first["skuList"]]
    assert [s["price"] for s in dump["skus"]] == [s["price"] for s in first["skuList"]]


def test_several_items_share_a_supplier(api: Api) -> None:
    nicks = [api.product(800_000_000_000 + i)["data"]["userNick"] for i in (0, 170, 340)]
    assert len(set(nicks)) == 1
    assert (
        api.product(718293045561)["data"]["userNick"]
        != api.product(652876415053)["data"]["userNick"]
    )
