"""The resolution cache: source item -> pool ids and SKUs, so a nightly run does not resolve
again what it resolved yesterday."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from ledger.engine import LedgerBase, chunks, timed
from ledger.records import CacheEntry
from ledger.schema import resolution_cache


class ResolutionCache(LedgerBase):
    @timed
    def cache_get(
        self, keys: Iterable[tuple[str, str]], ttl_s: float
    ) -> dict[tuple[str, str], CacheEntry]:
        """Fresh cache entries (fetched within `ttl_s`) for (source_platform, source_item_id)."""
        c = resolution_cache
        oldest = self.clock() - ttl_s
        by_platform: dict[str, list[str]] = {}
        for platform, item in keys:
            by_platform.setdefault(platform, []).append(item)
        out: dict[tuple[str, str], CacheEntry] = {}
        with self._read() as conn:
            for platform, items in by_platform.items():
                for chunk in chunks(sorted(set(items))):
                    for r in conn.execute(
                        sa.select(c).where(
                            (c.c.source_platform == platform)
                            & c.c.source_item_id.in_(chunk)
                            & (c.c.fetched_at >= oldest)
                        )
                    ):
                        out[(r.source_platform, r.source_item_id)] = CacheEntry(
                            r.source_platform,
                            r.source_item_id,
                            r.status,
                            r.mp_id,
                            json.loads(r.data),
                            r.fetched_at,
                        )
        return out

    @timed
    def cache_put(self, entries: Sequence[CacheEntry]) -> None:
        """Insert or refresh cache entries."""
        if not entries:
            return
        c = resolution_cache
        rows = [
            {
                "source_platform": e.source_platform,
                "source_item_id": e.source_item_id,
                "status": e.status,
                "mp_id": e.mp_id,
                "data": json.dumps(e.data, ensure_ascii=False, separators=(",", ":")),
                "fetched_at": e.fetched_at,
            }
            for e in entries
        ]
        with self.engine.begin() as conn:
            for chunk in chunks(rows):
                stmt = self._insert(c)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[c.c.source_platform, c.c.source_item_id],
                    set_={
                        "status": stmt.excluded.status,
                        "mp_id": stmt.excluded.mp_id,
                        "data": stmt.excluded.data,
                        "fetched_at": stmt.excluded.fetched_at,
                    },
                )
                conn.execute(stmt, list(chunk))
