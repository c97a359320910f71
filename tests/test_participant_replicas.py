"""The participant protocol through several server replicas on one PostgreSQL database: a
participant connected to one replica is registered and online on every replica, operations
started through any replica reach it, its acknowledgements complete them through whichever
replica they reach, and its going offline ends what waits on it once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_participant_flow import (
    DEPLOYED,
    LOCKED,
    NO_ERROR,
    PRIMED,
    TIMEOUT,
    acm,
    composition,
    element,
    names,
    participants,
    two_participants,
)

from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import BACKENDS, StartServer
from support import detail

pytestmark = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)


async def replicas(start_server: StartServer, count: int = 3, **overrides: float) -> list[App]:
    return [await start_server(**overrides) for _ in range(count)]


def southbound(channel: grpc.aio.Channel) -> ppb_grpc.ParticipantProtocolServiceStub:
    return ppb_grpc.ParticipantProtocolServiceStub(channel)


async def registered(channel: grpc.aio.Channel) -> Any:
    """Participant p1 (replica r1, type org.a) registered through `channel`; its message
    stream."""
    await southbound(channel).Register(ppb.RegisterRequest(
        participant_id="p1", replica_id="r1", element_types=["org.a"]))
    return southbound(channel).ReceiveMessages(ppb.ReceiveMessagesRequest(
        participant_id="p1", replica_id="r1"))


def online(listed: ppb.ListParticipantsResponse) -> dict[str, tuple[bool, list[str]]]:
    return {p.id: (p.online, list(p.online_replicas)) for p in listed.participants}


async def test_a_participant_on_a_primes_through_b_and_deploys_through_c(
        start_server: StartServer) -> None:
    a, b, c = await replicas(start_server)
    journal: list[tuple[str, str, str]] = []
    async with participants(a, *two_participants(journal)), acm(b) as via_b, \
            acm(c) as via_c:
        for via in (via_b, via_c):
            listed = await via.stub.ListParticipants(ppb.ListParticipantsRequest())
            assert online(listed) == {"p1": (True, ["r1"]), "p2": (True, ["r1"])}

        primed = await via_b.primed(composition())
        assert (primed.state, sorted(primed.acknowledged_types)) == (PRIMED, ["org.a", "org.b"])
        assert sorted(names(journal, "prime")) == ["e0", "e1", "e2"]

        await via_c.instance()
        deployed = await via_c.act("Deploy")
        assert (deployed.deploy_state, deployed.lock_state, deployed.result) == (
            DEPLOYED, LOCKED, NO_ERROR)
        assert names(journal, "deploy") == ["e0", "e1", "e2"]  # phase by phase

        # Several instances at once, their actions spread over B and C.
        ids = [f"inst-{n}" for n in range(6)]
        for n, instance_id in enumerate(ids):
            await (via_b if n % 2 else via_c).instance(instance_id)
        done = await asyncio.gather(*(
            (via_b if n % 2 else via_c).act("Deploy", instance_id)
            for n, instance_id in enumerate(ids)))
        assert {(i.deploy_state, i.result) for i in done} == {(DEPLOYED, NO_ERROR)}
        assert len(names(journal, "deploy")) == 3 + 3 * len(ids)


async def _message(stream: grpc.aio.UnaryStreamCall) -> ppb.ParticipantMessage:
    async with asyncio.timeout(10):
        return (await stream.read()).message  # type: ignore[no-any-return]


def _ack(message: ppb.ParticipantMessage, names_: Sequence[str]) -> ppb.AcknowledgeRequest:
    return ppb.AcknowledgeRequest(participant_id="p1", replica_id="r1", message_id=message.id,
                                  results=[ppb.ElementResult(name=n, success=True)
                                           for n in names_])


async def test_acknowledgements_complete_operations_through_any_replica(
        start_server: StartServer) -> None:
    a, b, c = await replicas(start_server)
    two_phases = composition(elements=[("e0", "org.a", 0), ("e1", "org.a", 1)])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{a.port}") as to_a, \
            grpc.aio.insecure_channel(f"127.0.0.1:{b.port}") as to_b, \
            grpc.aio.insecure_channel(f"127.0.0.1:{c.port}") as to_c, acm(b) as via_b:
        stream = await registered(to_a)
        try:
            await via_b.stub.CreateComposition(ppb.CreateCompositionRequest(
                composition=two_phases))
            started = (await via_b.stub.PrimeComposition(
                ppb.PrimeCompositionRequest(composition_id="comp"))).composition
            prime = await _message(stream)  # written by B, received on A
            assert prime.type == ppb.MESSAGE_TYPE_PRIME
            assert not (await southbound(to_c).Acknowledge(_ack(prime, ["org.a"]))).duplicate
            assert (await southbound(to_b).Acknowledge(_ack(prime, ["org.a"]))).duplicate
            assert (await via_b.composition_settles(started)).state == PRIMED

            await via_b.instance()
            started_i = (await via_b.stub.DeployInstance(
                ppb.DeployInstanceRequest(instance_id="inst"))).instance
            first = await _message(stream)
            assert [e.name for e in first.elements] == ["e0"]
            # The acknowledgement through C starts the next phase: C writes its message.
            await southbound(to_c).Acknowledge(_ack(first, ["e0"]))
            second = await _message(stream)
            assert [e.name for e in second.elements] == ["e1"] and second.id > first.id
            duplicates = await asyncio.gather(
                southbound(to_b).Acknowledge(_ack(second, ["e1"])),
                southbound(to_c).Acknowledge(_ack(second, ["e1"])))
            assert sorted(d.duplicate for d in duplicates) == [False, True]
            done = await via_b.settles(started_i)
            assert (done.deploy_state, done.lock_state, done.result) == (
                DEPLOYED, LOCKED, NO_ERROR)
            assert [element(done, n).deploy_state for n in ("e0", "e1")] == [DEPLOYED] * 2
        finally:
            stream.cancel()


async def test_a_participant_whose_heartbeat_stops_goes_offline_everywhere_once(
        start_server: StartServer, clock: ManualClock) -> None:
    apps = await replicas(start_server, participant_heartbeat_bound_seconds=10)
    a, b, c = apps
    async with grpc.aio.insecure_channel(f"127.0.0.1:{a.port}") as to_a, \
            acm(b) as via_b, acm(c) as via_c:
        stream = await registered(to_a)
        try:
            await via_b.stub.CreateComposition(ppb.CreateCompositionRequest(
                composition=composition(elements=[("e0", "org.a", 0)])))
            await via_b.stub.PrimeComposition(ppb.PrimeCompositionRequest(composition_id="comp"))
            await southbound(to_a).Acknowledge(_ack(await _message(stream), ["org.a"]))
            await via_b.instance()
            started = (await via_b.stub.DeployInstance(
                ppb.DeployInstanceRequest(instance_id="inst"))).instance
            await _message(stream)  # received, never answered: the participant dies

            clock.advance(11)
            for app in apps:  # every replica lets its clock reach now (and may act)
                await app.acm.tick()
            ended = await via_c.settles(started)
            assert (ended.deploy_state, ended.result) == (ppb.DEPLOY_STATE_DEPLOYING, TIMEOUT)
            assert "p1" in ended.status_message
            for app in apps:
                async with acm(app) as via:
                    listed = await via.stub.ListParticipants(ppb.ListParticipantsRequest())
                    (p1,) = listed.participants
                    assert (p1.online, list(p1.offline_replicas)) == (False, ["r1"])

            # Once: after a later write has reached C's watch, the timeout is there once.
            await c.acm.tick()
            await via_b.instance("marker")
            await via_c.instances.wait_for(lambda col: any(
                e.instance.id == "marker" for e in col.events))
            timeouts = [e for e in via_c.instances.events
                        if e.instance.id == "inst" and e.instance.result == TIMEOUT]
            assert len(timeouts) == 1

            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await via_c.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="inst"))
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert [v.subject for v in detail(
                refused.value, error_details_pb2.PreconditionFailure).violations] == [
                "participants/p1"]
        finally:
            stream.cancel()


async def test_one_element_type_claimed_through_two_replicas_goes_to_one_participant(
        start_server: StartServer) -> None:
    a, b = await replicas(start_server, 2)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{a.port}") as to_a, \
            grpc.aio.insecure_channel(f"127.0.0.1:{b.port}") as to_b:
        outcomes = await asyncio.gather(*(
            southbound(channel).Register(ppb.RegisterRequest(
                participant_id=participant_id, replica_id="r1", element_types=["org.x"]))
            for channel, participant_id in ((to_a, "p1"), (to_b, "p2"))),
            return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(errors) == 1
        assert errors[0].code() == grpc.StatusCode.FAILED_PRECONDITION
        listed = await ppb_grpc.AutomationCompositionServiceStub(to_b).ListParticipants(
            ppb.ListParticipantsRequest())
        assert [(p.id, list(p.element_types)) for p in listed.participants] == [
            ("p2" if outcomes[0] is errors[0] else "p1", ["org.x"])]

