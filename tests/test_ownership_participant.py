"""Ownership and audit of the participant protocol, through real gRPC with an authorizing server
and simulated participants holding their own tokens: compositions belong to a project and their
instances to theirs; another project's are as if they did not exist (Get, List, every action,
watches); participants are shared by all projects; every event says who caused it (the caller,
the participant whose acknowledgement or report it applies, @server for timeouts)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_authz import refusal
from test_participant_flow import (
    DEPLOYED,
    DEPLOYING,
    HEARTBEAT,
    LOCKED,
    NO_ERROR,
    PRIMED,
    TIMEOUT,
    Acm,
    acm_of,
    composition,
    element,
)

from switchboard.client import AsyncClient
from switchboard.client.participant import Participant
from switchboard.client.simparticipant import SimSettings, SimulatedHandler
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import Collector, bad_fields, detail
from tokens import Issuer, Principals, authorizing

POLICY = """
[principals]
alice = ["operator", "viewer"]
bob = ["operator", "viewer"]
multi = ["operator", "viewer"]
loner = ["operator", "viewer"]
adam = ["admin"]
part-1 = ["participant:p1"]
part-2 = ["participant:p2"]

[projects]
blue = { principals = ["alice", "multi"] }
red = { principals = ["bob", "multi"] }
"""

TWO = (("e0", "org.a", 0), ("e1", "org.b", 1))
"""Phase 0 on p1 (org.a), phase 1 on p2 (org.b)."""

Clients = Callable[[str], AsyncClient]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def authz_server(start_server: StartServer, tmp_path: Path, issuer: Issuer) -> App:
    return await start_server(**authorizing(tmp_path, issuer, POLICY))


@pytest.fixture
async def as_principal(authz_server: App, issuer: Issuer,
                       clock: ManualClock) -> AsyncIterator[Clients]:
    async with Principals(authz_server.port, issuer, clock) as clients:
        yield clients


@contextlib.asynccontextmanager
async def participants(app: App, issuer: Issuer, clock: ManualClock,
                       sim_b: SimSettings | None = None) -> AsyncIterator[list[Participant]]:
    """p1 (org.a, principal part-1) and p2 (org.b, principal part-2), each with its token."""
    started = []
    try:
        for principal, participant_id, types, sim in (("part-1", "p1", ["org.a"], None),
                                                      ("part-2", "p2", ["org.b"], sim_b)):
            p = Participant(f"127.0.0.1:{app.port}", participant_id, "r1", types,
                            SimulatedHandler(sim, participant_id), heartbeat_interval=HEARTBEAT,
                            retry_delay=0.02, token=issuer.token(principal, clock.now()))
            await p.start()
            started.append(p)
        yield started
    finally:
        for p in started:
            await p.stop()


async def not_found_as_unknown(call: Any, unknown: Any, resource_id: str,
                               unknown_id: str) -> None:
    """`call` fails exactly as `unknown` (on an id that never existed) does."""
    shapes = []
    for c, i in ((call, resource_id), (unknown, unknown_id)):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await c
        info = detail(raised.value, error_details_pb2.ErrorInfo)
        resource = detail(raised.value, error_details_pb2.ResourceInfo)
        shapes.append((raised.value.code(), raised.value.details().replace(i, "ID"),
                       info.reason, info.domain, resource.resource_type,
                       resource.resource_name.replace(i, "ID")))
    assert shapes[0] == shapes[1]
    assert shapes[0][0] is grpc.StatusCode.NOT_FOUND


def caused_by(events: Sequence[Any], key: Callable[[Any], Any]) -> list[tuple[Any, str]]:
    return [(key(e), e.caused_by) for e in events]


async def test_compositions_of_another_project_are_as_if_absent(
        as_principal: Clients, authz_server: App, issuer: Issuer,
        clock: ManualClock) -> None:
    alice, bob = as_principal("alice").compositions, as_principal("bob").compositions
    bob_watch = await Collector(bob.WatchCompositions(ppb.WatchCompositionsRequest())).live()
    async with participants(authz_server, issuer, clock), \
            acm_of(as_principal("alice")) as a:
        primed = await a.primed(composition("blue-c", TWO[:1]))
        assert primed.project == "blue"
        for n in range(1, 3):
            await alice.CreateComposition(ppb.CreateCompositionRequest(
                composition=composition(f"blue-{n}")))
            await bob.CreateComposition(ppb.CreateCompositionRequest(
                composition=composition(f"red-{n}")))

        # The caller's and the participant's writes each record their principal.
        assert caused_by([e for e in a.compositions.events if e.composition.id == "blue-c"],
                         lambda e: (e.type, e.composition.state)) == [
            ((ppb.COMPOSITION_EVENT_TYPE_CREATED, ppb.COMPOSITION_STATE_COMMISSIONED), "alice"),
            ((ppb.COMPOSITION_EVENT_TYPE_CHANGED, ppb.COMPOSITION_STATE_PRIMING), "alice"),
            ((ppb.COMPOSITION_EVENT_TYPE_CHANGED, PRIMED), "part-1")]
        assert {e.composition.project for e in a.compositions.events} == {"blue"}

        for name, request in (("GetComposition", ppb.GetCompositionRequest),
                              ("DeleteComposition", ppb.DeleteCompositionRequest),
                              ("PrimeComposition", ppb.PrimeCompositionRequest),
                              ("DeprimeComposition", ppb.DeprimeCompositionRequest)):
            method = getattr(bob, name)
            await not_found_as_unknown(method(request(composition_id="blue-c")),
                                       method(request(composition_id="ghost")),
                                       "blue-c", "ghost")
        still = (await alice.GetComposition(ppb.GetCompositionRequest(
            composition_id="blue-c"))).composition
        assert (still.state, still.revision) == (PRIMED, primed.revision)

        # Lists: each project's own, page by page.
        async def listed(stub: Any) -> list[str]:
            ids, token = [], ""
            while True:
                page = await stub.ListCompositions(ppb.ListCompositionsRequest(
                    page_size=1, page_token=token))
                ids += [c.id for c in page.compositions]
                token = page.next_page_token
                if not token:
                    return ids
        assert await listed(alice) == ["blue-c", "blue-1", "blue-2"]
        assert await listed(bob) == ["red-1", "red-2"]
        assert await listed(as_principal("adam").compositions) == [
            "blue-c", "blue-1", "red-1", "blue-2", "red-2"]

        # Watches: none of another project's events; naming its composition is NOT_FOUND.
        assert (await refusal(bob.WatchCompositions(ppb.WatchCompositionsRequest(
            composition_id="blue-c")).read()))[0] is grpc.StatusCode.NOT_FOUND
        await bob_watch.wait_for(lambda c: any(e.composition.id == "red-2" for e in c.events))
        assert [e.composition.id for e in bob_watch.events] == ["red-1", "red-2"]
        assert [e.caused_by for e in bob_watch.events] == ["bob", "bob"]
        replayed = await Collector(bob.WatchCompositions(ppb.WatchCompositionsRequest(
            start_revision=1))).live()
        assert [e.composition.id for e in replayed.events] == ["red-1", "red-2"]
        await replayed.close()
    await bob_watch.close()


async def test_the_project_a_composition_is_created_in(as_principal: Clients) -> None:
    adam, alice = as_principal("adam").compositions, as_principal("alice").compositions
    multi, loner = as_principal("multi").compositions, as_principal("loner").compositions

    async def create(stub: Any, composition_id: str, project: str = "") -> ppb.Composition:
        response = await stub.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition(composition_id), project=project))
        return response.composition

    assert (await create(adam, "for-red", "red")).project == "red"
    assert (await create(adam, "of-none")).project == ""
    assert (await create(multi, "multi-red", "red")).project == "red"
    assert await refusal(create(alice, "stolen", "red")) == (
        grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert await refusal(create(loner, "nowhere")) == (
        grpc.StatusCode.PERMISSION_DENIED, "NO_PROJECT")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await create(multi, "which")
    assert (raised.value.code(), bad_fields(raised.value)) == (
        grpc.StatusCode.INVALID_ARGUMENT, {"project"})
    bob = as_principal("bob").compositions
    assert (await bob.GetComposition(ppb.GetCompositionRequest(
        composition_id="for-red"))).composition.project == "red"
    # No project: admins only.
    for stub in (alice, bob):
        assert (await refusal(stub.GetComposition(ppb.GetCompositionRequest(
            composition_id="of-none"))))[0] is grpc.StatusCode.NOT_FOUND
    listed = await multi.ListCompositions(ppb.ListCompositionsRequest())
    assert [c.id for c in listed.compositions] == ["for-red", "multi-red"]


async def test_a_request_id_that_made_another_projects_resource_is_in_use(
        as_principal: Clients, authz_server: App, issuer: Issuer,
        clock: ManualClock) -> None:
    alice, bob = as_principal("alice").compositions, as_principal("bob").compositions
    async with participants(authz_server, issuer, clock), \
            acm_of(as_principal("alice")) as a:
        await alice.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("blue-c", TWO[:1]), request_id="req-c"))
        again = await alice.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("blue-c", TWO[:1]), request_id="req-c"))
        assert again.composition.id == "blue-c"
        assert await refusal(bob.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("red-c"), request_id="req-c"))) == (
            grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")
        started = await alice.PrimeComposition(ppb.PrimeCompositionRequest(
            composition_id="blue-c"))
        await a.composition_settles(started.composition)
        await alice.CreateInstance(ppb.CreateInstanceRequest(
            instance=ppb.Instance(id="blue-i", composition_id="blue-c"), request_id="req-i"))
        assert await refusal(bob.CreateInstance(ppb.CreateInstanceRequest(
            instance=ppb.Instance(id="red-i", composition_id="blue-c"),
            request_id="req-i"))) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")
    listed = await bob.ListCompositions(ppb.ListCompositionsRequest())
    assert list(listed.compositions) == []
    # One deleted since: its project is not known any more, and its id is not told.
    await alice.CreateComposition(ppb.CreateCompositionRequest(
        composition=composition("blue-gone"), request_id="req-gone"))
    await alice.DeleteComposition(ppb.DeleteCompositionRequest(composition_id="blue-gone"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await bob.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("red-c"), request_id="req-gone"))
    assert raised.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert "blue-gone" not in raised.value.details()


async def test_instances_of_another_project_are_as_if_absent_and_events_name_their_cause(
        as_principal: Clients, authz_server: App, issuer: Issuer,
        clock: ManualClock) -> None:
    alice, bob = as_principal("alice").compositions, as_principal("bob").compositions
    bob_watch = await Collector(bob.WatchInstances(ppb.WatchInstancesRequest())).live()
    async with participants(authz_server, issuer, clock) as (p1, _), \
            acm_of(as_principal("alice")) as a:
        await a.primed(composition("blue-c", TWO))
        created = await a.instance("blue-i", "blue-c")
        assert created.project == "blue"

        # Another project's composition is as unknown as one that does not exist.
        shapes = []
        for composition_id in ("blue-c", "ghost"):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await bob.CreateInstance(ppb.CreateInstanceRequest(instance=ppb.Instance(
                    id="red-i", composition_id=composition_id)))
            shapes.append((raised.value.code(), bad_fields(raised.value),
                           raised.value.details().replace(composition_id, "ID")))
        assert shapes[0] == shapes[1]
        assert shapes[0][:2] == (grpc.StatusCode.INVALID_ARGUMENT, {"instance.composition_id"})

        deployed = await a.act("Deploy", "blue-i")
        assert (deployed.deploy_state, deployed.lock_state) == (DEPLOYED, LOCKED)
        p1.report("blue-i", "e0", use_state="IN_USE")
        await a.instances.wait_for(lambda c: any(
            element(e.instance, "e0").use_state == "IN_USE" for e in c.events))
        # created and DEPLOYING by alice; e0 done and e1 messaged on part-1's acknowledgement;
        # DEPLOYED on part-2's; the status report by part-1.
        assert caused_by(a.instances.events, lambda e: (
            e.instance.deploy_state, element(e.instance, "e0").deploy_state,
            element(e.instance, "e0").use_state)) == [
            ((ppb.DEPLOY_STATE_UNDEPLOYED, ppb.DEPLOY_STATE_UNDEPLOYED, ""), "alice"),
            ((DEPLOYING, DEPLOYING, ""), "alice"),
            ((DEPLOYING, DEPLOYED, ""), "part-1"),
            ((DEPLOYED, DEPLOYED, ""), "part-2"),
            ((DEPLOYED, DEPLOYED, "IN_USE"), "part-1")]
        assert {e.instance.project for e in a.instances.events} == {"blue"}
        current = (await alice.GetInstance(ppb.GetInstanceRequest(
            instance_id="blue-i"))).instance

        update = ppb.UpdateInstanceRequest(instance_id="blue-i")
        update.elements.add(name="e0").properties.update({"size": 1})
        unknown_update = ppb.UpdateInstanceRequest()
        unknown_update.CopyFrom(update)
        unknown_update.instance_id = "ghost"
        await not_found_as_unknown(bob.UpdateInstance(update),
                                   bob.UpdateInstance(unknown_update), "blue-i", "ghost")
        for name in ("Get", "Deploy", "Undeploy", "Lock", "Unlock", "Delete"):
            method = getattr(bob, f"{name}Instance")
            request = getattr(ppb, f"{name}InstanceRequest")
            await not_found_as_unknown(method(request(instance_id="blue-i")),
                                       method(request(instance_id="ghost")),
                                       "blue-i", "ghost")
        after = (await alice.GetInstance(ppb.GetInstanceRequest(instance_id="blue-i"))).instance
        assert (after.revision, after.deploy_state, after.lock_state) == (
            current.revision, DEPLOYED, LOCKED)
        assert element(after, "e0").properties == element(current, "e0").properties

        for request in (ppb.ListInstancesRequest(),
                        ppb.ListInstancesRequest(composition_id="blue-c")):
            assert list((await bob.ListInstances(request)).instances) == []
            assert [i.id for i in (await alice.ListInstances(request)).instances] == ["blue-i"]
        for request in (ppb.WatchInstancesRequest(instance_id="blue-i"),
                        ppb.WatchInstancesRequest(composition_id="blue-c")):
            assert (await refusal(bob.WatchInstances(request).read()))[0] \
                is grpc.StatusCode.NOT_FOUND

        # The admin sees and acts on every project's instances; its events name it.
        adam = as_principal("adam").compositions
        unlocking = (await adam.UnlockInstance(ppb.UnlockInstanceRequest(
            instance_id="blue-i"))).instance
        assert unlocking.project == "blue"
        await a.settles(unlocking)
        assert [e.caused_by for e in a.instances.events
                if e.revision >= unlocking.revision] == ["adam", "part-1", "part-2"]

        # Bob's own instance: bob's watch sees its events and none of blue's.
        await adam.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("red-c", TWO[:1]), project="red"))
        await adam.PrimeComposition(ppb.PrimeCompositionRequest(composition_id="red-c"))
        red = Acm(as_principal("bob"))
        await red.compositions.wait_for(lambda c: any(
            e.composition.id == "red-c" and e.composition.state == PRIMED for e in c.events))
        await red.close()
        await bob.CreateInstance(ppb.CreateInstanceRequest(instance=ppb.Instance(
            id="red-i", composition_id="red-c")))
        await bob_watch.wait_for(lambda c: any(e.instance.id == "red-i" for e in c.events))
        assert [(e.instance.id, e.caused_by) for e in bob_watch.events] == [("red-i", "bob")]

        # Participants are everyone's.
        for stub in (alice, bob):
            listed = await stub.ListParticipants(ppb.ListParticipantsRequest())
            assert [p.id for p in listed.participants] == ["p1", "p2"]
        asked = await bob.RequestParticipantStatus(ppb.RequestParticipantStatusRequest(
            participant_id="p1"))
        assert list(asked.replica_ids) == ["r1"]
    await bob_watch.close()


async def test_a_timeout_is_caused_by_the_server(as_principal: Clients, authz_server: App,
                                                 issuer: Issuer, clock: ManualClock) -> None:
    silent = SimSettings(silent={"org.b:deploy"})
    async with participants(authz_server, issuer, clock, sim_b=silent), \
            acm_of(as_principal("alice")) as a:
        await a.primed(composition("blue-c", TWO, deploy_timeout=5))
        await a.instance("blue-i", "blue-c")
        started = (await a.stub.DeployInstance(ppb.DeployInstanceRequest(
            instance_id="blue-i"))).instance
        await a.instances.wait_for(lambda c: any(
            element(e.instance, "e0").deploy_state == DEPLOYED for e in c.events))
        clock.advance(5)
        ended = await a.settles(started)
        assert (ended.deploy_state, ended.result) == (DEPLOYING, TIMEOUT)
        assert [(e.instance.result, e.caused_by) for e in a.instances.events
                if e.revision >= started.revision] == [
            (NO_ERROR, "alice"), (NO_ERROR, "part-1"), (TIMEOUT, "@server")]


async def test_without_authorization_events_name_no_one_and_no_project(
        server: App) -> None:
    async with AsyncClient(f"127.0.0.1:{server.port}") as client:
        watch = await Collector(client.compositions.WatchCompositions(
            ppb.WatchCompositionsRequest())).live()
        created = await client.compositions.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("c")))
        assert created.composition.project == ""
        await watch.wait_for(lambda c: c.events)
        assert [(e.caused_by, e.composition.project) for e in watch.events] == [("", "")]
        await watch.close()
