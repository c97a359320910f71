"""AutomationCompositionService (northbound) and ParticipantProtocolService (southbound): they
validate and convert; the runtime does the rest.

Compositions belong to a project (`ownership`), and their instances to theirs: a caller sees
and acts on those of its projects only; the others are as if they did not exist. Participants
are shared by every project (their listing is public, and their messages carry every project's
elements)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.participant.v1 import participant_pb2_grpc as pb_grpc
from switchboard.server import idempotency, ownership
from switchboard.server.errors import (
    AlreadyExists,
    FailedPrecondition,
    PreconditionViolation,
    Violations,
    require_ids,
)
from switchboard.server.eventlog import Event
from switchboard.server.ownership import Visibility
from switchboard.server.paging import decode_revision_token, page, page_size
from switchboard.server.participant import changes, store
from switchboard.server.participant.changes import AREA, COMPOSITION_KINDS, INSTANCE_KINDS
from switchboard.server.participant.convert import (
    composition_pb,
    instance_pb,
    participant_pb,
    struct_dict,
    timeouts_us,
)
from switchboard.server.participant.runtime import (
    Result,
    Runtime,
    composition_not_found,
    instance_not_found,
    refused,
    visible_composition,
)
from switchboard.server.participant.states import (
    ActionRefused,
    CompositionAction,
    CompositionState,
    CompositionStatus,
    InstanceAction,
    check_composition_action,
)
from switchboard.server.participant.store import (
    Composition,
    Element,
    ElementDefinition,
    Instance,
)
from switchboard.server.rpc import Context
from switchboard.server.watch import Hub, Subject, check_start_revision


def _check_timeouts(t: pb.OperationTimeouts, path: str, v: Violations) -> dict[str, int]:
    found = timeouts_us(t)
    for name, value in found.items():
        if value <= 0:
            v.add(f"{path}.{name}", "must be positive")
    return found


def _definitions(c: pb.Composition, v: Violations) -> tuple[ElementDefinition, ...]:
    if not c.elements:
        v.add("composition.elements", "needs at least one element")
    names: set[str] = set()
    out = []
    for n, e in enumerate(c.elements):
        path = f"composition.elements[{n}]"
        v.require(f"{path}.name", e.name)
        if e.name in names:
            v.add(f"{path}.name", f"duplicate element name {e.name!r}")
        names.add(e.name)
        v.require(f"{path}.type", e.type)
        if e.start_phase < 0:
            v.add(f"{path}.start_phase", "must not be negative")
        for k, prop in enumerate(e.required_properties):
            v.require(f"{path}.required_properties[{k}]", prop)
        out.append(ElementDefinition(
            name=e.name, type=e.type, version=e.version, start_phase=e.start_phase,
            properties=struct_dict(e.properties),
            required_properties=tuple(e.required_properties),
            timeouts_us=_check_timeouts(e.timeouts, f"{path}.timeouts", v)))
    return tuple(out)


def _check_required(d: ElementDefinition, properties: dict[str, Any], path: str,
                    v: Violations) -> None:
    for prop in d.required_properties:
        if prop not in properties:
            v.add(f"{path}.properties.{prop}", f"is required by element {d.name!r}")


def _element_properties(given: Any, c: Composition, path: str,
                        v: Violations) -> dict[str, dict[str, Any]]:
    """Properties given per element name, checked against the composition's elements."""
    known = {d.name for d in c.elements}
    out: dict[str, dict[str, Any]] = {}
    for n, e in enumerate(given):
        if e.name not in known:
            v.add(f"{path}[{n}].name", f"unknown element {e.name!r} of composition {c.id!r}")
        elif e.name in out:
            v.add(f"{path}[{n}].name", f"duplicate element {e.name!r}")
        else:
            out[e.name] = struct_dict(e.properties)
    return out


class AutomationCompositionServicer(pb_grpc.AutomationCompositionServiceServicer):
    """The northbound gRPC surface."""

    def __init__(self, runtime: Runtime, hub: Hub) -> None:
        self.runtime = runtime
        self.db = runtime.events.db
        self.hub = hub

    async def CreateComposition(self, request: pb.CreateCompositionRequest,
                                context: Context) -> pb.CreateCompositionResponse:
        v = Violations(AREA)
        if not request.HasField("composition"):
            v.add("composition", "is required")
        body = request.composition
        v.require("composition.id", body.id)
        seen = ownership.current()
        new = Composition(id=body.id, elements=_definitions(body, v),
                          timeouts_us=_check_timeouts(body.timeouts, "composition.timeouts", v),
                          project=seen.project_for(request.project, v))
        v.raise_if_any()
        async with self.runtime.write() as tx:
            earlier = await idempotency.claim(tx.conn, "CreateComposition", request.request_id)
            if earlier is not None:
                found = await store.get_composition(tx.conn, earlier)
                if found is None and seen.everything:
                    raise composition_not_found(earlier)
                if found is None or not seen.sees(found.project):
                    # (A deleted one's project is not known: its id is not told either.)
                    raise idempotency.in_use(request.request_id, AREA)
                return pb.CreateCompositionResponse(composition=composition_pb(found))
            if await store.get_composition(tx.conn, body.id) is not None:
                raise AlreadyExists(
                    message=f"composition {body.id!r} already exists",
                    reason="COMPOSITION_EXISTS", area=AREA, resource_type="composition",
                    resource_name=body.id)
            created = await changes.create_composition(tx, new)
            idempotency.remember(tx, "CreateComposition", request.request_id, created.id)
        return pb.CreateCompositionResponse(composition=composition_pb(created))

    async def GetComposition(self, request: pb.GetCompositionRequest,
                             context: Context) -> pb.GetCompositionResponse:
        require_ids(AREA, ("composition_id", request.composition_id))
        async with self.db.read() as conn:
            found = visible_composition(
                await store.get_composition(conn, request.composition_id), ownership.current())
        if found is None:
            raise composition_not_found(request.composition_id)
        return pb.GetCompositionResponse(composition=composition_pb(found))

    async def ListCompositions(self, request: pb.ListCompositionsRequest,
                               context: Context) -> pb.ListCompositionsResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        v.raise_if_any()
        async with self.db.read() as conn:
            found = await store.list_compositions(
                conn, after, size + 1, projects=ownership.current().visible_projects())
        compositions, token = page(request, found, size, lambda x: x.created_revision,
                                   composition_pb)
        return pb.ListCompositionsResponse(compositions=compositions, next_page_token=token)

    async def DeleteComposition(self, request: pb.DeleteCompositionRequest,
                                context: Context) -> pb.DeleteCompositionResponse:
        require_ids(AREA, ("composition_id", request.composition_id))
        async with self.runtime.write() as tx:
            found = visible_composition(
                await store.get_composition(tx.conn, request.composition_id, lock=True),
                ownership.current())
            if found is None:
                raise composition_not_found(request.composition_id)
            try:
                check_composition_action(CompositionStatus(found.state, found.result),
                                         CompositionAction.DELETE)
            except ActionRefused as error:
                raise refused(error, f"compositions/{found.id}") from error
            await changes.delete_composition(tx, found)
        return pb.DeleteCompositionResponse(composition=composition_pb(found))

    async def PrimeComposition(self, request: pb.PrimeCompositionRequest,
                               context: Context) -> pb.PrimeCompositionResponse:
        require_ids(AREA, ("composition_id", request.composition_id))
        c = await self.runtime.prime(request.composition_id, CompositionAction.PRIME)
        return pb.PrimeCompositionResponse(composition=composition_pb(c))

    async def DeprimeComposition(self, request: pb.DeprimeCompositionRequest,
                                 context: Context) -> pb.DeprimeCompositionResponse:
        require_ids(AREA, ("composition_id", request.composition_id))
        c = await self.runtime.prime(request.composition_id, CompositionAction.DEPRIME)
        return pb.DeprimeCompositionResponse(composition=composition_pb(c))

    async def CreateInstance(self, request: pb.CreateInstanceRequest,
                             context: Context) -> pb.CreateInstanceResponse:
        v = Violations(AREA)
        if not request.HasField("instance"):
            v.add("instance", "is required")
        body = request.instance
        v.require("instance.id", body.id)
        v.require("instance.composition_id", body.composition_id)
        v.raise_if_any()
        seen = ownership.current()
        async with self.runtime.write() as tx:
            earlier = await idempotency.claim(tx.conn, "CreateInstance", request.request_id)
            if earlier is not None:
                found = await store.get_instance(tx.conn, earlier)
                if found is None and seen.everything:
                    raise instance_not_found(earlier)
                if found is None or not seen.sees(found.project):
                    raise idempotency.in_use(request.request_id, AREA)
                return pb.CreateInstanceResponse(instance=instance_pb(found))
            # Another project's composition is as unknown as one that does not exist.
            c = visible_composition(
                await store.get_composition(tx.conn, body.composition_id, lock=True), seen)
            elements = []
            if c is None:
                v.add("instance.composition_id", f"unknown composition {body.composition_id!r}")
            else:
                given = _element_properties(body.elements, c, "instance.elements", v)
                for d in c.elements:
                    properties = {**d.properties, **given.get(d.name, {})}
                    _check_required(d, properties, f"instance.elements[{d.name}]", v)
                    elements.append(Element(name=d.name, type=d.type, version=d.version,
                                            start_phase=d.start_phase, properties=properties))
            v.raise_if_any()
            assert c is not None
            if c.state is not CompositionState.PRIMED:
                raise FailedPrecondition(
                    message=f"composition {c.id!r} is not primed: it is in "
                            f"{CompositionStatus(c.state, c.result)}",
                    reason="COMPOSITION_NOT_PRIMED", area=AREA,
                    violations=[PreconditionViolation(
                        "STATE", f"compositions/{c.id}",
                        f"the composition is in {CompositionStatus(c.state, c.result)}")])
            if await store.get_instance(tx.conn, body.id) is not None:
                raise AlreadyExists(
                    message=f"instance {body.id!r} already exists", reason="INSTANCE_EXISTS",
                    area=AREA, resource_type="instance", resource_name=body.id)
            created = await changes.create_instance(tx, Instance(
                id=body.id, composition_id=c.id, elements=tuple(elements), project=c.project))
            idempotency.remember(tx, "CreateInstance", request.request_id, created.id)
        return pb.CreateInstanceResponse(instance=instance_pb(created))

    async def GetInstance(self, request: pb.GetInstanceRequest,
                          context: Context) -> pb.GetInstanceResponse:
        require_ids(AREA, ("instance_id", request.instance_id))
        async with self.db.read() as conn:
            found = await store.get_instance(conn, request.instance_id)
        if found is None or not ownership.current().sees(found.project):
            raise instance_not_found(request.instance_id)
        return pb.GetInstanceResponse(instance=instance_pb(found))

    async def ListInstances(self, request: pb.ListInstancesRequest,
                            context: Context) -> pb.ListInstancesResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        v.raise_if_any()
        async with self.db.read() as conn:
            found = await store.list_instances(conn, request.composition_id, after, size + 1,
                                               ownership.current().visible_projects())
        instances, token = page(request, found, size, lambda x: x.created_revision, instance_pb)
        return pb.ListInstancesResponse(instances=instances, next_page_token=token)

    async def _act(self, instance_id: str, action: InstanceAction) -> pb.Instance:
        require_ids(AREA, ("instance_id", instance_id))
        return instance_pb(await self.runtime.instance_action(instance_id, action))

    async def DeployInstance(self, request: pb.DeployInstanceRequest,
                             context: Context) -> pb.DeployInstanceResponse:
        return pb.DeployInstanceResponse(
            instance=await self._act(request.instance_id, InstanceAction.DEPLOY))

    async def UndeployInstance(self, request: pb.UndeployInstanceRequest,
                               context: Context) -> pb.UndeployInstanceResponse:
        return pb.UndeployInstanceResponse(
            instance=await self._act(request.instance_id, InstanceAction.UNDEPLOY))

    async def LockInstance(self, request: pb.LockInstanceRequest,
                           context: Context) -> pb.LockInstanceResponse:
        return pb.LockInstanceResponse(
            instance=await self._act(request.instance_id, InstanceAction.LOCK))

    async def UnlockInstance(self, request: pb.UnlockInstanceRequest,
                             context: Context) -> pb.UnlockInstanceResponse:
        return pb.UnlockInstanceResponse(
            instance=await self._act(request.instance_id, InstanceAction.UNLOCK))

    async def DeleteInstance(self, request: pb.DeleteInstanceRequest,
                             context: Context) -> pb.DeleteInstanceResponse:
        return pb.DeleteInstanceResponse(
            instance=await self._act(request.instance_id, InstanceAction.DELETE))

    async def UpdateInstance(self, request: pb.UpdateInstanceRequest,
                             context: Context) -> pb.UpdateInstanceResponse:
        v = Violations(AREA)
        v.require("instance_id", request.instance_id)
        if not request.elements:
            v.add("elements", "needs at least one element")
        v.raise_if_any()
        async with self.db.read() as conn:
            i = await store.get_instance(conn, request.instance_id)
            c = None if i is None else await store.get_composition(conn, i.composition_id)
        if i is None or c is None or not ownership.current().sees(i.project):
            raise instance_not_found(request.instance_id)
        given = _element_properties(request.elements, c, "elements", v)
        for d in c.elements:
            if d.name in given:
                _check_required(d, {**d.properties, **given[d.name]}, f"elements[{d.name}]", v)
        v.raise_if_any()
        updated = await self.runtime.instance_action(request.instance_id,
                                                     InstanceAction.UPDATE, given)
        return pb.UpdateInstanceResponse(instance=instance_pb(updated))

    async def MigrateInstance(self, request: pb.MigrateInstanceRequest,
                              context: Context) -> pb.MigrateInstanceResponse:
        require_ids(AREA, ("instance_id", request.instance_id),
                    ("composition_id", request.composition_id))
        action = (InstanceAction.MIGRATE_PRECHECK if request.precheck
                  else InstanceAction.MIGRATE)
        return pb.MigrateInstanceResponse(instance=instance_pb(await self.runtime.instance_action(
            request.instance_id, action, target=request.composition_id,
            request_id=request.request_id)))

    async def ListParticipants(self, request: pb.ListParticipantsRequest,
                               context: Context) -> pb.ListParticipantsResponse:
        views = await self.runtime.participants()
        return pb.ListParticipantsResponse(participants=[participant_pb(p) for p in views])

    async def RequestParticipantStatus(self, request: pb.RequestParticipantStatusRequest,
                                       context: Context
                                       ) -> pb.RequestParticipantStatusResponse:
        v = Violations(AREA)
        v.require("participant_id", request.participant_id)
        v.raise_if_any()
        replicas = await self.runtime.request_status(request.participant_id)
        return pb.RequestParticipantStatusResponse(replica_ids=replicas)

    async def WatchCompositions(self, request: pb.WatchCompositionsRequest,
                                context: Context) -> AsyncIterator[bytes]:
        check_start_revision(request.start_revision, AREA)
        composition_id = request.composition_id

        def matches(e: Event) -> bool:
            return (e.area == AREA and e.kind in COMPOSITION_KINDS
                    and (not composition_id or e.key == composition_id))

        async for response in self.hub.responses(request.start_revision, matches, AREA,
                                                 _composition_subject(composition_id),
                                                 visibility=Visibility.OWNED):
            yield response

    async def WatchInstances(self, request: pb.WatchInstancesRequest,
                             context: Context) -> AsyncIterator[bytes]:
        check_start_revision(request.start_revision, AREA)
        instance_id, composition_id = request.instance_id, request.composition_id

        def matches(e: Event) -> bool:
            return (e.area == AREA and e.kind in INSTANCE_KINDS
                    and (not instance_id or e.key == instance_id)
                    and (not composition_id or e.scope == composition_id))

        async for response in self.hub.responses(
                request.start_revision, matches, AREA, _composition_subject(composition_id),
                Subject("instance_id", "instance", instance_id, store.get_instance, AREA,
                        INSTANCE_KINDS), visibility=Visibility.OWNED):
            yield response


def _composition_subject(composition_id: str) -> Subject:
    return Subject("composition_id", "composition", composition_id, store.get_composition,
                   AREA, COMPOSITION_KINDS)


def _check_replica(participant_id: str, replica_id: str) -> None:
    v = Violations(AREA)
    v.require("participant_id", participant_id)
    v.require("replica_id", replica_id)
    v.raise_if_any()


class ParticipantProtocolServicer(pb_grpc.ParticipantProtocolServiceServicer):
    """The southbound gRPC surface, used by participants."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def Register(self, request: pb.RegisterRequest,
                       context: Context) -> pb.RegisterResponse:
        v = Violations(AREA)
        v.require("participant_id", request.participant_id)
        v.require("replica_id", request.replica_id)
        for n, t in enumerate(request.element_types):
            v.require(f"element_types[{n}]", t)
        v.raise_if_any()
        rejoined = await self.runtime.register(request.participant_id, request.replica_id,
                                               list(request.element_types))
        response = pb.RegisterResponse(rejoined=rejoined)
        response.heartbeat_interval.FromMicroseconds(
            self.runtime.settings.heartbeat_bound_us // 3)
        return response

    async def Deregister(self, request: pb.DeregisterRequest,
                         context: Context) -> pb.DeregisterResponse:
        _check_replica(request.participant_id, request.replica_id)
        await self.runtime.deregister(request.participant_id, request.replica_id)
        return pb.DeregisterResponse()

    async def ReceiveMessages(self, request: pb.ReceiveMessagesRequest,
                              context: Context) -> AsyncIterator[pb.ReceiveMessagesResponse]:
        _check_replica(request.participant_id, request.replica_id)
        participant_id, replica_id = request.participant_id, request.replica_id
        await self.runtime.touch(participant_id, replica_id)
        async with self.runtime.mailbox(participant_id, replica_id) as mailbox:
            while not self.runtime.closed:
                mailbox.event.clear()
                found = await self.runtime.pending(mailbox)
                for message in found:
                    yield pb.ReceiveMessagesResponse(message=message)
                if not found:
                    await mailbox.event.wait()

    async def Acknowledge(self, request: pb.AcknowledgeRequest,
                          context: Context) -> pb.AcknowledgeResponse:
        _check_replica(request.participant_id, request.replica_id)
        results = [Result(r.name, r.success, r.message,
                          struct_dict(r.out_properties) if r.HasField("out_properties")
                          else None) for r in request.results]
        applied = await self.runtime.acknowledge(request.participant_id, request.replica_id,
                                                 request.message_id, results)
        return pb.AcknowledgeResponse(duplicate=not applied)

    async def ReportStatus(self, request: pb.ReportStatusRequest,
                           context: Context) -> pb.ReportStatusResponse:
        _check_replica(request.participant_id, request.replica_id)
        rejected = await self.runtime.report_status(request.participant_id,
                                                    request.replica_id, list(request.elements))
        return pb.ReportStatusResponse(rejected=rejected)
