"""The README's configuration table matches the server's settings."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from switchboard.server.config import Settings, env_name, parse_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\| `--([a-z-]+)` \| `(SWITCHBOARD_[A-Z_]+)` \| `([^`]*)` \|", line)
        if match:
            rows[match[1].replace("-", "_")] = (match[2], match[3])
    defaults = Settings()
    assert set(rows) == {f.name for f in fields(Settings)}
    for name, (env, default) in rows.items():
        assert env == env_name(name)
        assert default == str(getattr(defaults, name))


def test_flags_beat_environment_beat_defaults() -> None:
    settings = parse_settings(["--port", "7000"], {"SWITCHBOARD_PORT": "6000",
                                                   "SWITCHBOARD_LOG_FORMAT": "json"})
    assert (settings.port, settings.log_format) == (7000, "json")
    assert parse_settings([], {}) == Settings()
    assert Settings().port == 50051
    assert Settings().database_url == "sqlite+aiosqlite:///./switchboard.db"
