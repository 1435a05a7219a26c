"""The appliance's configuration: `voltyard.toml` parsed once into frozen dataclasses.

Every key has an embedded default, so `voltyard serve` runs without a file. A file overrides the keys
it names; command-line flags override the file. Errors name the file and the key (`[ocpp]
heartbeat_interval`), and unknown keys are refused rather than silently ignored, so that a typo
cannot leave a default in force unnoticed.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

from voltyard.errors import ConfigError

__all__ = [
    "Config",
    "OcppConfig",
    "ServerConfig",
    "StoreConfig",
    "default_data_dir",
    "load_config",
]

UnknownChargerPolicy = Literal["accept", "pending", "reject"]
UnknownIdTagPolicy = Literal["accept", "reject"]


def default_data_dir() -> Path:
    """Where the store lives unless configured: `$XDG_DATA_HOME/voltyard` (~/.local/share/voltyard)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voltyard"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Listeners and the data directory."""

    host: str = "0.0.0.0"
    port: int = 9000
    api_host: str = "127.0.0.1"
    api_port: int = 8180
    data_dir: Path = field(default_factory=default_data_dir)


@dataclass(frozen=True, slots=True)
class OcppConfig:
    """OCPP 1.6J behaviour towards chargers."""

    heartbeat_interval: int = 300
    unknown_charger: UnknownChargerPolicy = "accept"
    pending_interval: int = 60
    unknown_id_tag: UnknownIdTagPolicy = "reject"
    call_timeout: float = 30.0
    max_frame_size: int = 65536
    validate_outgoing: bool = False


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The SQLite store and its bounded message log."""

    telemetry_commit_interval: float = 0.5
    message_log_max_rows: int = 2_000_000
    message_log_max_age_days: float = 30.0


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; `source` is the file it came from, if any."""

    server: ServerConfig = field(default_factory=ServerConfig)
    ocpp: OcppConfig = field(default_factory=OcppConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    source: Path | None = None


# Bounds per key: a value outside them is refused at start, not discovered under load.
_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("server", "port"): (0, 65535),
    ("server", "api_port"): (0, 65535),
    ("ocpp", "heartbeat_interval"): (1, 86400),
    ("ocpp", "pending_interval"): (1, 86400),
    ("ocpp", "call_timeout"): (0.1, 3600),
    ("ocpp", "max_frame_size"): (1024, 16 * 1024 * 1024),
    ("store", "telemetry_commit_interval"): (0.01, 1.0),
    ("store", "message_log_max_rows"): (0, 10**9),
    ("store", "message_log_max_age_days"): (0, 3650),
}

_SECTIONS: dict[str, type[Any]] = {"server": ServerConfig, "ocpp": OcppConfig, "store": StoreConfig}


def load_config(path: Path | None, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    """Read `path` (or only the defaults when None) and apply `overrides` ({section: {key: value}}).

    Raises:
        ConfigError: the file cannot be read or parsed, or a key is unknown or holds a bad value.
    """
    where = str(path) if path is not None else "<defaults>"
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for name in document:
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}] (known: {', '.join(_SECTIONS)})")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = document.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        values = {**table, **(overrides or {}).get(name, {})}
        sections[name] = _build_section(cls, name, values, where, path)
    return Config(**sections, source=path)


def _build_section(
    cls: type[Any], section: str, values: Mapping[str, Any], where: str, path: Path | None
) -> object:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(f"{where}: [{section}] {key}: unknown key (known: {', '.join(sorted(known))})")
        if raw is None:
            continue
        kwargs[key] = _coerce(hints[key], raw, f"{where}: [{section}] {key}", path)
        bounds = _BOUNDS.get((section, key))
        if bounds is not None and not bounds[0] <= kwargs[key] <= bounds[1]:
            raise ConfigError(
                f"{where}: [{section}] {key}: {kwargs[key]!r} is outside {bounds[0]:g}..{bounds[1]:g}"
            )
    return cls(**kwargs)


def _coerce(hint: object, raw: object, where: str, path: Path | None) -> object:
    if hint is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{where}: expected an integer, got {raw!r}")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{where}: expected a number, got {raw!r}")
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: expected a string, got {raw!r}")
        return raw
    if hint is Path:
        if not isinstance(raw, str | Path) or not str(raw):
            raise ConfigError(f"{where}: expected a path, got {raw!r}")
        resolved = Path(raw).expanduser()
        # Relative paths in a file are relative to that file, so a config works from any directory.
        if not resolved.is_absolute() and path is not None and isinstance(raw, str):
            resolved = path.parent / resolved
        return resolved
    choices = get_args(hint)
    if raw not in choices:
        raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(map(repr, choices))}")
    return raw
