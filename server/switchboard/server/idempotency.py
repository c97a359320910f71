"""`request_id` on creates: a retried call returns what the first call created."""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import metadata

request_ids = Table(
    "request_ids",
    metadata,
    Column("method", String(64), nullable=False),
    Column("request_id", String(255), nullable=False),
    Column("resource_id", String(255), nullable=False),
    PrimaryKeyConstraint("method", "request_id"),
)


async def find(conn: AsyncConnection, method: str, request_id: str) -> str | None:
    """The id of what an earlier call with this request_id created, if any."""
    if not request_id:
        return None
    row = await conn.execute(
        select(request_ids.c.resource_id).where(
            request_ids.c.method == method, request_ids.c.request_id == request_id
        )
    )
    return row.scalar_one_or_none()


async def remember(conn: AsyncConnection, method: str, request_id: str, resource_id: str) -> None:
    """Records what this call created, in the same transaction as the creation."""
    if request_id:
        await conn.execute(
            request_ids.insert().values(
                method=method, request_id=request_id, resource_id=resource_id
            )
        )
