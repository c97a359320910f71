"""`request_id` on creates: a retried call returns what the first call created."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import (
    Column,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    delete,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import BulkWrite, insert_if_absent, metadata
from switchboard.server.errors import AlreadyExists
from switchboard.server.eventlog import Transaction

request_ids = Table(
    "request_ids",
    metadata,
    Column("method", String(64), nullable=False),
    Column("request_id", String(255), nullable=False),
    Column("resource_id", String(255), nullable=False),
    PrimaryKeyConstraint("method", "request_id"),
)

Key = tuple[str, str]
"""A call's method and request_id."""

_KEY = (request_ids.c.method == bindparam("key_method"),
        request_ids.c.request_id == bindparam("key_request_id"))
_REMEMBER = BulkWrite(update(request_ids).where(*_KEY)
                      .values(resource_id=bindparam("created_id")))
_RELEASE = BulkWrite(delete(request_ids).where(*_KEY))


async def claim(conn: AsyncConnection, method: str, request_id: str) -> str | None:
    """Claims `request_id` for this call. Returns the id an earlier call with it created, or None
    when this call is the first; a concurrent call with the same id then waits for this
    transaction and, if it commits, gets its result. Call before validating anything that
    depends on time, so that a retry returns the first result even when it would now fail."""
    if not request_id:
        return None
    return (await claim_all(conn, [(method, request_id)])).get((method, request_id))


async def claim_all(conn: AsyncConnection, keys: Collection[Key]) -> dict[Key, str]:
    """`claim` for many calls at once, in one statement (keys in order, so that concurrent
    claimers cannot deadlock): returns the ids earlier calls created, for the keys claimed
    already."""
    if not keys:
        return {}
    claimed = await conn.execute(
        insert_if_absent(conn, request_ids, *(
            {"method": method, "request_id": request_id, "resource_id": ""}
            for method, request_id in sorted(set(keys))))
        .returning(request_ids.c.method, request_ids.c.request_id))
    taken = set(keys) - {(row.method, row.request_id) for row in claimed}
    if not taken:
        return {}
    rows = await conn.execute(
        select(request_ids).where(
            tuple_(request_ids.c.method, request_ids.c.request_id).in_(sorted(taken))))
    return {(row.method, row.request_id): row.resource_id for row in rows}


def in_use(request_id: str, area: str) -> AlreadyExists:
    """For a retry whose request_id an earlier call took that created something the caller may
    not change (another project's): ALREADY_EXISTS, without what it created."""
    return AlreadyExists(
        message=f"request_id {request_id!r} was used by another call", reason="REQUEST_ID_IN_USE",
        area=area, metadata={"request_id": request_id},
    )


def remember(tx: Transaction, method: str, request_id: str, resource_id: str) -> None:
    """Records what this call created, in the same transaction as the creation (at commit)."""
    if request_id:
        tx.defer(_REMEMBER, {"key_method": method, "key_request_id": request_id,
                             "created_id": resource_id})


def release(tx: Transaction, method: str, request_id: str) -> None:
    """Gives back a claim whose call failed, for calls that share a transaction with others
    (at commit)."""
    if request_id:
        tx.defer(_RELEASE, {"key_method": method, "key_request_id": request_id})
