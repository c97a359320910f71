"""AllocationService: validates, converts, and hands creates to pool admission."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.allocation.v1 import allocation_pb2 as pb
from switchboard.allocation.v1 import allocation_pb2_grpc as pb_grpc
from switchboard.server import ownership
from switchboard.server.allocation import store
from switchboard.server.allocation.changes import AREA, KINDS, set_status
from switchboard.server.allocation.convert import STATUS_FROM_PB, flavor_pb, instance_pb
from switchboard.server.allocation.creation import NewInstance
from switchboard.server.allocation.lifecycle import Lifecycle
from switchboard.server.allocation.model import FINISHED, Flavor, Instance, Status
from switchboard.server.errors import NotFound, Violations, require_ids
from switchboard.server.eventlog import Event, EventLog
from switchboard.server.ownership import Visibility
from switchboard.server.paging import (
    decode_revision_token,
    enum_filter,
    page,
    page_size,
)
from switchboard.server.reservation import store as reservation_store
from switchboard.server.reservation.admission import Admission
from switchboard.server.reservation.changes import pool_subject, reservation_subject
from switchboard.server.reservation.validate import check_pool_id
from switchboard.server.rpc import Context
from switchboard.server.watch import Hub, Subject, check_start_revision


class AllocationServicer(pb_grpc.AllocationServiceServicer):
    """The gRPC surface of the allocation area."""

    def __init__(self, log: EventLog, hub: Hub, admission: Admission, lifecycle: Lifecycle,
                 flavors: Mapping[str, Flavor]) -> None:
        self.log = log
        self.hub = hub
        self.admission = admission
        self.lifecycle = lifecycle
        self.flavors = dict(flavors)

    async def ListFlavors(
        self, request: pb.ListFlavorsRequest, context: Context
    ) -> pb.ListFlavorsResponse:
        return pb.ListFlavorsResponse(
            flavors=[flavor_pb(f) for _, f in sorted(self.flavors.items())]
        )

    async def CreateInstance(
        self, request: pb.CreateInstanceRequest, context: Context
    ) -> pb.CreateInstanceResponse:
        v = Violations(AREA)
        if not request.HasField("instance"):
            v.add("instance", "is required")
        body = request.instance
        check_pool_id(body.pool_id, "instance.pool_id", v)
        v.require("instance.image", body.image)
        for i, network in enumerate(body.networks):
            v.require(f"instance.networks[{i}]", network)
        flavor = self.flavors.get(body.flavor)
        if not body.flavor:
            v.add("instance.flavor", "is required")
        elif flavor is None:
            v.add("instance.flavor",
                  f"unknown flavor {body.flavor!r}; known: {', '.join(sorted(self.flavors))}")
        candidate = NewInstance(request, flavor or Flavor("", 0, 0, 0), v, self.lifecycle.build)
        created = await self.admission.admit(candidate)
        return pb.CreateInstanceResponse(
            instance=instance_pb(created) if candidate.created_pb is None
            else candidate.created_pb)

    async def DestroyInstance(
        self, request: pb.DestroyInstanceRequest, context: Context
    ) -> pb.DestroyInstanceResponse:
        require_ids(AREA, ("instance_id", request.instance_id))
        async with self.log.transaction() as tx:
            found = await _get(tx.conn, request.instance_id)
            await reservation_store.lock_pools(tx.conn, {found.pool_id})
            current = await _get(tx.conn, request.instance_id, lock=True)
            if current.status in FINISHED:
                return pb.DestroyInstanceResponse(instance=instance_pb(current))
            deleting = await set_status(tx, current, Status.DELETING, "destroyed by a client")
        self.lifecycle.delete(deleting.id)
        return pb.DestroyInstanceResponse(instance=instance_pb(deleting))

    async def GetInstance(
        self, request: pb.GetInstanceRequest, context: Context
    ) -> pb.GetInstanceResponse:
        require_ids(AREA, ("instance_id", request.instance_id))
        async with self.log.db.read() as conn:
            return pb.GetInstanceResponse(instance=instance_pb(
                await _get(conn, request.instance_id)))

    async def ListInstances(
        self, request: pb.ListInstancesRequest, context: Context
    ) -> pb.ListInstancesResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        statuses = enum_filter(request.statuses, STATUS_FROM_PB, "statuses", v)
        access = ownership.current()
        async with self.log.db.read() as conn:
            if request.pool_id and not await reservation_store.existing_pool_ids(
                    conn, [request.pool_id], access.visible_projects(Visibility.SHARED)):
                v.add("pool_id", f"unknown pool {request.pool_id!r}")
            v.raise_if_any()
            found = await store.list_instances(
                conn, pool_id=request.pool_id, reservation_id=request.reservation_id,
                statuses=statuses, after_revision=after, limit=size + 1,
                projects=access.visible_projects(Visibility.OWNED),
            )
        instances, token = page(request, found, size, lambda x: x.created_revision, instance_pb)
        return pb.ListInstancesResponse(instances=instances, next_page_token=token)

    async def WatchInstances(
        self, request: pb.WatchInstancesRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchInstancesResponse
        check_start_revision(request.start_revision, AREA)
        pool_id, instance_id = request.pool_id, request.instance_id
        reservation_id = request.reservation_id

        def matches(e: Event) -> bool:
            return (
                e.area == AREA and e.kind in KINDS
                and (not pool_id or e.scope == pool_id)
                and (not instance_id or e.key == instance_id)
                and (not reservation_id
                     or e.decode(pb.InstanceEvent).instance.reservation_id == reservation_id)
            )

        async for response in self.hub.responses(
                request.start_revision, matches, AREA, pool_subject(pool_id),
                Subject("instance_id", "instance", instance_id, store.get_instance, AREA),
                reservation_subject(reservation_id), visibility=Visibility.OWNED):
            yield response


async def _get(conn: AsyncConnection, instance_id: str, lock: bool = False) -> Instance:
    """The instance, if the caller sees it; else NOT_FOUND, as for an unknown id."""
    found = await store.get_instance(conn, instance_id, lock)
    if found is None or not ownership.current().sees(found.project):
        raise NotFound(
            message=f"instance {instance_id!r} not found", reason="INSTANCE_NOT_FOUND",
            area=AREA, resource_type="instance", resource_name=instance_id,
        )
    return found
