"""How a client's channel is made, for the blocking and the asyncio client alike: its target
from one target string or from the addresses of several replicas, its options (round_robin over
the replicas, the name checked in the server's certificate) and its credentials.

Several addresses become one static target of gRPC's core, `ipv4:a:p,b:q` (or `ipv6:[a]:p,...`,
IPv4 addresses then written as IPv4-mapped IPv6 ones), with the `round_robin` policy, so calls
spread over every replica that is up and skip those that are not. gRPC's core has no resolver
for a list of host names, so a host name in the list is resolved once, when the client is made:
give one `dns:///name:port` target instead to follow a name whose addresses change."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from switchboard.client.tls import TlsConfig, channel_credentials

Target = str | Sequence[str]
"""One gRPC target string (`host:port`, `dns:///name:port`, `ipv4:...`), or the `host:port`
addresses of several replicas (IPv6 literals in brackets: `[::1]:50051`)."""

ROUND_ROBIN = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
"""The service config that spreads calls over every address a target resolves to."""

_BALANCED_SCHEMES = ("dns:", "ipv4:", "ipv6:")
"""Targets that may name several servers: they get round_robin (gRPC's default, pick_first,
would send every call to the first that answers)."""


@dataclass(frozen=True)
class ChannelSpec:
    """What a channel is made with: `target`, `credentials` (None: plaintext) and `options`."""

    target: str
    credentials: grpc.ChannelCredentials | None
    options: tuple[tuple[str, str], ...]

    def aio(self) -> grpc.aio.Channel:
        """An asyncio channel."""
        if self.credentials is None:
            return grpc.aio.insecure_channel(self.target, self.options)
        return grpc.aio.secure_channel(self.target, self.credentials, self.options)

    def blocking(self) -> grpc.Channel:
        """A blocking channel."""
        if self.credentials is None:
            return grpc.insecure_channel(self.target, self.options)
        return grpc.secure_channel(self.target, self.credentials, self.options)


def channel_spec(target: Target, tls: TlsConfig | None, token: str | None) -> ChannelSpec:
    """The channel for `target` (see `Target`) with `tls` and `token` (`channel_credentials`);
    ValueError naming every address that is not `host:port` or whose host does not resolve."""
    options: list[tuple[str, str]] = []
    if isinstance(target, str):
        if not target:
            raise ValueError("target: give a target string or host:port addresses")
        resolved = target
        if target.startswith(_BALANCED_SCHEMES):
            options.append(("grpc.service_config", ROUND_ROBIN))
    else:
        resolved = address_list(target)
        options.append(("grpc.service_config", ROUND_ROBIN))
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return ChannelSpec(resolved, channel_credentials(tls, token), tuple(options))


def address_list(addresses: Sequence[str]) -> str:
    """One `ipv4:` or `ipv6:` target naming every address of `addresses`, host names
    resolved; ValueError naming each bad address (or none given, or one given twice)."""
    if not addresses:
        raise ValueError("target: no addresses given")
    bad: list[str] = []
    found: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = []
    for n, address in enumerate(addresses):
        try:
            if address in addresses[:n]:
                raise ValueError("given twice")
            for ip in _resolve(address):
                if ip not in found:
                    found.append(ip)
        except ValueError as error:
            bad.append(f"{address!r} ({error})")
    if bad:
        raise ValueError(f"target: bad addresses: {', '.join(bad)}")
    if all(ip.version == 4 for ip, _ in found):
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in found)
    return "ipv6:" + ",".join(f"[{_as_ipv6(ip)}]:{port}" for ip, port in found)


def _resolve(address: str) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """The IP addresses and port of one `host:port`; ValueError saying what is wrong."""
    if not isinstance(address, str):
        raise ValueError("not a string")
    host, colon, port_text = address.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    if not colon or not host or "/" in address or "," in address:
        raise ValueError("not host:port")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("the port is not a number from 1 to 65535")
    port = int(port_text)
    if bracketed or ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("not an IPv6 address") from None
        if not bracketed:
            raise ValueError("an IPv6 address goes in brackets: [address]:port")
        return [(ip, port)]
    try:
        return [(ipaddress.IPv4Address(host), port)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise ValueError(f"the host does not resolve: {error}") from None
    return [(ipaddress.ip_address(info[4][0]), port) for info in infos]


def _as_ipv6(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return str(ip) if ip.version == 6 else f"::ffff:{ip}"
