"""Key and certificate rotation without a restart: the JWT verification keys (--jwt-key-file)
and the client certificate the server presents to the DMI plugins it calls
(--outbound-tls-*), each re-read when its files change; a file that does not load keeps the
previous material, with a warning."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import grpc
import pytest
import structlog

from switchboard.client import AsyncClient
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.reservation.v1 import reservation_pb2 as rpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.config import parse_settings

from certs import Ca
from conftest import StartServer
from tokens import AUDIENCE, ISSUER, Issuer


def replace(path: Path, data: bytes) -> None:
    """Rewrites a file the way deployments do: a new file renamed over the old one."""
    fresh = path.with_suffix(path.suffix + ".new")
    fresh.write_bytes(data)
    os.replace(fresh, path)


def jwks(*issuers: Issuer) -> bytes:
    return json.dumps({"keys": [k for i in issuers for k in json.loads(i.jwks())["keys"]]}
                      ).encode()


# --- JWT keys ------------------------------------------------------------------------------


async def code_with(app: App, token: str) -> grpc.StatusCode:
    async with AsyncClient(f"127.0.0.1:{app.port}", token=token) as client:
        try:
            await client.reservations.ListPools(rpb.ListPoolsRequest())
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def test_jwt_keys_are_re_read_when_the_key_file_changes(
        start_server: StartServer, tmp_path: Path, clock: ManualClock) -> None:
    old, new, third = Issuer("key-old"), Issuer("key-new"), Issuer("key-third")
    policy = tmp_path / "policy.toml"
    policy.write_text('[principals]\nalice = ["viewer"]\n')
    keys = tmp_path / "keys.json"
    keys.write_bytes(jwks(old))
    app = await start_server(policy_file=str(policy), jwt_issuer=ISSUER,
                             jwt_audience=AUDIENCE, jwt_key_file=str(keys))
    old_token, new_token = old.token("alice", clock.now()), new.token("alice", clock.now())
    assert await code_with(app, old_token) is grpc.StatusCode.OK
    assert await code_with(app, new_token) is grpc.StatusCode.UNAUTHENTICATED

    replace(keys, jwks(old, new))  # the new key is added
    assert await code_with(app, new_token) is grpc.StatusCode.UNAUTHENTICATED  # not looked yet
    clock.advance(1)  # the file is looked at once a second of the server's clock
    assert await code_with(app, new_token) is grpc.StatusCode.OK
    assert await code_with(app, old_token) is grpc.StatusCode.OK

    replace(keys, jwks(new))  # the old key is removed: its (verified, cached) token stops
    clock.advance(1)
    assert await code_with(app, old_token) is grpc.StatusCode.UNAUTHENTICATED
    assert await code_with(app, new_token) is grpc.StatusCode.OK

    with structlog.testing.capture_logs() as logs:
        replace(keys, b'{"keys": [')  # half written: the previous keys stay
        clock.advance(1)
        assert await code_with(app, new_token) is grpc.StatusCode.OK
        clock.advance(1)
        assert await code_with(app, new_token) is grpc.StatusCode.OK
    warned = [e for e in logs if e["event"].startswith("jwt key file not loaded")]
    assert len(warned) == 1, logs  # once per bad version of the file

    replace(keys, third.public_pem)  # a PEM file in place of the JWKS one
    clock.advance(1)
    assert await code_with(app, third.token("alice", clock.now())) is grpc.StatusCode.OK
    assert await code_with(app, new_token) is grpc.StatusCode.UNAUTHENTICATED


# --- outbound client certificates ------------------------------------------------------------


def plugin_credentials(server: tuple[bytes, bytes], client_ca: Ca) -> grpc.ServerCredentials:
    """A plugin's TLS: its certificate, and the CA its callers' certificates must come from."""
    cert, key = server
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca.pem,
                                       require_client_auth=True)


async def synced(client: AsyncClient, plugin: SimulatedDmiPlugin, handle_id: str
                 ) -> cpb.CmHandleState:
    """Registers a handle through `plugin` and gives the state its module sync ends in."""
    await plugin.register([HandleSpec(handle_id)])
    async with asyncio.timeout(10):
        while True:
            handle = (await client.cm_handles.GetCmHandle(
                cpb.GetCmHandleRequest(cm_handle_id=handle_id))).cm_handle
            if handle.state != cpb.CM_HANDLE_STATE_ADVISED:
                return handle.state
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("rewrite", ["renamed", "in place"])
async def test_the_outbound_client_certificate_is_re_read_when_its_files_change(
        start_server: StartServer, tmp_path: Path, rewrite: str) -> None:
    """A plugin demanding a client certificate from CA1 is switched to demand one from CA2;
    once the server's certificate files hold a CA2 one, its next calls to the plugin get
    through, without a restart; a mismatched pair keeps the CA2 certificate in use."""
    ca1, ca2 = Ca("CA1"), Ca("CA2")
    (tmp_path / "ca.pem").write_bytes(ca1.pem)
    issued = ca1.issue("localhost", server=True)
    cert, key = ca1.issue("switchboard").write(tmp_path, "outbound")
    app = await start_server(outbound_tls_ca_file=str(tmp_path / "ca.pem"),
                             outbound_tls_cert_file=str(cert), outbound_tls_key_file=str(key))
    plugin = await SimulatedDmiPlugin(
        f"127.0.0.1:{app.port}", credentials=plugin_credentials((issued.cert, issued.key), ca1)
    ).start()
    try:
        async with AsyncClient(f"127.0.0.1:{app.port}") as client:
            assert await synced(client, plugin, "h1") == cpb.CM_HANDLE_STATE_READY

            await plugin.stop()
            plugin.credentials = plugin_credentials((issued.cert, issued.key), ca2)
            await plugin.start()
            assert await synced(client, plugin, "h2") == cpb.CM_HANDLE_STATE_LOCKED

            fresh = ca2.issue("switchboard")
            for path, data in ((key, fresh.key), (cert, fresh.cert)):
                if rewrite == "renamed":
                    replace(path, data)
                else:
                    path.write_bytes(data)
            assert await synced(client, plugin, "h3") == cpb.CM_HANDLE_STATE_READY

            with structlog.testing.capture_logs() as logs:
                replace(key, ca2.issue("switchboard").key)  # a key of another certificate
                assert await synced(client, plugin, "h4") == cpb.CM_HANDLE_STATE_READY
            assert any(e["event"].startswith("outbound tls files not loaded") for e in logs)
    finally:
        await plugin.close()


def test_an_outbound_ca_file_that_is_not_pem_is_a_bad_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(SystemExit):
        parse_settings(["--outbound-tls-ca-file", str(bad)], environ={})
    assert capsys.readouterr().err.splitlines() == [
        "switchboard-server: error: --outbound-tls-ca-file (or SWITCHBOARD_OUTBOUND_TLS_CA_FILE) "
        "must hold PEM CA certificates"]
    bad.write_bytes(Ca().pem)
    assert parse_settings(["--outbound-tls-ca-file", str(bad)], environ={})
