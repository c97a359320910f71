"""CmHandleInventoryService (called by DMI plugins) and CmHandleService (called by
applications): validation, conversion, and the inventory's writes and reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.cmhandle.v1 import cmhandle_pb2_grpc as pb_grpc
from switchboard.server.cmhandle import store
from switchboard.server.cmhandle.changes import AREA, LCM_KIND, TRUST_KIND
from switchboard.server.cmhandle.convert import (
    DATA_SYNC_FROM_PB,
    STATE_FROM_PB,
    TRUST_FROM_PB,
    TRUST_TO_PB,
    handle_pb,
    result_pb,
    row_pb,
)
from switchboard.server.cmhandle.inventory import Inventory
from switchboard.server.cmhandle.model import (
    REMOVED,
    DataSyncState,
    HandleState,
    PropertyChanges,
    Removed,
    ResultCode,
    TrustLevel,
)
from switchboard.server.cmhandle.registration import (
    Batch,
    HandleResult,
    HandleUpdate,
    NewHandle,
    Upgrade,
)
from switchboard.server.errors import NotFound, Violations, require_ids
from switchboard.server.eventlog import Event
from switchboard.server.ownership import Visibility
from switchboard.server.paging import decode_token, page, page_size
from switchboard.server.rpc import Context
from switchboard.server.watch import Hub, Subject, check_start_revision

MAX_BATCH = 10_000
"""Most entries in one registration call, all sections together (each section's own bound is
in the proto)."""


def _check_plugin(address: str, v: Violations) -> None:
    host, _, port = address.rpartition(":")
    if not address:
        v.add("dmi_plugin", "is required")
    elif not host or not port.isdigit():
        v.add("dmi_plugin", "must be a gRPC address host:port")


def _trust(value: pb.TrustLevel, default: TrustLevel | None) -> TrustLevel | None:
    """A trust level (its number is defined: `requestcheck`), or `default` when unspecified."""
    if value == pb.TRUST_LEVEL_UNSPECIFIED:
        return default
    return TRUST_FROM_PB[value]


def _new_handle(h: pb.NewCmHandle) -> NewHandle:
    trust = _trust(h.trust_level, TrustLevel.COMPLETE)
    assert trust is not None
    return NewHandle(id=h.id, dmi_properties=dict(h.dmi_properties),
                     public_properties=dict(h.public_properties),
                     module_set_tag=h.module_set_tag, alternate_id=h.alternate_id, trust=trust,
                     data_sync_enabled=(h.data_sync_enabled if h.HasField("data_sync_enabled")
                                        else None))


def _changes(values: dict[str, str], removed: list[str], path: str,
             v: Violations) -> PropertyChanges:
    out: dict[str, str | Removed] = dict(values)
    for i, name in enumerate(removed):
        if not name:
            v.add(f"{path}[{i}]", "must not be empty")
        elif name in values:
            v.add(f"{path}[{i}]", f"property {name!r} is both set and removed")
        out[name] = REMOVED
    return out


def _batch(request: pb.UpdateRegistrationRequest, v: Violations) -> Batch:
    _check_plugin(request.dmi_plugin, v)
    total = (len(request.created) + len(request.updated) + len(request.removed)
             + len(request.upgraded))
    if total > MAX_BATCH:
        v.add("created", f"a batch holds at most {MAX_BATCH} entries, got {total}")
    return Batch(
        created=[_new_handle(h) for h in request.created],
        updated=[HandleUpdate(
            id=u.id,
            dmi_properties=_changes(dict(u.dmi_properties), list(u.removed_dmi_properties),
                                    f"updated[{i}].removed_dmi_properties", v),
            public_properties=_changes(dict(u.public_properties),
                                       list(u.removed_public_properties),
                                       f"updated[{i}].removed_public_properties", v),
            alternate_id=u.alternate_id,
            data_sync_enabled=(u.data_sync_enabled if u.HasField("data_sync_enabled")
                               else None)) for i, u in enumerate(request.updated)],
        removed=list(request.removed),
        upgraded=[Upgrade(u.id, u.module_set_tag) for u in request.upgraded],
    )


class InventoryServicer(pb_grpc.CmHandleInventoryServiceServicer):
    """The gRPC surface DMI plugins call."""

    def __init__(self, inventory: Inventory, wake_sync: Callable[[], None]) -> None:
        self.inventory = inventory
        self.wake_sync = wake_sync

    async def UpdateRegistration(
        self, request: pb.UpdateRegistrationRequest, context: Context
    ) -> pb.UpdateRegistrationResponse:
        v = Violations(AREA)
        batch = _batch(request, v)
        v.raise_if_any()
        result = await self.inventory.update_registration(request.dmi_plugin, batch)
        if result.changes:
            self.wake_sync()
        return pb.UpdateRegistrationResponse(
            created=[result_pb(r) for r in result.created],
            updated=[result_pb(r) for r in result.updated],
            removed=[result_pb(r) for r in result.removed],
            upgraded=[result_pb(r) for r in result.upgraded])

    async def Reregister(
        self, request: pb.ReregisterRequest, context: Context
    ) -> pb.ReregisterResponse:
        v = Violations(AREA)
        _check_plugin(request.dmi_plugin, v)
        listed = [_new_handle(h) for h in request.cm_handles]
        v.raise_if_any()
        result = await self.inventory.reregister(request.dmi_plugin, listed)
        self.wake_sync()
        return pb.ReregisterResponse(results=[result_pb(r) for r in result.results],
                                     untrusted_cm_handle_ids=result.untrusted)

    async def ReportTrustLevels(
        self, request: pb.ReportTrustLevelsRequest, context: Context
    ) -> pb.ReportTrustLevelsResponse:
        v = Violations(AREA)
        _check_plugin(request.dmi_plugin, v)
        v.raise_if_any()
        # Answered entry by entry, as registration is: a bad entry fails alone.
        refused: dict[int, HandleResult] = {}
        levels = []
        for i, t in enumerate(request.trust_levels):
            level = _trust(t.trust_level, None)
            if not t.cm_handle_id:
                refused[i] = HandleResult(t.cm_handle_id, ResultCode.CM_HANDLE_INVALID_ID,
                                          "cm_handle_id is required")
            elif level is None:
                refused[i] = HandleResult(t.cm_handle_id, ResultCode.UNKNOWN_ERROR,
                                          "trust_level is required")
            else:
                levels.append((t.cm_handle_id, level))
        done = iter(await self.inventory.report_trust(request.dmi_plugin, levels)
                    if levels else [])
        return pb.ReportTrustLevelsResponse(results=[
            result_pb(refused[i] if i in refused else next(done))
            for i in range(len(request.trust_levels))])


def _not_found(handle_id: str) -> NotFound:
    return NotFound(message=f"cm handle {handle_id!r} not found", reason="CM_HANDLE_NOT_FOUND",
                    area=AREA, resource_type="cm handle", resource_name=handle_id)


class CmHandleServicer(pb_grpc.CmHandleServiceServicer):
    """The gRPC surface applications call."""

    def __init__(self, inventory: Inventory, hub: Hub) -> None:
        self.inventory = inventory
        self.hub = hub

    async def GetCmHandle(
        self, request: pb.GetCmHandleRequest, context: Context
    ) -> pb.GetCmHandleResponse:
        require_ids(AREA, ("cm_handle_id", request.cm_handle_id))
        async with self.inventory.log.db.read() as conn:
            found = (await store.get(conn, [request.cm_handle_id])).get(request.cm_handle_id)
        if found is None:
            raise _not_found(request.cm_handle_id)
        return pb.GetCmHandleResponse(cm_handle=handle_pb(found.handle, found.effective))

    async def SearchCmHandles(
        self, request: pb.SearchCmHandlesRequest, context: Context
    ) -> pb.SearchCmHandlesResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_token(request, v)
        state: HandleState | None = None
        if request.state != pb.CM_HANDLE_STATE_UNSPECIFIED:
            state = STATE_FROM_PB[request.state]
        trust = _trust(request.trust_level, None)
        data_sync: DataSyncState | None = None
        if request.data_sync_state != pb.DATA_SYNC_STATE_UNSPECIFIED:
            data_sync = DATA_SYNC_FROM_PB[request.data_sync_state]
        for i, name in enumerate(request.module_names):
            if not name:
                v.add(f"module_names[{i}]", "must not be empty")
        for name in request.public_properties:
            if not name:
                v.add("public_properties", "a property name must not be empty")
        v.raise_if_any()
        async with self.inventory.log.db.read() as conn:
            ids, handles = await store.search(
                conn, public_properties=dict(request.public_properties),
                module_names=list(request.module_names), state=state, trust=trust,
                plugin=request.dmi_plugin, after=after, limit=size + 1,
                ids_only=request.ids_only, data_sync=data_sync)
        if request.ids_only:
            found_ids, token = page(request, ids, size, lambda i: i, lambda i: i)
            return pb.SearchCmHandlesResponse(cm_handle_ids=found_ids, next_page_token=token)
        found, token = page(request, handles, size, lambda row: row.id, row_pb)
        return pb.SearchCmHandlesResponse(cm_handles=found, next_page_token=token)

    async def GetTrustLevels(
        self, request: pb.GetTrustLevelsRequest, context: Context
    ) -> pb.GetTrustLevelsResponse:
        v = Violations(AREA)
        v.require("cm_handle_ids", request.cm_handle_ids)
        v.raise_if_any()
        async with self.inventory.log.db.read() as conn:
            found = await store.get(conn, request.cm_handle_ids)
        return pb.GetTrustLevelsResponse(trust_levels=[
            pb.CmHandleTrustLevel(cm_handle_id=i, trust_level=TRUST_TO_PB[found[i].effective])
            for i in request.cm_handle_ids if i in found], unknown_cm_handle_ids=[
            i for i in dict.fromkeys(request.cm_handle_ids) if i not in found])

    async def WatchLcmEvents(
        self, request: pb.WatchLcmEventsRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchLcmEventsResponse
        check_start_revision(request.start_revision, AREA)
        async for response in self.hub.responses(
                request.start_revision, _matcher(LCM_KIND, request.cm_handle_id), AREA,
                _handle_subject(request.cm_handle_id), visibility=Visibility.PUBLIC):
            yield response

    async def WatchTrustLevels(
        self, request: pb.WatchTrustLevelsRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchTrustLevelsResponse
        check_start_revision(request.start_revision, AREA)
        async for response in self.hub.responses(
                request.start_revision, _matcher(TRUST_KIND, request.cm_handle_id), AREA,
                _handle_subject(request.cm_handle_id), visibility=Visibility.PUBLIC):
            yield response


def _handle_subject(handle_id: str) -> Subject:
    async def lookup(conn: AsyncConnection, value: str) -> object:
        return await store.get(conn, [value])
    return Subject("cm_handle_id", "cm handle", handle_id, lookup, AREA,
                   visibility=Visibility.PUBLIC)


def _matcher(kind: str, handle_id: str) -> Callable[[Event], bool]:
    def matches(e: Event) -> bool:
        return e.area == AREA and e.kind == kind and (not handle_id or e.key == handle_id)
    return matches
