"""What every RPC needs: one table keyed by full method name (`/package.Service/Method`).

A method missing from the table is refused to everyone but admins (tests/test_authz.py fails
when a served RPC has no entry, so a new RPC cannot be left open by mistake)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Need(Enum):
    """The role a call needs (admins may make every call)."""

    OPEN = "open"
    """Anyone, even without an identity: health checks and reflection."""
    VIEW = "viewer"
    OPERATE = "operator"
    APPROVE = "approver"
    INVENTORY = "dmi-plugin"
    """A `dmi-plugin:<name>` role whose addresses match the request's `dmi_plugin`."""
    SOUTHBOUND = "participant"
    """The `participant:<id>` role of the request's `participant_id`."""


@dataclass(frozen=True)
class Permission:
    need: Need
    scope_field: str = ""
    """The request field a scoped role must match (INVENTORY and SOUTHBOUND)."""


OPEN = Permission(Need.OPEN)
VIEW = Permission(Need.VIEW)
OPERATE = Permission(Need.OPERATE)
APPROVE = Permission(Need.APPROVE)
INVENTORY = Permission(Need.INVENTORY, "dmi_plugin")
SOUTHBOUND = Permission(Need.SOUTHBOUND, "participant_id")


def _service(name: str, **methods: Permission) -> dict[str, Permission]:
    return {f"/{name}/{method}": permission for method, permission in methods.items()}


PERMISSIONS: dict[str, Permission] = {
    **_service(
        "switchboard.reservation.v1.ReservationService",
        CreatePool=OPERATE, GetPool=VIEW, ListPools=VIEW, UpdatePool=OPERATE,
        DeletePool=OPERATE, IncreaseCapacity=OPERATE, DecreaseCapacity=OPERATE,
        QueryCapacity=VIEW, CreateReservation=OPERATE, UpdateReservation=OPERATE,
        CancelReservation=OPERATE, GetReservation=VIEW, ListReservations=VIEW,
        WatchCapacity=VIEW, WatchReservations=VIEW),
    **_service(
        "switchboard.allocation.v1.AllocationService",
        ListFlavors=VIEW, CreateInstance=OPERATE, DestroyInstance=OPERATE, GetInstance=VIEW,
        ListInstances=VIEW, WatchInstances=VIEW),
    **_service(
        "switchboard.scheduler.v1.SchedulerService",
        CreateSchedule=OPERATE, GetSchedule=VIEW, ListSchedules=VIEW, ApproveSchedule=APPROVE,
        CancelSchedule=OPERATE, DeleteSchedule=OPERATE, CreateBlackout=OPERATE,
        DeleteBlackout=OPERATE, ListBlackouts=VIEW, ListTickets=VIEW, WatchSchedules=VIEW),
    **_service(
        "switchboard.cmhandle.v1.CmHandleInventoryService",
        UpdateRegistration=INVENTORY, Reregister=INVENTORY, ReportTrustLevels=INVENTORY),
    **_service(
        "switchboard.cmhandle.v1.CmHandleService",
        GetCmHandle=VIEW, SearchCmHandles=VIEW, GetTrustLevels=VIEW, WatchLcmEvents=VIEW,
        WatchTrustLevels=VIEW),
    **_service(
        "switchboard.participant.v1.AutomationCompositionService",
        CreateComposition=OPERATE, GetComposition=VIEW, ListCompositions=VIEW,
        DeleteComposition=OPERATE, PrimeComposition=OPERATE, DeprimeComposition=OPERATE,
        CreateInstance=OPERATE, GetInstance=VIEW, ListInstances=VIEW, DeployInstance=OPERATE,
        UndeployInstance=OPERATE, LockInstance=OPERATE, UnlockInstance=OPERATE,
        UpdateInstance=OPERATE, DeleteInstance=OPERATE, MigrateInstance=OPERATE,
        ListParticipants=VIEW,
        RequestParticipantStatus=OPERATE, WatchCompositions=VIEW, WatchInstances=VIEW),
    **_service(
        "switchboard.participant.v1.ParticipantProtocolService",
        Register=SOUTHBOUND, Deregister=SOUTHBOUND, ReceiveMessages=SOUTHBOUND,
        Acknowledge=SOUTHBOUND, ReportStatus=SOUTHBOUND),
    # Open to anyone: load balancers and grpcurl need them before any identity is set up, and
    # they tell nothing about the data (health: serving or not; reflection: the public schema).
    **_service("grpc.health.v1.Health", Check=OPEN, Watch=OPEN, List=OPEN),
    **_service("grpc.reflection.v1alpha.ServerReflection", ServerReflectionInfo=OPEN),
}
