"""`voltyard check-config`: the effective configuration as TOML, each value with where it came from.

The output is itself a valid voltyard.toml (the sources are comments), so an operator can keep what it
prints as the file of record. Values that are not set (an optional path) are shown as comments; the DC
cabinet (docs/can.md) as [cabinet], [cabinet.bus], [cabinet.timing], [cabinet.ring] and one
[[cabinet.guns]] per gun.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping

from voltyard.can.config import CabinetConfig
from voltyard.config import Config, redacted_url, source_of

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
    sections = ("server", "ocpp", "store", "security", "admission", "health", "leniency", "uplink", "cluster")
    for section in sections:
        lines += ["", f"[{section}]"]
        value = getattr(config, section)
        for item in dataclasses.fields(value):
            shown = getattr(value, item.name)
            if (section, item.name) == ("uplink", "passwords"):  # the keys are secrets: which ones, not what
                shown = dict.fromkeys(shown, "********")
            if (section, item.name) == ("cluster", "redis"):  # its password is a secret
                shown = redacted_url(shown)
            if (section, item.name) == ("store", "dsn") and shown is not None:  # its password is a secret
                shown = redacted_url(shown)
            lines.append(_line(config, section, item.name, shown))
    lines += ["", "[power]", _line(config, "power", "enabled", config.power_enabled)]
    lines += [
        _line(config, "power", item.name, getattr(config.power, item.name))
        for item in dataclasses.fields(config.power)
    ]
    lines.append("")
    if config.cabinet is None:
        lines.append("# [cabinet] not configured: no DC cabinet  # default")
    else:
        lines += _cabinet(config, config.cabinet)
    return "\n".join(lines) + "\n"


def _cabinet(config: Config, cabinet: CabinetConfig) -> list[str]:
    """[cabinet] with its sub-tables and one [[cabinet.guns]] per gun, every key with its source."""
    lines = [f"[cabinet]  # {source_of(config, 'cabinet')}"]
    lines += [
        _line(config, "cabinet", key, getattr(cabinet, key)) for key in ("charge_point_id", "simulate_plcs")
    ]
    for name in ("bus", "timing", "ring"):
        table = getattr(cabinet, name)
        lines += ["", f"[cabinet.{name}]"]
        lines += [
            _line(config, f"cabinet.{name}", f.name, getattr(table, f.name))
            for f in dataclasses.fields(table)
        ]
    for index, gun in enumerate(cabinet.guns):
        lines += ["", "[[cabinet.guns]]"]
        lines += [
            _line(config, f"cabinet.guns[{index}]", f.name, getattr(gun, f.name))
            for f in dataclasses.fields(gun)
        ]
    return lines


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
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a rate unit: an inline table
        fields = dataclasses.fields(value)
        return "{" + ", ".join(f"{f.name} = {_toml(getattr(value, f.name))}" for f in fields) + "}"
    return _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
