"""`request_id` on creates: a retried call returns what the first call created."""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import insert_if_absent, metadata

request_ids = Table(
    "request_ids",
    metadata,
    Column("method", String(64), nullable=False),
    Column("request_id", String(255), nullable=False),
    Column("resource_id", String(255), nullable=False),
    PrimaryKeyConstraint("method", "request_id"),
)


async def claim(conn: AsyncConnection, method: str, request_id: str) -> str | None:
    """Claims `request_id` for this call. Returns the id an earlier call with it created, or None
    when this call is the first; a concurrent call with the same id then waits for this
    transaction and, if it commits, gets its result. Call before validating anything that
    depends on time, so that a retry returns the first result even when it would now fail."""
    if not request_id:
        return None
    claimed = await conn.execute(
        insert_if_absent(conn, request_ids, method=method, request_id=request_id, resource_id="")
    )
    if claimed.rowcount == 1:
        return None
    row = await conn.execute(
        select(request_ids.c.resource_id).where(
            request_ids.c.method == method, request_ids.c.request_id == request_id
        )
    )
    return str(row.scalar_one())


async def remember(conn: AsyncConnection, method: str, request_id: str, resource_id: str) -> None:
    """Records what this call created, in the same transaction as the creation."""
    if request_id:
        await conn.execute(
            update(request_ids)
            .where(request_ids.c.method == method, request_ids.c.request_id == request_id)
            .values(resource_id=resource_id)
        )


async def release(conn: AsyncConnection, method: str, request_id: str) -> None:
    """Gives back a claim whose call failed, for calls that share a transaction with others."""
    if request_id:
        await conn.execute(
            delete(request_ids).where(
                request_ids.c.method == method, request_ids.c.request_id == request_id
            )
        )
