"""The first 12 hex digits of SHA-256 for many short keys, without holding this process's GIL.

`hashlib` keeps the GIL for inputs under 2 KiB, so half a million order keys are ~0.3 s of pure
Python that every other thread of the plan waits behind (the sort, the takes, the pandas work
that run beside it). Above `HELPER_MIN_KEYS` the digests are computed by a short-lived helper
interpreter (`python -I -S`, standard library only, ~20 ms to start) on the other core, fed the
keys on stdin; the calling thread only waits on a pipe. Any trouble with the helper (it cannot
start, fails, or answers with the wrong size) and the digests are computed here instead, so the
helper can cost time but never change a result; the caller checks ids against the shared
definition as well.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HELPER_MIN_KEYS = 100_000  # below this, starting an interpreter costs more than it saves
WIDTH = 12
_HELPER = (
    "import hashlib, sys\n"
    "keys = sys.stdin.buffer.read().split(b'\\n')\n"
    "sha256 = hashlib.sha256\n"
    "sys.stdout.buffer.write(''.join([sha256(k).hexdigest()[:12] for k in keys]).encode())\n"
)


def sha256_hex12(keys: pa.Array) -> pa.Array:
    """`hashlib.sha256(key.encode()).hexdigest()[:12]` of every key (a string array)."""
    # the helper splits its input on newlines: keys holding one are digested here
    if (
        len(keys) >= HELPER_MIN_KEYS
        and not keys.null_count
        and not pc.any(pc.match_substring(keys, "\n")).as_py()
    ):
        digests = _in_helper(keys)
        if digests is not None:
            return digests
    return _here(keys)


def _here(keys: pa.Array) -> pa.Array:
    sha256 = hashlib.sha256
    binary = pc.cast(keys, pa.binary()).to_pylist()
    return pa.array([sha256(k).hexdigest()[:WIDTH] for k in binary], pa.string())


def _in_helper(keys: pa.Array) -> pa.Array | None:
    n = len(keys)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), keys), "\n")
    payload = joined[0].as_buffer()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    # The helper reads all its input before it writes: write everything, then read everything
    # (whole-buffer writes; subprocess.communicate would feed a pipe 512 bytes per Python loop).
    watchdog = threading.Timer(60 + n / 10_000, proc.kill)
    watchdog.start()
    try:
        with proc.stdin:
            proc.stdin.write(memoryview(payload))
        with proc.stdout:
            out = proc.stdout.read()
        code = proc.wait()
    except (OSError, ValueError):
        proc.kill()
        proc.wait()
        return None
    finally:
        watchdog.cancel()
    if code != 0 or len(out) != WIDTH * n:
        return None
    offsets = np.arange(0, WIDTH * n + 1, WIDTH, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)])
