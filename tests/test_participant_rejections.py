"""Bad input and refused actions of the participant protocol: INVALID_ARGUMENT naming every bad
field, FAILED_PRECONDITION naming the state or what is missing; nothing written."""

from __future__ import annotations

import math

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2
from test_participant_flow import Acm, acm, composition, participants

from switchboard.client.simparticipant import SimulatedHandler
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.server.app import App

from support import bad_fields, detail


def violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    return [(v.subject, v.description) for v in detail(
        error, error_details_pb2.PreconditionFailure).violations]


async def nothing_written(a: Acm) -> None:
    assert not (await a.stub.ListCompositions(ppb.ListCompositionsRequest())).compositions
    assert not (await a.stub.ListInstances(ppb.ListInstancesRequest())).instances


async def test_bad_compositions_are_invalid_argument_naming_every_field(server: App) -> None:
    async with acm(server) as a:
        bad = ppb.Composition(id="", elements=[
            ppb.ElementDefinition(name="e0", type="", start_phase=-1),
            ppb.ElementDefinition(name="e0", type="org.a", required_properties=[""]),
        ])
        bad.timeouts.deploy.CopyFrom(Duration(seconds=-1))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.CreateComposition(ppb.CreateCompositionRequest(composition=bad))
        assert bad_fields(error.value) == {
            "composition.id", "composition.elements[0].type",
            "composition.elements[0].start_phase", "composition.elements[1].name",
            "composition.elements[1].required_properties[0]", "composition.timeouts.deploy"}
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.CreateComposition(ppb.CreateCompositionRequest(
                composition=ppb.Composition(id="empty")))
        assert bad_fields(error.value) == {"composition.elements"}
        await nothing_written(a)


async def test_instances_need_a_known_primed_composition_known_elements_and_properties(
        server: App) -> None:
    async with acm(server) as a:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.instance(composition_id="nope")
        assert bad_fields(error.value) == {"instance.composition_id"}

        c = composition()
        c.elements[1].required_properties.append("size")
        await a.stub.CreateComposition(ppb.CreateCompositionRequest(composition=c))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.instance(e1={"size": 1})
        assert violations(error.value) == [
            ("compositions/comp", "the composition is in state COMMISSIONED, result NO_ERROR")]

        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.instance(e9={"x": 1})
        assert bad_fields(error.value) == {"instance.elements[0].name",
                                           "instance.elements[e1].properties.size"}

        # Priming needs an owner for every element type, and owners online.
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.PrimeComposition(ppb.PrimeCompositionRequest(composition_id="comp"))
        assert [s for s, _ in violations(error.value)] == ["elementTypes/org.a",
                                                          "elementTypes/org.b"]
        listed = await a.stub.ListCompositions(ppb.ListCompositionsRequest())
        assert [(x.id, x.state) for x in listed.compositions] == [
            ("comp", ppb.COMPOSITION_STATE_COMMISSIONED)]
        assert not (await a.stub.ListInstances(ppb.ListInstancesRequest())).instances


async def test_actions_not_allowed_from_the_current_state_are_refused(server: App) -> None:
    specs = [("p1", "r1", ["org.a", "org.b"], SimulatedHandler())]
    async with participants(server, *specs), acm(server) as a:
        await a.primed(composition())
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.DeleteComposition(ppb.DeleteCompositionRequest(composition_id="comp"))
        assert "state PRIMED" in violations(error.value)[0][1]

        await a.instance()
        for action in ("Undeploy", "Lock", "Unlock"):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                method = getattr(a.stub, f"{action}Instance")
                await method(getattr(ppb, f"{action}InstanceRequest")(instance_id="inst"))
            assert violations(error.value) == [(
                "instances/inst",
                f"cannot {action.lower()}: the instance is in deploy state UNDEPLOYED, lock "
                "state NONE, result NO_ERROR")]
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.DeprimeComposition(ppb.DeprimeCompositionRequest(composition_id="comp"))
        assert violations(error.value) == [("compositions/comp", "the composition has instances")]

        await a.act("Deploy")
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="inst"))
        assert "deploy state DEPLOYED, lock state LOCKED" in violations(error.value)[0][1]

        update = ppb.UpdateInstanceRequest(instance_id="inst")
        update.elements.add(name="e7")
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.UpdateInstance(update)
        assert bad_fields(error.value) == {"elements[0].name"}

        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.DeployInstance(ppb.DeployInstanceRequest(instance_id="missing"))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        got = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert (got.deploy_state, got.lock_state) == (ppb.DEPLOY_STATE_DEPLOYED,
                                                      ppb.LOCK_STATE_LOCKED)


async def test_struct_numbers_must_be_finite_northbound_and_southbound(server: App) -> None:
    """JSON has no NaN or infinity: such a number in any Struct of a request is
    INVALID_ARGUMENT naming where it is (it was INTERNAL), and nothing changes."""
    specs = [("p1", "r1", ["org.a", "org.b"], SimulatedHandler())]
    async with participants(server, *specs), acm(server) as a:
        bad = composition("bad")
        bad.elements[0].properties.update({"size": math.inf, "sizes": [1, {"n": math.nan}]})
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.CreateComposition(ppb.CreateCompositionRequest(composition=bad))
        assert bad_fields(error.value) == {"composition.elements[0].properties.size",
                                           "composition.elements[0].properties.sizes[1].n"}
        await a.primed(composition())
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.instance(e1={"size": -math.inf})
        assert bad_fields(error.value) == {"instance.elements[0].properties.size"}
        await a.instance()
        await a.act("Deploy")
        before = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance

        update = ppb.UpdateInstanceRequest(instance_id="inst")
        update.elements.add(name="e1").properties.update({"x": {"y": math.nan}})
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.UpdateInstance(update)
        assert bad_fields(error.value) == {"elements[0].properties.x.y"}

        southbound = ppb_grpc.ParticipantProtocolServiceStub(a.client.channel)
        report = ppb.ReportStatusRequest(participant_id="p1", replica_id="r1")
        report.elements.add(instance_id="inst", name="e0").out_properties.update(
            {"pods": math.inf})
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await southbound.ReportStatus(report)
        assert bad_fields(error.value) == {"elements[0].out_properties.pods"}
        ack = ppb.AcknowledgeRequest(participant_id="p1", replica_id="r1", message_id=1)
        ack.results.add(name="e0", success=True).out_properties.update({"n": math.nan})
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await southbound.Acknowledge(ack)
        assert bad_fields(error.value) == {"results[0].out_properties.n"}

        after = (await a.stub.GetInstance(ppb.GetInstanceRequest(instance_id="inst"))).instance
        assert after == before
        listed = await a.stub.ListCompositions(ppb.ListCompositionsRequest())
        assert [c.id for c in listed.compositions] == ["comp"]


async def test_create_with_a_request_id_returns_the_first_result(server: App) -> None:
    async with acm(server) as a:
        request = ppb.CreateCompositionRequest(composition=composition(), request_id="once")
        first = await a.stub.CreateComposition(request)
        again = await a.stub.CreateComposition(request)
        assert again == first
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await a.stub.CreateComposition(ppb.CreateCompositionRequest(
                composition=composition()))
        assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
