"""SHA-256 digests for many keys: the helper process gives exactly what hashlib gives here."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

import transforms.digests as digests

KEYS = ["lazada|MY|100000000000001", "", "é|ก|x", "a\tb", "lazada|TH|" + "9" * 40] * 30


def expected(keys: list[str]) -> list[str]:
    return [hashlib.sha256(k.encode()).hexdigest()[:12] for k in keys]


@pytest.fixture
def helper_for_small_inputs(monkeypatch):
    monkeypatch.setattr(digests, "HELPER_MIN_KEYS", 10)


def test_helper_and_in_process_agree(helper_for_small_inputs):
    keys = pa.array(KEYS)
    assert digests._in_helper(keys).to_pylist() == expected(KEYS)
    assert digests.sha256_hex12(keys).to_pylist() == expected(KEYS)


def test_keys_with_a_newline_are_digested_in_process(helper_for_small_inputs, monkeypatch):
    monkeypatch.setattr(digests, "_in_helper", lambda keys: pytest.fail("helper used"))
    keys = [*KEYS, "two\nlines"]
    assert digests.sha256_hex12(pa.array(keys)).to_pylist() == expected(keys)


@pytest.mark.parametrize("broken", ["missing", "fails", "short"])
def test_a_broken_helper_costs_time_not_results(helper_for_small_inputs, monkeypatch, broken):
    if broken == "missing":
        monkeypatch.setattr(digests.sys, "executable", "/nonexistent/python")
    elif broken == "fails":
        monkeypatch.setattr(digests, "_HELPER", "raise SystemExit(3)")
    else:
        monkeypatch.setattr(digests, "_HELPER", "import sys; sys.stdout.write('abc')")
    assert digests._in_helper(pa.array(KEYS)) is None
    assert digests.sha256_hex12(pa.array(KEYS)).to_pylist() == expected(KEYS)
