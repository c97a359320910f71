"""The Switchboard client library: `AsyncClient` (asyncio), `Client` (blocking), and watches
that reconnect and resume from the last revision they saw; `TlsConfig` for TLS and mTLS."""

from switchboard.client.aio import AsyncClient
from switchboard.client.errors import WatchOutOfRange, error_info
from switchboard.client.sync import Client
from switchboard.client.tls import TlsConfig

__all__ = ["AsyncClient", "Client", "TlsConfig", "WatchOutOfRange", "error_info"]
