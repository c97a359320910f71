"""Resource ids: version-7 UUIDs that sort in the order they were made."""

from __future__ import annotations

import time
import uuid

from switchboard.server.ids import new_id


def test_ids_are_version_7_uuids_in_creation_order() -> None:
    ids = []
    for _ in range(3):
        ids.extend(new_id() for _ in range(100))
        time.sleep(0.002)  # the next ones fall in a later millisecond
    parsed = [uuid.UUID(i) for i in ids]
    assert all(str(u) == i for u, i in zip(parsed, ids, strict=True))  # canonical text form
    assert {(u.version, u.variant) for u in parsed} == {(7, uuid.RFC_4122)}
    assert len(set(ids)) == len(ids)
    stamps = [u.int >> 80 for u in parsed]
    assert stamps == sorted(stamps)
    assert abs(stamps[-1] - time.time_ns() // 1_000_000) < 60_000  # milliseconds since 1970
    assert sorted(ids[:100])[-1] < sorted(ids[100:])[0]  # a later millisecond sorts after
