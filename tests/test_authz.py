"""Caller identity and authorization: bearer tokens (JWT) and client certificates name a
principal; the policy file gives principals and groups roles; every RPC has a declared
permission (PERMISSIONS), checked on every call, scoped for DMI plugins and participants.
With no policy (the default), authorization is off: the rest of the suite runs that way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from google.protobuf.descriptor import MethodDescriptor
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from test_scheduler_flow import S, create, schedule, settled, vnf
from test_server import _logged

from switchboard.client import AsyncClient, Client, TlsConfig
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.reservation.v1 import reservation_pb2 as rpb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import SERVICES, App
from switchboard.server.clock import ManualClock
from switchboard.server.config import parse_settings
from switchboard.server.permissions import PERMISSIONS
from switchboard.server.policy import parse_policy

import rpcs
from certs import Ca
from conftest import StartServer
from support import Collector, detail
from test_grpcurl import GRPCURL, grpcurl
from tokens import AUDIENCE, ISSUER, Issuer, Principals, authorizing

PLUGIN_A, PLUGIN_B = "127.0.0.1:6101", "127.0.0.1:6201"

POLICY = """
[principals]
alice = ["viewer"]
oscar = ["operator"]
april = ["approver"]
pam = ["operator", "approver", "viewer"]
adam = ["admin"]
plugin-a = ["dmi-plugin:a"]
plugin-b = ["dmi-plugin:b"]
part-1 = ["participant:p1"]
part-2 = ["participant:p2"]
nobody = []
"spiffe://switchboard.test/ops/carol" = ["viewer"]
"carol.ops.switchboard.test" = ["operator"]
carol-cn = ["operator"]

[groups]
auditors = ["viewer"]

[dmi_plugins.a]
addresses = ["127.0.0.1:61*"]

[dmi_plugins.b]
addresses = ["127.0.0.1:62*"]

[projects.blue]
principals = ["alice", "oscar", "april", "pam", "nobody", "carol-cn",
              "spiffe://switchboard.test/ops/carol", "carol.ops.switchboard.test"]
groups = ["auditors"]
"""

Channels = Callable[[str], AsyncClient]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture
async def authz_server(start_server: StartServer, tmp_path: Path, issuer: Issuer,
                       policy_file: Path) -> App:
    return await start_server(**authorizing(tmp_path, issuer, POLICY))


@pytest.fixture
async def as_principal(authz_server: App, issuer: Issuer,
                       clock: ManualClock) -> AsyncIterator[Channels]:
    """A client per principal, each with a bearer token for it."""
    async with Principals(authz_server.port, issuer, clock) as clients:
        yield clients


async def code_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    """The code and ErrorInfo reason of a call that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    info = detail(raised.value, error_details_pb2.ErrorInfo)
    return raised.value.code(), info.reason


# --- the permission table ----------------------------------------------------------------


def served_methods() -> set[str]:
    from google.protobuf import descriptor_pool
    pool = descriptor_pool.Default()
    return {f"/{name}/{m.name}"
            for name in (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME)
            for m in pool.FindServiceByName(name).methods}


def test_every_served_rpc_has_a_declared_permission_and_no_other_is_declared() -> None:
    assert served_methods() - PERMISSIONS.keys() == set(), "RPCs without a permission"
    assert PERMISSIONS.keys() - served_methods() == set(), "permissions of no served RPC"


def role_of(method: MethodDescriptor) -> str:
    """The role an RPC needs, by the issue's rule (independent of the table)."""
    service = method.containing_service.name
    if service == "ParticipantProtocolService":
        return "participant"
    if service == "CmHandleInventoryService":
        return "dmi-plugin"
    if method.name == "ApproveSchedule":
        return "approver"
    if method.name.startswith(("Get", "List", "Query", "Search", "Watch")):
        return "viewer"
    return "operator"


MATRIX_PRINCIPALS = {"viewer": "alice", "operator": "oscar", "approver": "april",
                     "admin": "adam", "dmi-plugin": "plugin-a", "participant": "part-1",
                     "none": "nobody"}


async def test_the_role_by_rpc_matrix(as_principal: Channels) -> None:
    """Every RPC, called as each role (with the role's own plugin address or participant id
    where the request names one): PERMISSION_DENIED exactly when the role does not allow it;
    requests that are allowed may still fail validation."""
    wrong: list[str] = []
    for method in rpcs.methods():
        fields = {name: value for name, value in
                  (("dmi_plugin", PLUGIN_A), ("participant_id", "p1"))
                  if name in method.input_type.fields_by_name}
        for role, principal in MATRIX_PRINCIPALS.items():
            channel = as_principal(principal).channel
            code = await code_of(rpcs.call(channel, method, rpcs.request_of(method, **fields)))
            allowed = role in ("admin", role_of(method))
            if allowed and code in (grpc.StatusCode.PERMISSION_DENIED,
                                    grpc.StatusCode.UNAUTHENTICATED):
                wrong.append(f"{rpcs.method_id(method)} as {role}: {code.name}, not allowed")
            if not allowed and code is not grpc.StatusCode.PERMISSION_DENIED:
                wrong.append(f"{rpcs.method_id(method)} as {role}: {code.name}, not refused")
    assert wrong == []


async def test_health_and_reflection_are_open_to_callers_without_identity(
        authz_server: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{authz_server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert await code_of(rpcs.call(channel, rpcs.methods()[0], rpcs.request_of(
            rpcs.methods()[0]))) is grpc.StatusCode.UNAUTHENTICATED


# --- bearer tokens -----------------------------------------------------------------------


async def test_a_valid_token_names_the_principal_and_its_groups(
        authz_server: App, issuer: Issuer, clock: ManualClock) -> None:
    target = f"127.0.0.1:{authz_server.port}"
    async with AsyncClient(target, token=issuer.token("alice", clock.now())) as alice:
        await alice.reservations.ListPools(rpb.ListPoolsRequest())
    token = issuer.token("someone", clock.now(), groups=["auditors"])
    async with AsyncClient(target, token=token) as auditor:
        await auditor.reservations.ListPools(rpb.ListPoolsRequest())
        assert await refusal(auditor.reservations.CreatePool(rpb.CreatePoolRequest())) == (
            grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")


@pytest.mark.parametrize(("make", "reason"), [
    (lambda i, now: i.token("alice", now - 7200_000_000), "TOKEN_EXPIRED"),
    (lambda i, now: i.token("alice", now, aud="another-service"), "TOKEN_AUDIENCE"),
    (lambda i, now: i.token("alice", now, iss="https://elsewhere.test"), "TOKEN_ISSUER"),
    (lambda i, now: Issuer(kid=i.kid).token("alice", now), "TOKEN_SIGNATURE"),
    (lambda i, now: "not-a-jwt", "TOKEN_INVALID"),
    (lambda i, now: None, "NO_CREDENTIALS"),
])
async def test_a_bad_or_missing_token_is_unauthenticated(
        authz_server: App, issuer: Issuer, clock: ManualClock,
        make: Callable[[Issuer, int], str | None], reason: str) -> None:
    async with AsyncClient(f"127.0.0.1:{authz_server.port}",
                           token=make(issuer, clock.now())) as c:
        with structlog.testing.capture_logs() as logs:
            assert await refusal(c.reservations.ListPools(rpb.ListPoolsRequest())) == (
                grpc.StatusCode.UNAUTHENTICATED, reason)
            lines = await _logged(logs)
    assert [(e["code"], e["reason"]) for e in lines] == [("UNAUTHENTICATED", reason)]
    token = make(issuer, clock.now())
    assert token is None or token not in repr(logs)


async def test_expiry_is_checked_against_the_servers_clock(
        authz_server: App, issuer: Issuer, clock: ManualClock) -> None:
    token = issuer.token("alice", clock.now(), lifetime_s=60)
    async with AsyncClient(f"127.0.0.1:{authz_server.port}", token=token) as c:
        await c.reservations.ListPools(rpb.ListPoolsRequest())
        clock.advance(61)
        assert await refusal(c.reservations.ListPools(rpb.ListPoolsRequest())) == (
            grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")


async def test_keys_from_a_jwks_file(start_server: StartServer, tmp_path: Path,
                                     issuer: Issuer, policy_file: Path,
                                     clock: ManualClock) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(issuer.jwks())
    app = await start_server(policy_file=str(policy_file), jwt_issuer=ISSUER,
                             jwt_audience=AUDIENCE, jwt_key_file=str(jwks))
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target, token=issuer.token("alice", clock.now())) as c:
        await c.reservations.ListPools(rpb.ListPoolsRequest())
    other = Issuer(kid="key-2")
    async with AsyncClient(target, token=other.token("alice", clock.now())) as c:
        assert await refusal(c.reservations.ListPools(rpb.ListPoolsRequest())) == (
            grpc.StatusCode.UNAUTHENTICATED, "TOKEN_SIGNATURE")


async def test_a_refused_call_is_logged_once_with_its_principal_and_reason(
        as_principal: Channels) -> None:
    with structlog.testing.capture_logs() as logs:
        await code_of(as_principal("alice").reservations.CreatePool(rpb.CreatePoolRequest()))
        lines = await _logged(logs)
    assert [(e["code"], e["principal"], e["reason"]) for e in lines] == [
        ("PERMISSION_DENIED", "alice", "ROLE_REQUIRED")]


async def test_the_sync_client_sends_its_token(authz_server: App, issuer: Issuer,
                                               clock: ManualClock) -> None:
    token = issuer.token("alice", clock.now())

    def blocking() -> grpc.StatusCode:
        with Client(f"127.0.0.1:{authz_server.port}", token=token) as c:
            c.reservations.ListPools(rpb.ListPoolsRequest())
            try:
                c.reservations.CreatePool(rpb.CreatePoolRequest())
            except grpc.RpcError as error:
                return error.code()  # type: ignore[attr-defined,no-any-return]
            return grpc.StatusCode.OK

    assert await asyncio.to_thread(blocking) is grpc.StatusCode.PERMISSION_DENIED


def test_a_token_needs_tls_or_a_loopback_address() -> None:
    """Local credentials refuse a non-loopback address: a token is never sent in the clear."""
    with Client("192.0.2.1:50051", token="t") as c, pytest.raises(grpc.RpcError) as raised:
        c.reservations.ListPools(rpb.ListPoolsRequest(), timeout=2)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]


@pytest.mark.skipif(GRPCURL is None, reason="grpcurl is not installed")
async def test_grpcurl_with_a_bearer_token(authz_server: App, issuer: Issuer,
                                           clock: ManualClock) -> None:
    method = "switchboard.reservation.v1.ReservationService/ListPools"
    token = issuer.token("alice", clock.now())
    allowed = await grpcurl(authz_server, method, data={},
                            transport=("-plaintext", "-H", f"authorization: Bearer {token}"))
    assert allowed.code == 0, allowed
    refused = await grpcurl(authz_server, method, data={})
    assert refused.code != 0
    assert "Unauthenticated" in refused.stderr


# --- the attacks ----------------------------------------------------------------------------


def registration(plugin: str, created: tuple[str, ...] = (),
                 removed: tuple[str, ...] = ()) -> cpb.UpdateRegistrationRequest:
    return cpb.UpdateRegistrationRequest(
        dmi_plugin=plugin, created=[cpb.NewCmHandle(id=h) for h in created],
        removed=list(removed))


async def test_a_plugin_cannot_remove_another_plugins_handles(as_principal: Channels) -> None:
    b = as_principal("plugin-b").cm_inventory
    await b.UpdateRegistration(registration(PLUGIN_B, created=("handle-b",)))
    a = as_principal("plugin-a").cm_inventory
    # Naming the other plugin's address: refused outright.
    assert await refusal(a.UpdateRegistration(registration(PLUGIN_B, removed=("handle-b",)))) \
        == (grpc.StatusCode.PERMISSION_DENIED, "ADDRESS_NOT_ALLOWED")
    # Under its own address: the handle is not its own, refused for that handle.
    answer = await a.UpdateRegistration(registration(PLUGIN_A, removed=("handle-b",)))
    assert [r.error for r in answer.removed] == [cpb.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND]
    handle = await as_principal("alice").cm_handles.GetCmHandle(
        cpb.GetCmHandleRequest(cm_handle_id="handle-b"))
    assert handle.cm_handle.dmi_plugin == PLUGIN_B
    assert handle.cm_handle.state != cpb.CM_HANDLE_STATE_DELETING


async def test_a_plugin_cannot_register_an_address_outside_its_allow_list(
        as_principal: Channels) -> None:
    a = as_principal("plugin-a").cm_inventory
    for address in ("10.0.0.1:6101", "169.254.169.254:80", "127.0.0.1:50051"):
        assert await refusal(a.UpdateRegistration(registration(address, created=("h1",)))) \
            == (grpc.StatusCode.PERMISSION_DENIED, "ADDRESS_NOT_ALLOWED")
        assert await refusal(a.Reregister(cpb.ReregisterRequest(dmi_plugin=address))) == (
            grpc.StatusCode.PERMISSION_DENIED, "ADDRESS_NOT_ALLOWED")
    found = await as_principal("alice").cm_handles.SearchCmHandles(
        cpb.SearchCmHandlesRequest())
    assert list(found.cm_handles) == []


async def test_a_participant_cannot_read_or_acknowledge_another_participants_messages(
        authz_server: App, as_principal: Channels) -> None:
    channel = as_principal("part-1").channel
    protocol = {m.name: m for m in rpcs.methods()
                if m.containing_service.name == "ParticipantProtocolService"}
    receive = rpcs.stream_of(channel, protocol["ReceiveMessages"], ppb.ReceiveMessagesRequest(
        participant_id="p2", replica_id="r1"))
    assert await refusal(receive.read()) == (grpc.StatusCode.PERMISSION_DENIED,
                                             "NOT_OWN_PARTICIPANT")
    acknowledge = rpcs.call(channel, protocol["Acknowledge"], ppb.AcknowledgeRequest(
        participant_id="p2", replica_id="r1", message_id=1))
    assert await refusal(acknowledge) == (grpc.StatusCode.PERMISSION_DENIED,
                                          "NOT_OWN_PARTICIPANT")
    # Its own participant id is allowed: registering works.
    await rpcs.call(channel, protocol["Register"], ppb.RegisterRequest(
        participant_id="p1", replica_id="r1", element_types=["http"]))


async def test_an_approver_cannot_approve_its_own_schedule(as_principal: Channels) -> None:
    pam, april = as_principal("pam"), as_principal("april")
    watch = await Collector(pam.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(pam, schedule("s1", [vnf("a", "ne1")], [(1, 5)]))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    approve = spb.ApproveScheduleRequest(schedule_id="s1", user="pam",
                                         decision=spb.APPROVAL_DECISION_ACCEPTED)
    assert await refusal(pam.schedules.ApproveSchedule(approve)) == (
        grpc.StatusCode.PERMISSION_DENIED, "SELF_APPROVAL")
    still = await pam.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))
    assert still.schedule.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    approved = await april.schedules.ApproveSchedule(approve)
    assert approved.schedule.state in (S.SCHEDULE_STATE_ACCEPTED, S.SCHEDULE_STATE_SCHEDULED)


# --- client certificates ------------------------------------------------------------------


@pytest.mark.parametrize(("identity", "principal"), [
    ("san_uri", "viewer"), ("san_dns", "operator"), ("cn", "operator")])
async def test_a_client_certificate_names_the_principal(
        start_server: StartServer, tmp_path: Path, policy_file: Path, identity: str,
        principal: str) -> None:
    ca = Ca()
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    cert, key = ca.issue("localhost", server=True).write(tmp_path, "server")
    client_cert, client_key = ca.issue(
        "carol-cn", uri="spiffe://switchboard.test/ops/carol",
        dns="carol.ops.switchboard.test").write(tmp_path, "carol")
    bare_cert, bare_key = ca.issue("stranger-cn").write(tmp_path, "bare")
    app = await start_server(tls_cert_file=str(cert), tls_key_file=str(key),
                             tls_client_ca_file=str(tmp_path / "ca.pem"),
                             policy_file=str(policy_file), tls_client_identity=identity)
    target = f"localhost:{app.port}"
    tls = TlsConfig(ca=tmp_path / "ca.pem", cert=client_cert, key=client_key)
    async with AsyncClient(target, tls=tls) as carol:
        viewer_call = carol.reservations.ListPools(rpb.ListPoolsRequest())
        operator_call = carol.reservations.CreatePool(rpb.CreatePoolRequest())
        if principal == "viewer":
            await viewer_call
            assert (await refusal(operator_call))[0] is grpc.StatusCode.PERMISSION_DENIED
        else:
            assert await code_of(operator_call) is grpc.StatusCode.INVALID_ARGUMENT
            assert (await refusal(viewer_call))[0] is grpc.StatusCode.PERMISSION_DENIED
    bare = TlsConfig(ca=tmp_path / "ca.pem", cert=bare_cert, key=bare_key)
    async with AsyncClient(target, tls=bare) as stranger:
        # No SAN: no identity; a CN the policy does not list: no roles.
        assert await refusal(stranger.reservations.ListPools(rpb.ListPoolsRequest())) == (
            (grpc.StatusCode.UNAUTHENTICATED, "NO_CERTIFICATE_IDENTITY") if identity != "cn"
            else (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED"))


async def test_a_token_over_tls(start_server: StartServer, tmp_path: Path, issuer: Issuer,
                                policy_file: Path, clock: ManualClock) -> None:
    ca = Ca()
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    cert, key = ca.issue("localhost", server=True).write(tmp_path, "server")
    app = await start_server(tls_cert_file=str(cert), tls_key_file=str(key),
                             policy_file=str(policy_file), jwt_issuer=ISSUER,
                             jwt_audience=AUDIENCE,
                             jwt_key_file=str(issuer.write_pem(tmp_path / "jwt.pem")))
    tls = TlsConfig(ca=tmp_path / "ca.pem")
    async with AsyncClient(f"localhost:{app.port}", tls=tls,
                           token=issuer.token("alice", clock.now())) as c:
        await c.reservations.ListPools(rpb.ListPoolsRequest())


# --- settings and the policy file -----------------------------------------------------------


def errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ={})
    assert exited.value.code == 2
    return capsys.readouterr().err.splitlines()


def test_authorization_settings_that_do_not_go_together(
        tmp_path: Path, issuer: Issuer, policy_file: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    key = str(issuer.write_pem(tmp_path / "jwt.pem"))
    [line] = errors(["--policy-file", str(policy_file)], capsys)
    assert "--policy-file (or SWITCHBOARD_POLICY_FILE) needs an identity source" in line
    [line] = errors(["--policy-file", str(policy_file), "--jwt-key-file", key], capsys)
    assert "--jwt-issuer, --jwt-audience and --jwt-key-file" in line
    [line] = errors(["--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE, "--jwt-key-file", key],
                    capsys)
    assert "--jwt-key-file (or SWITCHBOARD_JWT_KEY_FILE) needs --policy-file" in line
    bad = tmp_path / "bad.toml"
    bad.write_text('[principals]\nalice = ["superuser"]\n')
    [line] = errors(["--policy-file", str(bad)], capsys)
    assert line.startswith("switchboard-server: error: --policy-file")
    settings = parse_settings(["--policy-file", str(policy_file), "--jwt-issuer", ISSUER,
                               "--jwt-audience", AUDIENCE, "--jwt-key-file", key], environ={})
    assert settings.policy_file == str(policy_file)


@pytest.mark.parametrize(("text", "problem"), [
    ('[principals]\nalice = ["superuser"]', "unknown role 'superuser'"),
    ('[principals]\nalice = ["dmi-plugin:x"]', "names no plugin"),
    ('[principals]\nalice = "viewer"', "must be a list of roles"),
    ('[dmi_plugins.a]\naddresses = []', "addresses must be a list"),
    ('[roles]\n', "unknown sections"),
    ("principals = [", "not TOML"),
])
def test_a_bad_policy_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_policy(text)


async def test_without_a_policy_every_caller_is_an_anonymous_admin(
        start_server: StartServer) -> None:
    with structlog.testing.capture_logs() as logs:
        app = await start_server()
    assert any(e["event"].startswith("authorization off") for e in logs)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        wrong = [rpcs.method_id(m) for m in rpcs.methods()
                 if await code_of(rpcs.call(channel, m, rpcs.request_of(m))) in (
                     grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)]
    assert wrong == []
