"""Transport security against the real server: TLS and mTLS with certificates made at test time,
handshakes refused without a good client certificate, certificates re-read from their files
without a restart, TLS to the DMI plugins the server calls, grpcurl over mTLS, and the safe
defaults (plaintext only on loopback unless --insecure)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchboard.client import AsyncClient, Client, TlsConfig
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.config import Settings, is_loopback, parse_settings

from certs import Ca, Issued, serial_of
from conftest import StartServer
from support import free_port, make_pool
from test_grpcurl import GRPCURL, grpcurl


@dataclass
class Pki:
    """Files in tmp_path: a CA, a server certificate for the loopback names, a client one, and
    a client certificate from another CA."""

    directory: Path
    ca: Ca
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path

    def client(self, **overrides: Path | None) -> TlsConfig:
        values: dict[str, Path | None] = {
            "ca": self.ca_file, "cert": self.client_cert, "key": self.client_key}
        values.update(overrides)
        return TlsConfig(**values)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca, stranger = Ca(), Ca("Another CA")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    server_cert, server_key = ca.issue("localhost", server=True).write(tmp_path, "server")
    client_cert, client_key = ca.issue("client-a").write(tmp_path, "client")
    stranger_cert, stranger_key = stranger.issue("client-a").write(tmp_path, "stranger")
    return Pki(tmp_path, ca, ca_file, server_cert, server_key, client_cert, client_key,
               stranger_cert, stranger_key)


async def tls_server(start_server: StartServer, pki: Pki, mtls: bool = True) -> App:
    return await start_server(
        tls_cert_file=str(pki.server_cert), tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca_file) if mtls else "")


def target(app: App) -> str:
    return f"localhost:{app.port}"


async def check(channel: grpc.aio.Channel) -> grpc.StatusCode:
    """OK if a health check gets through the channel, else the failure's code."""
    try:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                        timeout=5)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def reaches(app: App, tls: TlsConfig) -> grpc.StatusCode:
    async with grpc.aio.secure_channel(target(app), tls.credentials()) as channel:
        return await check(channel)


def replace_pair(issued: Issued, cert: Path, key: Path) -> None:
    """Rotates a certificate the way deployments do: new files renamed over the old ones."""
    for path, data in ((key, issued.key), (cert, issued.cert)):
        fresh = path.with_suffix(".new")
        fresh.write_bytes(data)
        os.replace(fresh, path)


async def served_serial(app: App) -> int:
    """The serial number of the certificate a new connection to the server is shown."""
    pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", app.port))
    return serial_of(pem.encode())


# TLS and mTLS ----------------------------------------------------------------------------------


async def test_tls_with_the_python_clients(start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    assert app.transport == "tls"
    async with AsyncClient(target(app), tls=TlsConfig(ca=pki.ca_file)) as client:
        await make_pool(client)
        got = await client.reservations.GetPool(pb.GetPoolRequest(pool_id="pool-a"))
        assert got.pool.id == "pool-a"

    def blocking() -> list[str]:
        with Client(target(app), tls=TlsConfig(ca=pki.ca_file.read_bytes())) as client:
            return [p.id for p in client.reservations.ListPools(pb.ListPoolsRequest()).pools]

    assert await asyncio.to_thread(blocking) == ["pool-a"]


async def test_mtls_admits_a_client_certificate_signed_by_the_client_ca(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki)
    assert app.transport == "mtls"
    async with AsyncClient(target(app), tls=pki.client()) as client:
        await make_pool(client)
        listed = await client.reservations.ListPools(pb.ListPoolsRequest())
        assert [p.id for p in listed.pools] == ["pool-a"]


async def test_mtls_refuses_at_the_handshake_without_a_good_client_certificate(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki)
    assert await reaches(app, pki.client()) == grpc.StatusCode.OK
    assert await reaches(app, pki.client(cert=None, key=None)) == grpc.StatusCode.UNAVAILABLE
    assert await reaches(app, pki.client(cert=pki.stranger_cert, key=pki.stranger_key)
                         ) == grpc.StatusCode.UNAVAILABLE
    # and nothing a refused client sends gets in
    async with AsyncClient(target(app), tls=pki.client(cert=None, key=None)) as refused:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await make_pool(refused)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    async with AsyncClient(target(app), tls=pki.client()) as client:
        assert not (await client.reservations.ListPools(pb.ListPoolsRequest())).pools


async def test_a_plaintext_client_gets_nothing_from_a_tls_server(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    async with grpc.aio.insecure_channel(target(app)) as channel:
        assert await check(channel) == grpc.StatusCode.UNAVAILABLE
    assert await reaches(app, TlsConfig(ca=pki.ca_file)) == grpc.StatusCode.OK


async def test_a_client_that_does_not_trust_the_server_ca_refuses_it(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    assert await reaches(app, TlsConfig(ca=Ca("Unrelated").pem)) == grpc.StatusCode.UNAVAILABLE


async def test_client_tls_takes_cert_and_key_together(pki: Pki) -> None:
    with pytest.raises(ValueError, match="cert and key together"):
        TlsConfig(ca=pki.ca_file, cert=pki.client_cert)
    async with grpc.aio.insecure_channel("localhost:1") as channel:
        with pytest.raises(ValueError, match="channel or tls"):
            AsyncClient(channel=channel, tls=pki.client())


# Reloading -------------------------------------------------------------------------------------


async def test_a_rotated_server_certificate_is_served_without_a_restart(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    first = serial_of(pki.server_cert.read_bytes())
    assert await served_serial(app) == first
    old_ca = TlsConfig(ca=pki.ca_file)
    async with AsyncClient(target(app), tls=old_ca) as kept:  # a connection made before
        await make_pool(kept)

        successor = Ca("Successor CA")
        rotated = successor.issue("localhost", server=True)
        replace_pair(rotated, pki.server_cert, pki.server_key)

        assert await served_serial(app) == rotated.serial != first
        assert await reaches(app, TlsConfig(ca=successor.pem)) == grpc.StatusCode.OK
        assert await reaches(app, old_ca) == grpc.StatusCode.UNAVAILABLE
        # the connection made before keeps working
        assert (await kept.reservations.GetPool(pb.GetPoolRequest(pool_id="pool-a"))).pool.id


async def test_a_mismatched_certificate_and_key_keep_the_previous_certificates(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    first = serial_of(pki.server_cert.read_bytes())
    half = pki.ca.issue("localhost", server=True)
    fresh = pki.server_key.with_suffix(".new")
    fresh.write_bytes(half.key)  # the key is renamed into place, its certificate not yet
    os.replace(fresh, pki.server_key)
    assert await served_serial(app) == first
    assert await reaches(app, TlsConfig(ca=pki.ca_file)) == grpc.StatusCode.OK
    replace_pair(half, pki.server_cert, pki.server_key)  # now the pair is whole
    assert await served_serial(app) == half.serial


async def test_a_missing_file_keeps_the_previous_certificates(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki, mtls=False)
    first = serial_of(pki.server_cert.read_bytes())
    pki.server_key.unlink()
    assert await served_serial(app) == first
    assert await reaches(app, TlsConfig(ca=pki.ca_file)) == grpc.StatusCode.OK


async def test_a_rotated_client_ca_is_used_for_new_handshakes(
        start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki)
    other = Ca("Client CA 2")
    fresh = pki.ca_file.with_suffix(".new")
    fresh.write_bytes(other.pem)
    os.replace(fresh, pki.ca_file)
    cert, key = other.issue("client-b").write(pki.directory, "client-b")
    server_ca = pki.ca.pem  # the server's own certificate is still from the first CA
    assert await reaches(app, TlsConfig(ca=server_ca, cert=cert, key=key)) == grpc.StatusCode.OK
    assert await reaches(app, TlsConfig(ca=server_ca, cert=pki.client_cert, key=pki.client_key)
                         ) == grpc.StatusCode.UNAVAILABLE


# Outbound: the DMI plugins ---------------------------------------------------------------------


async def test_the_server_calls_dmi_plugins_over_mtls_when_configured(
        start_server: StartServer, pki: Pki) -> None:
    """A plugin that demands a client certificate signed by the CA: the server configured with
    one syncs the handle to READY; a server without outbound TLS cannot reach it (the module
    sync fails: LOCKED). Both servers share the test's database, so each has its own handle."""
    plugin_tls = grpc.ssl_server_credentials(
        [(pki.server_key.read_bytes(), pki.server_cert.read_bytes())],
        root_certificates=pki.ca_file.read_bytes(), require_client_auth=True)
    for configured, expected in ((True, cpb.CM_HANDLE_STATE_READY),
                                 (False, cpb.CM_HANDLE_STATE_LOCKED)):
        outbound = dict(outbound_tls_ca_file=str(pki.ca_file),
                        outbound_tls_cert_file=str(pki.client_cert),
                        outbound_tls_key_file=str(pki.client_key)) if configured else {}
        app = await start_server(**outbound)
        plugin = await SimulatedDmiPlugin(f"127.0.0.1:{app.port}", credentials=plugin_tls).start()
        async with AsyncClient(f"127.0.0.1:{app.port}") as client:
            handle_id = f"h-{configured}"
            await plugin.register([HandleSpec(handle_id)])
            async with asyncio.timeout(10):
                while True:
                    handle = (await client.cm_handles.GetCmHandle(
                        cpb.GetCmHandleRequest(cm_handle_id=handle_id))).cm_handle
                    if handle.state != cpb.CM_HANDLE_STATE_ADVISED:
                        break
                    await asyncio.sleep(0.05)
            assert handle.state == expected, configured
        assert bool(plugin.fetches) == configured
        await plugin.close()
        await app.stop(grace=0)


# grpcurl ---------------------------------------------------------------------------------------


@pytest.mark.skipif(GRPCURL is None, reason="grpcurl is not installed")
async def test_grpcurl_over_mtls(start_server: StartServer, pki: Pki) -> None:
    app = await tls_server(start_server, pki)
    mtls = ("-cacert", str(pki.ca_file), "-cert", str(pki.client_cert),
            "-key", str(pki.client_key))
    listed = await grpcurl(app, "list", transport=mtls)
    assert listed.code == 0, listed
    assert "switchboard.reservation.v1.ReservationService" in listed.stdout.split()
    refused = ("-connect-timeout", "2")  # grpcurl retries a refused handshake until this
    without_cert = await grpcurl(app, "list", transport=(*refused, "-cacert", str(pki.ca_file)))
    assert without_cert.code != 0
    plaintext = await grpcurl(app, "list", transport=(*refused, "-plaintext"))
    assert plaintext.code != 0


# Safe defaults ---------------------------------------------------------------------------------


def errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ={})
    assert exited.value.code == 2
    return capsys.readouterr().err.splitlines()


def test_the_default_is_plaintext_on_loopback_only() -> None:
    settings = parse_settings([], environ={})
    assert settings.host == "localhost" and not settings.insecure
    assert not (settings.tls_cert_file or settings.tls_key_file)
    assert all(map(is_loopback, ("localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]")))
    assert not any(map(is_loopback, ("[::]", "0.0.0.0", "10.0.0.1", "example.com", "[::2]")))


def test_plaintext_on_a_non_loopback_host_needs_insecure(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert errors(["--host", "[::]"], capsys) == [
        "switchboard-server: error: --host (or SWITCHBOARD_HOST) must be a loopback address "
        "(localhost, 127.0.0.1, [::1]) without TLS, not '[::]': give --tls-cert-file and "
        "--tls-key-file, or --insecure to serve plaintext to the network"]
    assert parse_settings(["--host", "[::]", "--insecure"], environ={}).insecure
    assert parse_settings(["--host", "0.0.0.0"], environ={"SWITCHBOARD_INSECURE": "1"}).insecure


def test_tls_settings_that_do_not_go_together(pki: Pki,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cert, key, ca = str(pki.server_cert), str(pki.server_key), str(pki.ca_file)
    both = ("switchboard-server: error: --tls-cert-file and --tls-key-file (or "
            "SWITCHBOARD_TLS_CERT_FILE and SWITCHBOARD_TLS_KEY_FILE) go together: give both or "
            "neither")
    assert errors(["--tls-key-file", key], capsys) == [both]
    assert errors(["--tls-cert-file", cert], capsys) == [both]
    mismatch = ("switchboard-server: error: --tls-cert-file and --tls-key-file must hold a PEM "
                "certificate chain and its private key")
    assert errors(["--tls-cert-file", cert, "--tls-key-file", str(pki.client_key)], capsys) == [
        mismatch]
    encrypted = pki.directory / "encrypted.key"  # gRPC takes no passphrase: refused, no prompt
    encrypted.write_bytes(serialization.load_pem_private_key(pki.server_key.read_bytes(), None)
                          .private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"secret")))
    assert errors(["--tls-cert-file", cert, "--tls-key-file", str(encrypted)], capsys) == [
        mismatch]
    assert errors(["--tls-client-ca-file", ca], capsys) == [
        "switchboard-server: error: --tls-client-ca-file (or SWITCHBOARD_TLS_CLIENT_CA_FILE) "
        "needs --tls-cert-file and --tls-key-file: mTLS is TLS with client certificates"]
    assert errors(["--tls-cert-file", cert, "--tls-key-file", key, "--insecure"], capsys) == [
        "switchboard-server: error: --insecure (or SWITCHBOARD_INSECURE) must not be given with "
        "--tls-cert-file: with TLS there is no plaintext port"]
    assert errors(["--outbound-tls-key-file", key], capsys) == [
        "switchboard-server: error: --outbound-tls-cert-file and --outbound-tls-key-file (or "
        "SWITCHBOARD_OUTBOUND_TLS_CERT_FILE and SWITCHBOARD_OUTBOUND_TLS_KEY_FILE) go together: "
        "give both or neither"]
    assert errors(["--tls-cert-file", str(pki.directory / "missing.pem"), "--tls-key-file", key],
                  capsys) == [
        "switchboard-server: error: --tls-cert-file (or SWITCHBOARD_TLS_CERT_FILE) must be "
        f"empty or name a readable file, not '{pki.directory / 'missing.pem'}'"]
    served = parse_settings(["--host", "[::]", "--tls-cert-file", cert, "--tls-key-file", key,
                             "--tls-client-ca-file", ca], environ={})
    assert (served.host, served.tls_client_ca_file) == ("[::]", ca)


def _non_loopback_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if is_loopback(address) else address


async def test_the_default_host_answers_on_loopback_and_not_elsewhere(
        start_server: StartServer) -> None:
    app = await start_server(host=Settings().host)
    for host in ("127.0.0.1", "localhost"):
        async with grpc.aio.insecure_channel(f"{host}:{app.port}") as channel:
            assert await check(channel) == grpc.StatusCode.OK
    address = _non_loopback_address()
    if address is not None:
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect((address, app.port))


def _serve(*flags: str, database: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "switchboard.server", "--database-url",
         f"sqlite+aiosqlite:///{database}", "--log-format", "json", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    return stderr


async def _started(port: int, process: subprocess.Popen[str]) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        async with asyncio.timeout(30):
            while await check(channel) != grpc.StatusCode.OK:
                assert process.poll() is None, process.communicate()
                await asyncio.sleep(0.1)


def test_the_server_process_refuses_plaintext_on_every_interface() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "switchboard.server", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert "--host (or SWITCHBOARD_HOST) must be a loopback address" in refused.stderr


async def test_the_server_process_logs_its_transport(tmp_path: Path) -> None:
    """Loopback plaintext says so; --insecure on every interface starts with a warning."""
    port = free_port()
    process = _serve("--port", str(port), database=tmp_path / "a.db")
    await _started(port, process)
    log = _stop(process)
    assert '"event": "plaintext on loopback only' in log
    assert '"transport": "plaintext"' in log and '"host": "localhost"' in log

    port = free_port()
    process = _serve("--port", str(port), "--host", "0.0.0.0", "--insecure",
                     database=tmp_path / "b.db")
    await _started(port, process)
    log = _stop(process)
    warning = [line for line in log.splitlines() if "plaintext on a non-loopback" in line]
    assert len(warning) == 1 and '"level": "warning"' in warning[0]
