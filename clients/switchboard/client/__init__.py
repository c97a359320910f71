"""The Switchboard client library: `AsyncClient` (asyncio), `Client` (blocking), and watches
that reconnect and resume from the last revision they saw."""

from switchboard.client.aio import AsyncClient
from switchboard.client.errors import WatchOutOfRange, error_info
from switchboard.client.sync import Client

__all__ = ["AsyncClient", "Client", "WatchOutOfRange", "error_info"]
