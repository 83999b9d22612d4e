"""The switch-interval helper the ingest stages run under."""

from __future__ import annotations

import sys

import pytest

from transforms.concurrency import SWITCH_INTERVAL_S, responsive_gil, with_responsive_gil


def test_interval_is_lowered_for_the_block_and_restored_even_on_error():
    before = sys.getswitchinterval()
    with pytest.raises(KeyError), responsive_gil():
        assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL_S), rel=0.1)
        raise KeyError("x")
    assert sys.getswitchinterval() == before


def test_interval_is_never_raised():
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S / 10)
    try:
        with responsive_gil():
            assert sys.getswitchinterval() == pytest.approx(
                SWITCH_INTERVAL_S / 10, rel=0.1
            )  # µs steps
    finally:
        sys.setswitchinterval(before)


def test_decorated_stage_runs_under_the_lower_interval():
    @with_responsive_gil
    def stage(x: int) -> float:
        return sys.getswitchinterval() * x

    assert stage(2) == pytest.approx(2 * min(sys.getswitchinterval(), SWITCH_INTERVAL_S), rel=0.1)
