"""Instances after admission: requests go to the VIM, the VIM's reports move instances on, and
instances whose reservation ended are destroyed (the reservation end policy).

One background task the app owns in every replica (the VIM requests and reports of the
instances it admitted), and one in the replica holding its lease (`follow_reservations`: the
destruction of ended reservations' instances). Reports are applied many per transaction, riding
in pool admission's batches (`Admission.alongside`). On start it asks the VIM about every
instance still building or deleting, so a restart loses no outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace

import structlog

from switchboard.reservation.v1 import reservation_pb2 as reservation_pb
from switchboard.server.allocation import store
from switchboard.server.allocation.changes import AREA, Move, set_statuses
from switchboard.server.allocation.model import Instance, Status, releases, reported_status
from switchboard.server.allocation.vim import ServerSpec, ServerState, ServerUpdate, VimDriver
from switchboard.server.clock import MICROS
from switchboard.server.errors import ResourceExhausted
from switchboard.server.eventlog import Event, EventLog, Transaction
from switchboard.server.reservation import claims
from switchboard.server.reservation import store as reservation_store
from switchboard.server.reservation.admission import Admission
from switchboard.server.tasks import BackgroundTask
from switchboard.server.watch import Hub

log = structlog.get_logger("switchboard.allocation.lifecycle")

_ENDED = (reservation_pb.RESERVATION_STATUS_EXPIRED, reservation_pb.RESERVATION_STATUS_CANCELLED)
_RELEASING = (ServerState.ERROR, ServerState.DELETED, ServerState.GONE)


def _reservation_ended(e: Event) -> bool:
    return (e.area == "reservation" and e.kind == "reservation.status_changed"
            and e.decode(reservation_pb.ReservationEvent).reservation.status in _ENDED)


def spec(i: Instance) -> ServerSpec:
    return ServerSpec(
        instance_id=i.id, name=i.name, vcpus=i.amounts.get("cores", 0),
        ram_mb=i.amounts.get("ram_mb", 0), disk_gb=i.amounts.get("gigabytes", 0),
        image=i.image, networks=i.networks,
    )


class Lifecycle(BackgroundTask):
    """Drives admitted instances through the VIM."""

    name = "allocation-lifecycle"

    def __init__(self, events: EventLog, hub: Hub, vim: VimDriver, admission: Admission,
                 recheck_after: int) -> None:
        super().__init__()
        self.events = events
        self.recheck_after = recheck_after
        """How long (µs) an instance may build or delete with no news before `recheck_stale`
        asks the VIM about it again."""
        self.admission = admission
        self.hub = hub
        self.vim = vim
        self._requests: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._building: dict[str, Instance] = {}
        """Instances this process admitted, as written, until a VIM report about them is
        applied: then only the row's revision needs reading (or, in an optimistic transaction,
        checking at commit) to know it is still so."""

    def build(self, instance: Instance) -> None:
        """Sends an admitted instance to the VIM (a refusal puts it in ERROR)."""
        self._building[instance.id] = instance

        async def create() -> None:
            try:
                await self.vim.create_server(spec(instance))
            except Exception as error:
                log.warning("vim refused build", instance_id=instance.id, error=str(error))
                await self.apply([ServerUpdate(instance.id, ServerState.ERROR,
                                               message=f"VIM refused the build: {error}")])

        self._requests.put_nowait(create)

    def delete(self, instance_id: str) -> None:
        """Asks the VIM to delete a DELETING instance's server."""
        self._requests.put_nowait(lambda: self.vim.delete_server(instance_id))

    async def run(self) -> None:
        async with self.events.db.read() as conn:
            waiting = await store.unfinished(conn)
        for i in waiting:
            await self.vim.recheck(i.id, i.status is Status.DELETING, i.update_time)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send())
            group.create_task(self._follow_vim())

    async def _send(self) -> None:
        while True:
            request = await self._requests.get()
            try:
                await request()
            except Exception:
                log.exception("vim request failed")

    async def _follow_vim(self) -> None:
        async for updates in self.vim.updates():
            try:
                await self.apply(updates)
            except Exception:
                log.exception("applying vim updates failed")

    async def apply(self, updates: Sequence[ServerUpdate]) -> list[Instance]:
        """Moves instances as the VIM reports, in order, in one transaction (the next admission
        batch's); releases the capacity of those that reach ERROR or DELETED. Returns the
        instances that moved."""
        ids = {u.instance_id for u in updates}
        releasing: set[str] = set()
        if any(u.state in _RELEASING for u in updates):
            # Their pools are locked first (which also tells other processes, and admission's
            # cache, that the pools changed), before the rows: the lock order every writer
            # follows.
            async with self.events.db.read() as conn:
                current = await store.get_instances(conn, ids)
            releasing = {current[u.instance_id].pool_id for u in updates
                         if u.instance_id in current and u.state in _RELEASING}

        async def work(tx: Transaction) -> list[Instance]:
            locked = await self._lock(tx, ids)
            again = len(ids) < len(updates)  # an instance reported more than once
            moves = []
            for u in updates:
                i = locked.get(u.instance_id)
                status = None if i is None else reported_status(i.status, u.state)
                if i is None or status is None or (releases(status)
                                                   and i.pool_id not in releasing):
                    continue
                moves.append(Move(i, status, u.message, u.server_id))
                if again:  # a later update of the same instance starts from here
                    locked[i.id] = replace(i, status=status,
                                           vim_server_id=u.server_id or i.vim_server_id)
            moved = await set_statuses(tx, moves)
            await claims.release(tx.conn, [i.id for i in moved if releases(i.status)], tx.now)
            return moved

        return await self.admission.alongside(releasing, work)

    async def _lock(self, tx: Transaction, ids: Collection[str]) -> dict[str, Instance]:
        """Locks the instances with these ids; returns them, as admitted by this process where
        the row's revision shows no change since, else as read. An optimistic transaction
        reads none of those this process admitted: their revisions are checked at commit."""
        found: dict[str, Instance] = {}
        if tx.optimistic:
            for instance_id in ids:
                admitted = self._building.pop(instance_id, None)
                if admitted is not None:
                    found[instance_id] = admitted
            store.check_revisions(tx, found.values())
            ids = [i for i in ids if i not in found]
            if not ids:
                return found
        changed = []
        for instance_id, revision in (await store.lock_revisions(tx.conn, ids)).items():
            admitted = self._building.pop(instance_id, None)
            if admitted is not None and admitted.revision == revision:
                found[instance_id] = admitted
            else:
                changed.append(instance_id)
        if changed:
            found.update(await store.get_instances(tx.conn, changed))
        return found

    async def recheck_stale(self) -> None:
        """Asks the VIM again about every instance building or deleting with no news for
        `recheck_after`, so that what the replica that sent it (dead, perhaps) would have
        followed still ends; its reports come through this replica's `run`. In one replica at
        a time (the app runs it under a lease)."""
        clock = self.events.clock
        while True:
            await clock.sleep(self.recheck_after / 2 / MICROS)
            async with self.events.db.read() as conn:
                waiting = await store.unfinished(conn)
            stale = clock.now() - self.recheck_after
            for i in waiting:
                if i.update_time <= stale:
                    await self.vim.recheck(i.id, i.status is Status.DELETING, i.update_time)

    async def follow_reservations(self) -> None:
        """Destroys the instances of reservations that end, as they end; the first pass (when
        the watch goes live) catches up with whatever ended while no process was watching. In
        one replica at a time (the app runs it under a lease); `run` is every replica's."""
        while not self.hub.closed:
            try:
                async for _ in self.hub.watch(0, _reservation_ended, AREA):
                    await self.reap()
            except ResourceExhausted:
                continue  # fell behind: watch again from now, after a full pass
            except Exception:
                log.exception("destroying instances of ended reservations failed")
                await self.events.clock.sleep(1.0)

    async def reap(self) -> list[Instance]:
        """Destroys every instance whose reservation has ended or was cancelled."""
        async with self.events.db.read() as conn:
            if not await store.orphaned(conn):
                return []
        async with self.events.transaction() as tx:
            pool_ids = {i.pool_id for i in await store.orphaned(tx.conn)}
            await reservation_store.lock_pools(tx.conn, pool_ids)
            orphans = [i for i in await store.orphaned(tx.conn, lock=True)
                       if i.pool_id in pool_ids]
            deleting = await set_statuses(tx, [
                Move(i, Status.DELETING, f"reservation {i.reservation_id} ended or was cancelled")
                for i in orphans])
        for i in deleting:
            self.delete(i.id)
        return deleting
