"""Conversions between allocation records and their protobuf messages."""

from __future__ import annotations

from switchboard.allocation.v1 import allocation_pb2 as pb
from switchboard.server.allocation.model import Flavor, Instance, Status
from switchboard.server.reservation.convert import resources_pb
from switchboard.server.timestamps import from_micros

STATUS_TO_PB = {
    Status.BUILDING: pb.INSTANCE_STATUS_BUILDING,
    Status.ACTIVE: pb.INSTANCE_STATUS_ACTIVE,
    Status.ERROR: pb.INSTANCE_STATUS_ERROR,
    Status.DELETING: pb.INSTANCE_STATUS_DELETING,
    Status.DELETED: pb.INSTANCE_STATUS_DELETED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}


def flavor_pb(f: Flavor) -> pb.Flavor:
    return pb.Flavor(name=f.name, vcpus=f.vcpus, ram_mb=f.ram_mb, disk_gb=f.disk_gb)


def instance_pb(i: Instance) -> pb.Instance:
    return pb.Instance(
        id=i.id, name=i.name, pool_id=i.pool_id, flavor=i.flavor, image=i.image,
        networks=i.networks, reservation_id=i.reservation_id, status=STATUS_TO_PB[i.status],
        status_message=i.status_message, vim_server_id=i.vim_server_id,
        resources=resources_pb(i.amounts), create_time=from_micros(i.create_time),
        update_time=from_micros(i.update_time), revision=i.revision, project=i.project,
    )
