"""`voltyard check-config`: the effective configuration as TOML, each value with where it came from.

The output is itself a valid voltyard.toml (the sources are comments), so an operator can keep what it
prints as the file of record. Values that are not set (an optional path) and the DC cabinet, whose table
has its own shape (docs/can.md), are shown as comments.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping

from voltyard.config import POWER_KEYS, Config, source_of

__all__ = ["SERVE_FLAGS", "render_config"]

# The `serve` (and `check-config`) flag that sets each key, to say "flag --port" rather than just "flag".
SERVE_FLAGS = {
    "server.host": "--host",
    "server.port": "--port",
    "server.api_port": "--api-port",
    "server.data_dir": "--data-dir",
}


def render_config(config: Config) -> str:
    """The effective configuration; see the module docstring."""
    lines = [
        f"# voltyard check-config: the effective configuration (file: {config.source or 'none'})",
        "# Each value is followed by where it came from: default, file, or the flag that set it.",
    ]
    for section in ("server", "ocpp", "store", "security", "admission", "health", "leniency"):
        lines += ["", f"[{section}]"]
        value = getattr(config, section)
        for item in dataclasses.fields(value):
            lines.append(_line(config, section, item.name, getattr(value, item.name)))
    lines += ["", "[power]", _line(config, "power", "enabled", config.power_enabled)]
    lines += [_line(config, "power", key, getattr(config.power, key)) for key in POWER_KEYS]
    lines.append("")
    if config.cabinet is None:
        lines.append("# [cabinet] not configured: no DC cabinet  # default")
    else:
        cabinet = config.cabinet
        bus = f"{cabinet.bus.interface}:{cabinet.bus.channel}"
        lines.append(
            f"# [cabinet] charge point {cabinet.charge_point_id!r}, {len(cabinet.guns)} gun(s) on {bus}"
            f"  # {source_of(config, 'cabinet')}"
        )
    return "\n".join(lines) + "\n"


def _line(config: Config, section: str, key: str, value: object) -> str:
    dotted = f"{section}.{key}"
    source = source_of(config, dotted)
    if source == "flag" and dotted in SERVE_FLAGS:
        source = f"flag {SERVE_FLAGS[dotted]}"
    if value is None:
        return f"# {key} is not set  # {source}"
    return f"{key} = {_toml(value)}  # {source}"


def _toml(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
