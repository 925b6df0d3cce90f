"""libbpf's dedup hash table, down to the order it yields candidates in.

``btf_dedup_table_add`` appends (hash, type id) to a ``struct hashmap``
(libbpf ``src/hashmap.c``, unchanged from v1.1 to v1.7): an entry is pushed
at the head of its bucket, and when the map grows (first insert, then
whenever ``(size + 1) * 4 / 3 > capacity``) every entry is re-pushed in
bucket order into a table twice the size. Candidates for a hash are the
bucket's entries with an equal key, head first. So among entries with the
same key the newest comes first, and every growth reverses their order.
That order decides which candidate becomes canonical, so the replay keeps
it exactly; the bucket index itself never matters.
"""

from __future__ import annotations

MIN_CAP_BITS = 2


class DedupTable:
    def __init__(self) -> None:
        self._by_key: dict[int, list[int]] = {}  # key -> type ids, head (first yielded) first
        self._size = 0
        self._cap = 0

    def add(self, key: int, type_id: int) -> None:
        if self._cap == 0 or (self._size + 1) * 4 // 3 > self._cap:
            self._grow()
        self._by_key.setdefault(key, []).insert(0, type_id)
        self._size += 1

    def _grow(self) -> None:
        self._cap = (1 << MIN_CAP_BITS) if self._cap == 0 else self._cap * 2
        for ids in self._by_key.values():
            ids.reverse()

    def candidates(self, key: int) -> list[int]:
        return self._by_key.get(key, [])

    def __len__(self) -> int:
        return self._size
