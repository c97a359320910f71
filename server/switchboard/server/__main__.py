"""`switchboard-server` and `python -m switchboard.server`: run until SIGTERM or SIGINT; with
`--workers` above 1, as the supervisor of that many server processes (`workers`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from switchboard.server.app import App, tune_gc
from switchboard.server.config import Settings, parse_settings
from switchboard.server.logs import configure
from switchboard.server.workers import supervise


async def serve(settings: Settings) -> None:
    configure(settings.log_format, settings.log_level)
    app = App(settings)
    await app.start()
    tune_gc()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await app.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Checks the settings (a bad one: a line each on stderr, exit status 2), then serves."""
    settings = parse_settings(argv)
    if settings.workers > 1:
        raise SystemExit(supervise(settings))
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
