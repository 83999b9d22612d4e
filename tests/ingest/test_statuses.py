"""The purchasable statuses: per-marketplace defaults and the `--statuses` option."""

from __future__ import annotations

import pytest

from schemas.errors import UserError
from schemas.marketplaces import DEFAULT_PURCHASABLE, STATUSES
from transforms.statuses import purchasable_statuses


def test_defaults_are_each_marketplaces_own():
    assert purchasable_statuses(None) == {
        "lazada": {"pending", "ready_to_ship"},
        "shopee": {"ready_to_ship"},
        "tiktok": {"awaiting_shipment"},
    }
    for marketplace, names in DEFAULT_PURCHASABLE.items():
        assert names <= STATUSES[marketplace]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Pending, Ready to ship", {"lazada": {"pending", "ready_to_ship"}}),  # as before: Lazada
        ("shopee:To ship,shopee:processed", {"shopee": {"ready_to_ship", "processed"}}),
        ("shopee:ที่ต้องจัดส่ง", {"shopee": {"ready_to_ship"}}),
        ("tiktok:Awaiting shipment,tiktok:awaiting_collection",
         {"tiktok": {"awaiting_shipment", "awaiting_collection"}}),
        (["lazada:packed", "TikTok:to_ship"], {"lazada": {"packed"}, "tiktok": {"to_ship"}}),
        ({"shopee": ["READY_TO_SHIP"]}, {"shopee": {"ready_to_ship"}}),
    ],
)  # fmt: skip
def test_a_marketplace_named_gets_exactly_its_items_the_others_their_defaults(value, expected):
    got = purchasable_statuses(value)
    assert got == {**DEFAULT_PURCHASABLE, **expected}


@pytest.mark.parametrize(
    ("value", "message"),
    [("pendng", "unknown status"), ("awaiting_shipment", "lazada statuses are"),
     ("amazon:pending", "unknown marketplace"), (" , ", "empty")],
)  # fmt: skip
def test_a_bad_option_is_a_user_error_naming_it(value, message):
    with pytest.raises(UserError, match=message):
        purchasable_statuses(value)
