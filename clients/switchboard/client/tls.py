"""TLS for a client's channel: the CA to verify the server by, and for mTLS the client's own
certificate chain and key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

Pem = bytes | str | Path
"""PEM text as bytes, or the path of a file holding it."""


def _read(pem: Pem | None) -> bytes | None:
    if pem is None or isinstance(pem, bytes):
        return pem
    return Path(pem).read_bytes()


@dataclass(frozen=True)
class TlsConfig:
    """`ca`: the CA certificates the server's certificate must be signed by (None: the
    system's roots); `cert` and `key` (both or neither): the client's certificate chain and
    private key, for a server that asks for one (mTLS); `server_name`: the name the server's
    certificate must hold, instead of the target's host (needed with several addresses, which
    name no one host; "": the target's)."""

    ca: Pem | None = None
    cert: Pem | None = None
    key: Pem | None = None
    server_name: str = ""

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("TlsConfig: give cert and key together, or neither")

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(_read(self.ca), _read(self.key), _read(self.cert))


def channel_credentials(tls: TlsConfig | None, token: str | None) -> grpc.ChannelCredentials | None:
    """What a client's channel is made with: TLS with `tls`; with a bearer `token` as well, the
    token on every call (`authorization: Bearer <token>`). A token without TLS goes only over
    loopback (gRPC's local credentials: the channel refuses other addresses, so a token never
    crosses the network in the clear). None: plaintext, no token."""
    if tls is None and token is None:
        return None
    base = (tls.credentials() if tls is not None
            else grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP))
    if token is None:
        return base
    return grpc.composite_channel_credentials(base, grpc.access_token_call_credentials(token))
