"""The event log: every state change appends an event in the same transaction as the change.

Revisions are global, gap-free and become visible in commit order: a transaction takes its
revisions by incrementing the single `event_head` row, whose row lock it then holds until it
commits, so no later revision can commit before an earlier one (a PostgreSQL sequence would hand
out numbers that commit out of order, or never).

On PostgreSQL the statement that takes them also queues a notification on `CHANNEL` carrying
the head it took (`pg_notify`, which PostgreSQL delivers only if the transaction commits), so
that other processes' hubs can look for the new events at once instead of at their next poll.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.clock import Clock
from switchboard.server.db import (
    BulkWrite,
    Database,
    StaleWrite,
    guarded_set,
    insert_if_absent,
    insert_of,
    metadata,
)
from switchboard.server.policy import caller

events_table = Table(
    "event_log",
    metadata,
    Column("revision", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("area", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("scope", String(255), nullable=False),
    Column("project", String(63), nullable=False, server_default=""),
    Column("payload", LargeBinary, nullable=False),
    Column("time", BigInteger, nullable=False),
)

head_table = Table(
    "event_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("head", BigInteger, nullable=False),
    Column("oldest", BigInteger, nullable=False),
)


M = TypeVar("M", bound=Message)

# The statements every write and every read of the log runs, built once (building and keying one
# each time added about half again to the cost of executing it).
CHANNEL = "switchboard_events"
"""Where write transactions that append events notify (PostgreSQL), with their head as text."""

_TAKE_REVISIONS = (
    update(head_table).where(head_table.c.id == 1)
    .values(head=head_table.c.head + bindparam("count")).returning(head_table.c.head)
)
_TAKE_REVISIONS_NOTIFYING = _TAKE_REVISIONS.returning(
    func.pg_notify(CHANNEL, cast(head_table.c.head, String)))
_MOVE_HEAD = guarded_set(head_table.c.id, head_table.c.head)
_APPEND = insert_of(events_table)
_READ = (select(events_table).where(events_table.c.revision > bindparam("after"))
         .order_by(events_table.c.revision).limit(bindparam("limit")))
_READ_UPTO = _READ.where(events_table.c.revision <= bindparam("upto"))

fencing: ContextVar[Callable[[Transaction], None] | None] = ContextVar("fencing", default=None)
"""What every write transaction of the current task adds to itself, if anything: a
singleton's lease fence (`leases.fence`)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event. `scope` is what watch filters select on besides `key` (e.g. a pool);
    `project` is the project of the resource it is about, which decides who may see it
    (`ownership`)."""

    revision: int
    area: str
    kind: str
    key: str
    scope: str
    payload: bytes
    time: int
    project: str = ""
    _decoded: list[Message] = field(default_factory=list, compare=False, repr=False)

    def decode(self, message_type: type[M]) -> M:
        """The payload as a message, parsed once however many watchers the event goes to.
        Shared: copy it, never change it."""
        if not self._decoded:
            self._decoded.append(message_type.FromString(self.payload))
        message = self._decoded[0]
        assert isinstance(message, message_type)
        return message


class Transaction:
    """A write transaction: the connection, the clock reading, the events it appends, and the
    principal they record as their cause (`principal`: the caller's, or the server's outside a
    call; `acting` for writes made on behalf of another, as in batches).

    An `optimistic` one counts on what this process's last write transactions left (the head,
    or as the workers' writer lock recorded it: `Database.shared_head`; cached pool holdings;
    instances as admitted) without reading it, and checks at commit with guarded writes
    (`BulkWrite`): it fails with `StaleWrite` if that changed meanwhile, whichever process
    changed it. Only where the database's writes are serialized in-process
    (`Database.serializes_writes`)."""

    def __init__(self, conn: AsyncConnection, clock: Clock, optimistic: bool = False,
                 head: int | None = None, notify: bool = False) -> None:
        self.conn = conn
        self.clock = clock
        self.optimistic = optimistic
        self.now = clock.now()
        self.principal = caller.get().name
        self.events: list[Event] = []
        self.deferred: dict[BulkWrite, list[Mapping[str, Any]]] = {}
        self._head = head if optimistic else None
        self._taken: int | None = None
        self._last: int | None = None
        self._take = _TAKE_REVISIONS_NOTIFYING if notify else _TAKE_REVISIONS

    async def next_revision(self) -> int:
        """Takes the next revision; from here on this transaction serializes every other writer.

        The first call reads the clock again, so that event times follow revision order even
        when this transaction waited for locks.
        """
        return (await self.next_revisions(1))[0]

    async def next_revisions(self, count: int) -> range:
        """Takes `count` consecutive revisions at once (see `next_revision`). Only the first
        call goes to the database, where it locks the head (an optimistic transaction's does
        not: it counts on from the head this process last committed); later ones count on from
        there, and the head they reach is written at commit. A `notify` transaction's first
        call also notifies `CHANNEL` (in the same statement: no extra trip)."""
        if self._last is None:
            self.now = max(self.now, self.clock.now())
            if self._head is None:
                result = await self.conn.execute(self._take, {"count": count})
                self._taken = self._last = int(result.scalar_one())
                return range(self._last - count + 1, self._last + 1)
            self._taken = self._last = self._head
        self._last += count
        self.deferred[_MOVE_HEAD] = [{"row_key": 1, "was": self._taken, "value": self._last}]
        return range(self._last - count + 1, self._last + 1)

    @property
    def head(self) -> int | None:
        """The last revision this transaction took, if any."""
        return self._last

    @contextmanager
    def acting(self, principal: str) -> Iterator[None]:
        """The events recorded inside are caused by `principal` (a batch's writes, each for the
        call that asked for it)."""
        before, self.principal = self.principal, principal
        try:
            yield
        finally:
            self.principal = before

    def append(self, revision: int, area: str, kind: str, key: str, scope: str,
               payload: bytes, project: str = "") -> None:
        """Records an event under a revision taken with `next_revision`; `project`: that of the
        resource the event is about ("" for resources no project owns)."""
        self.events.append(Event(revision, area, kind, key, scope, payload, self.now, project))

    def defer(self, write: BulkWrite, *rows: Mapping[str, Any]) -> None:
        """Writes `rows` when the transaction commits (together with the other rows of the same
        write): for writes that nothing later in the transaction reads."""
        if rows:
            self.deferred.setdefault(write, []).extend(rows)


class EventLog:
    """Appends, reads and compacts the log; tells the local hub about what it committed."""

    def __init__(self, db: Database, clock: Clock, retention: int, notify: bool = True) -> None:
        self.db = db
        self.clock = clock
        self.retention = retention
        self.notifies = notify and not db.is_sqlite
        """Whether write transactions that append events notify `CHANNEL` (PostgreSQL)."""
        self.on_commit: Callable[[Sequence[Event]], None] = lambda events: None
        self._head: int | None = None
        """The head as this process's last write transaction that took revisions committed
        it, for optimistic transactions to count on."""

    async def initialize(self) -> None:
        """Creates the head row if the database is new."""
        async with self.db.write() as conn:
            await conn.execute(insert_if_absent(conn, head_table, id=1, head=0, oldest=1))

    @asynccontextmanager
    async def transaction(self, optimistic: bool = False) -> AsyncIterator[Transaction]:
        """A write transaction whose events commit with it; listeners hear of them after; in a
        singleton's task, fenced by its lease (`fencing`). `optimistic` asks for an optimistic
        one (`Transaction`) where the database allows."""
        try:
            async with self.db.write() as conn:
                head = self._head if self.db.shared_head is None else self.db.shared_head
                tx = Transaction(conn, self.clock, optimistic and self.db.serializes_writes,
                                 head, self.notifies)
                if (fence := fencing.get()) is not None:
                    fence(tx)
                yield tx
                if tx.events:
                    tx.defer(_APPEND, *({
                        "revision": e.revision, "area": e.area, "kind": e.kind, "key": e.key,
                        "scope": e.scope, "project": e.project, "payload": e.payload,
                        "time": e.time,
                    } for e in tx.events))
                if tx.deferred:
                    await self.db.flush(conn, tx.deferred)
                if tx.head is not None:
                    self.db.record_head(tx.head)
        except StaleWrite:
            self._head = None
            raise
        if tx.head is not None and self.db.serializes_writes:
            self._head = tx.head
        if tx.events:
            self.on_commit(tx.events)

    async def bounds(self) -> tuple[int, int]:
        """(oldest retained revision, newest committed revision)."""
        async with self.db.read() as conn:
            row = (await conn.execute(select(head_table.c.oldest, head_table.c.head))).one()
        return int(row.oldest), int(row.head)

    async def read(self, after: int, upto: int | None, limit: int) -> list[Event]:
        """Committed events with after < revision <= upto, oldest first."""
        query = _READ if upto is None else _READ_UPTO
        async with self.db.read() as conn:
            rows = (await conn.execute(query, {"after": after, "upto": upto, "limit": limit})
                    ).all()
        return [Event(r.revision, r.area, r.kind, r.key, r.scope, r.payload, r.time, r.project)
                for r in rows]

    async def mentions(self, area: str, kinds: Sequence[str], column: str, value: str,
                       projects: Collection[str] | None = None) -> bool:
        """Whether a retained event of `area` (of one of `kinds`, if any; of one of `projects`,
        if not None) has `value` as its `column` ("key" or "scope")."""
        query = select(events_table.c.revision).where(
            events_table.c.area == area, events_table.c[column] == value)
        if kinds:
            query = query.where(events_table.c.kind.in_(kinds))
        if projects is not None:
            query = query.where(events_table.c.project.in_(sorted(projects)))
        async with self.db.read() as conn:
            found = (await conn.execute(query.limit(1))).first()
        return found is not None

    async def compact(self) -> int:
        """Drops events beyond the retention bound; returns the oldest retained revision."""
        async with self.db.write() as conn:
            row = (
                await conn.execute(select(head_table.c.oldest, head_table.c.head))
            ).one()
            oldest = max(int(row.oldest), int(row.head) - self.retention + 1)
            if oldest > row.oldest:
                await conn.execute(events_table.delete().where(events_table.c.revision < oldest))
                await conn.execute(
                    update(head_table).where(head_table.c.id == 1).values(oldest=oldest)
                )
        return oldest
