"""The appliance's configuration: `voltyard.toml` parsed once into frozen dataclasses.

Every key has an embedded default, so `voltyard serve` runs without a file. A file overrides the keys
it names; command-line flags override the file (a flag not given overrides nothing). Errors name the
file and the key as `section.key` (`voltyard.toml: server.port: expected an integer, got 'nine'`), and
unknown sections and keys are refused rather than silently ignored, so that a typo cannot leave a
default in force unnoticed. `Config.sources` says where each value came from, for `voltyard
check-config`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit, urlunsplit

from voltyard.can.config import CabinetConfig
from voltyard.errors import CabinetConfigError, ConfigError
from voltyard.power.config import PowerConfig

__all__ = [
    "LENIENCY_RULES",
    "AdmissionConfig",
    "Config",
    "HealthConfig",
    "LeniencyConfig",
    "OcppConfig",
    "SecurityConfig",
    "ServerConfig",
    "StoreBackendName",
    "StoreConfig",
    "UplinkConfig",
    "accepted_keys",
    "default_data_dir",
    "load_config",
    "read_password_file",
    "source_of",
]

# Tolerated deviations from the OCPP 1.6 schemas (voltyard.ocpp.leniency applies them).
LENIENCY_RULES = (
    "numeric_sampled_value",
    "long_serial_numbers",
    "unknown_enum_values",
    "single_object_as_array",
)

UnknownChargerPolicy = Literal["accept", "pending", "reject"]
UnknownIdTagPolicy = Literal["accept", "reject"]
# The OCPP versions a charger may speak (the handshake picks the highest it offers of those allowed).
OcppVersionName = Literal["1.6", "2.0.1", "2.1"]
StoreBackendName = Literal["sqlite", "postgresql"]


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
    # Bytes of events an event-stream client may leave unread before it is dropped (1 MiB-1 GiB).
    stream_max_buffer: int = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class OcppConfig:
    """OCPP behaviour towards chargers (1.6J, 2.0.1 and 2.1)."""

    heartbeat_interval: int = 300
    unknown_charger: UnknownChargerPolicy = "accept"
    pending_interval: int = 60
    unknown_id_tag: UnknownIdTagPolicy = "reject"
    call_timeout: float = 30.0
    max_frame_size: int = 65536
    validate_outgoing: bool = False
    versions: tuple[OcppVersionName, ...] = ("1.6", "2.0.1", "2.1")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The store (SQLite or PostgreSQL) and the limits of the tables that grow (voltyard.store.retention)."""

    # "sqlite": a file in the data directory, nothing to install (the default). "postgresql": the database
    # at `dsn`, which several nodes can share (docs/scale-out.md).
    backend: StoreBackendName = "sqlite"
    # postgresql://user[:password]@host[:port]/database[?options]; only with backend = "postgresql".
    dsn: str | None = None
    telemetry_commit_interval: float = 0.5
    message_log_max_rows: int = 2_000_000
    message_log_max_age_days: float = 30.0
    events_max_rows: int = 1_000_000
    events_max_age_days: float = 30.0
    status_history_max_rows: int = 1_000_000
    status_history_max_age_days: float = 30.0
    meter_values_max_age_days: float = 90.0
    stop_records_max_rows: int = 1_000_000
    stop_records_max_age_days: float = 365.0
    certificate_requests_max_rows: int = 10_000
    certificate_requests_max_age_days: float = 365.0
    # Finished transactions are billing records: kept unless an operator sets an age.
    transactions_max_age_days: float = 0.0
    # /health says degraded (and an alert is raised) when the data directory's volume has less free.
    min_free_disk_mb: int = 256


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """TLS listener (security profiles 2 and 3) and the throttling of failed logins."""

    tls_port: int = 9443
    default_profile: int = 0
    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None
    auth_failure_limit: int = 5
    auth_failure_window: float = 60.0


@dataclass(frozen=True, slots=True)
class AdmissionConfig:
    """How fast chargers may connect, boot and talk."""

    connection_rate: float = 1000.0
    connection_burst: int = 200
    boot_storm_rate: float = 500.0
    pending_interval_min: int = 5
    pending_interval_max: int = 30
    message_rate: float = 50.0
    message_burst: int = 200
    # Pings and unsolicited pongs per second (and burst) per charger: beyond, it is read more slowly and
    # answered with one pong for its latest ping; more than the burst beyond the rate at once closes it.
    control_frame_rate: float = 5.0
    control_frame_burst: int = 20
    # A charger that leaves its answers unread (64 KiB of them: it stops being read) is closed once this
    # many bytes wait for it, or once it has not drained them for this many seconds.
    max_unsent_bytes: int = 1024 * 1024
    unsent_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """Liveness checks and the automatic responses of seed 000."""

    ping_interval: float = 60.0
    ping_timeout: float = 30.0
    heartbeat_timeout_factor: float = 3.0
    critical_error_codes: tuple[str, ...] = (
        "GroundFailure",
        "HighTemperature",
        "OverCurrentFailure",
        "OverVoltage",
        "PowerSwitchFailure",
        "UnderVoltage",
    )
    faulted_inoperative: bool = True
    heartbeat_loss_alert: bool = True
    emergency_stop_warning: bool = True
    response_min_interval: float = 300.0
    clock_skew_tolerance: float = 300.0


@dataclass(frozen=True, slots=True)
class LeniencyConfig:
    """Tolerated deviations from the schemas: for every charger, and per "Vendor" or "Vendor/Model"."""

    default: tuple[str, ...] = ()
    by_model: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    """The appliance as a local controller: one OCPP connection per local charge point to the operator's
    central system (docs/uplink.md). No `url`: no uplink."""

    url: str = ""
    ocpp: Literal["1.6"] = "1.6"
    # "all" (every local charger and the cabinet's charge point) or a list of charge point ids.
    chargers: tuple[str, ...] = ("all",)
    security_profile: int = 0
    # Basic auth (profiles 1 and 2): a password per charge point, from the map or the file
    # (`chargePointId password` per line); "*" in either is every charge point's not named.
    passwords: dict[str, str] = field(default_factory=dict)
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    backoff_min: float = 1.0
    backoff_max: float = 60.0
    call_timeout: float = 30.0
    meter_interval: float = 10.0
    # How long a charger's Authorize waits for the central system while online before the local answer is
    # used; 0: always answered locally.
    authorize_timeout: float = 3.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def goes_upstream(self, charger_id: str) -> bool:
        return "all" in self.chargers or charger_id in self.chargers


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The cluster bus on Redis (docs/scale-out.md, "Cluster bus on Redis"). No `redis`: one node alone,
    no Redis needed."""

    # redis://[user:password@]host:port/db, rediss:// (TLS) or unix:///path/to/redis.sock.
    redis: str = ""
    # This node's id, unique in the cluster; "" is the host name and the process id (`host-1234`).
    node_id: str = ""
    # Seconds a node's leases (its own, its chargers', its singletons') last without renewal: a dead node's
    # chargers and singletons move to other nodes after about this long.
    lease: float = 6.0

    @property
    def enabled(self) -> bool:
        return bool(self.redis)

    def node_name(self) -> str:
        """`node_id`, or the host name and process id when it is not set."""
        return self.node_id or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; `source` is the file it came from, if any."""

    server: ServerConfig = field(default_factory=ServerConfig)
    ocpp: OcppConfig = field(default_factory=OcppConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    leniency: LeniencyConfig = field(default_factory=LeniencyConfig)
    uplink: UplinkConfig = field(default_factory=UplinkConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    cabinet: CabinetConfig | None = None
    power: PowerConfig = field(default_factory=PowerConfig)
    power_enabled: bool = False
    source: Path | None = None
    # "section.key" -> "file" or "flag" for every value not left at its default.
    sources: Mapping[str, str] = field(default_factory=dict)


def source_of(config: Config, key: str) -> str:
    """Where the value of `key` ("server.port") came from: "flag", "file" or "default"."""
    return config.sources.get(key, "default")


# Bounds per key: a value outside them is refused at start, not discovered under load.
_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("server", "port"): (0, 65535),
    ("server", "api_port"): (0, 65535),
    ("server", "stream_max_buffer"): (1024 * 1024, 1024**3),
    ("ocpp", "heartbeat_interval"): (1, 86400),
    ("ocpp", "pending_interval"): (1, 86400),
    ("ocpp", "call_timeout"): (0.1, 3600),
    ("ocpp", "max_frame_size"): (1024, 16 * 1024 * 1024),
    ("store", "telemetry_commit_interval"): (0.01, 1.0),
    ("store", "message_log_max_rows"): (0, 10**9),
    ("store", "message_log_max_age_days"): (0, 3650),
    ("store", "events_max_rows"): (0, 10**9),
    ("store", "events_max_age_days"): (0, 3650),
    ("store", "status_history_max_rows"): (0, 10**9),
    ("store", "status_history_max_age_days"): (0, 3650),
    ("store", "meter_values_max_age_days"): (0, 36500),
    ("store", "min_free_disk_mb"): (0, 10**7),
    ("store", "stop_records_max_rows"): (0, 10**9),
    ("store", "stop_records_max_age_days"): (0, 36500),
    ("store", "certificate_requests_max_rows"): (0, 10**9),
    ("store", "certificate_requests_max_age_days"): (0, 36500),
    ("store", "transactions_max_age_days"): (0, 36500),
    ("security", "tls_port"): (0, 65535),
    ("security", "default_profile"): (0, 3),
    ("security", "auth_failure_limit"): (1, 10**6),
    ("security", "auth_failure_window"): (1, 86400),
    ("admission", "connection_rate"): (1, 10**6),
    ("admission", "connection_burst"): (1, 10**7),
    ("admission", "boot_storm_rate"): (1, 10**6),
    ("admission", "pending_interval_min"): (1, 86400),
    ("admission", "pending_interval_max"): (1, 86400),
    ("admission", "message_rate"): (0.1, 10**6),
    ("admission", "message_burst"): (1, 10**7),
    ("admission", "control_frame_rate"): (0.1, 10**6),
    ("admission", "control_frame_burst"): (1, 10**7),
    ("admission", "max_unsent_bytes"): (64 * 1024, 1024**3),
    ("admission", "unsent_timeout"): (0.1, 86400),
    ("health", "ping_interval"): (0, 86400),
    ("health", "ping_timeout"): (1, 86400),
    ("health", "heartbeat_timeout_factor"): (1.0, 100.0),
    ("health", "response_min_interval"): (0, 86400),
    ("health", "clock_skew_tolerance"): (0, 86400),
    ("uplink", "security_profile"): (0, 3),
    ("cluster", "lease"): (1.0, 60.0),
    ("uplink", "backoff_min"): (0.1, 3600),
    ("uplink", "backoff_max"): (0.1, 86400),
    ("uplink", "call_timeout"): (0.1, 3600),
    ("uplink", "meter_interval"): (0.2, 3600),
    ("uplink", "authorize_timeout"): (0, 60),
}

# The plain sections, [server] to [leniency]: every field of `Config` whose type is a dataclass of this
# module. [power] (its `enabled` switch lives beside it in `Config`) and [cabinet] (optional, validated by
# `CabinetConfig`) are read apart; every section's keys are its dataclass's fields.
_SECTIONS: dict[str, type[Any]] = {
    spec.name: hint
    for spec in dataclasses.fields(Config)
    for hint in [get_type_hints(Config)[spec.name]]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint.__module__ == __name__
}


def accepted_keys() -> frozenset[str]:
    """Every key the loader accepts, as "section.key" ("cabinet.bus.channel", "cabinet.guns.plc_id").

    Derived from the config dataclasses, as the loader itself is, so that a documentation test can hold
    configs/voltyard.toml and docs/ to exactly these.
    """
    keys = {f"{name}.{spec.name}" for name, cls in _SECTIONS.items() for spec in dataclasses.fields(cls)}
    keys |= {"power.enabled", *(f"power.{spec.name}" for spec in dataclasses.fields(PowerConfig))}
    return frozenset(keys | {f"cabinet.{key}" for key in CabinetConfig.accepted_keys()})


def load_config(path: Path | None, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Config:
    """Read `path` (or only the defaults when None) and apply `overrides` ({section: {key: value}}).

    An override whose value is None is no override: it stands for a flag that was not given, and leaves the
    file's value (or the default) in force.

    Raises:
        ConfigError: the file cannot be read or parsed, or a section or key is unknown or holds a bad value.
    """
    where = str(path) if path is not None else "<defaults>"
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    given = {
        name: {key: value for key, value in values.items() if value is not None}
        for name, values in (overrides or {}).items()
    }
    sources = _sources(document, given)
    cabinet = _cabinet(given.get("cabinet") or document.pop("cabinet", None), where)
    document.pop("cabinet", None)
    power_table = document.pop("power", {})
    if not isinstance(power_table, dict):
        raise ConfigError(f"{where}: power: must be a table ([power])")
    power, power_enabled = _power({**power_table, **given.get("power", {})}, where, path)
    for name in document:
        if name not in _SECTIONS:
            known = ", ".join([*_SECTIONS, "power", "cabinet"])
            raise ConfigError(f"{where}: {name}: unknown section [{name}] (known: {known})")
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = document.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {name}: must be a table ([{name}])")
        values = {**table, **given.get(name, {})}
        if name == "uplink" and values.get("chargers") == "all":  # the one string it takes for a list
            values["chargers"] = ["all"]
        sections[name] = _build_section(cls, name, values, where, path)
    _check_together(sections, where)
    return Config(
        **sections, cabinet=cabinet, power=power, power_enabled=power_enabled, source=path, sources=sources
    )


def _sources(document: Mapping[str, Any], given: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """ "section.key" -> "file" or "flag" for every key the file or a given flag sets."""
    sources: dict[str, str] = {}
    for name, table in document.items():
        if isinstance(table, dict) and name != "cabinet":
            sources.update({f"{name}.{key}": "file" for key in table})
        else:
            sources[name] = "file"
            sources.update(_nested_keys(table, name, "file"))
    for name, values in given.items():
        sources.update({f"{name}.{key}": "flag" for key in values})
        if name == "cabinet":
            sources["cabinet"] = "flag"
            sources.update(_nested_keys(values, name, "flag"))
    return sources


def _nested_keys(value: object, prefix: str, source: str) -> dict[str, str]:
    """The [cabinet] table's keys as check-config names them: cabinet.bus.channel, cabinet.guns[1].plc_id."""
    if isinstance(value, Mapping):
        found: dict[str, str] = {}
        for key, item in value.items():
            found[f"{prefix}.{key}"] = source
            found.update(_nested_keys(item, f"{prefix}.{key}", source))
        return found
    if isinstance(value, list):
        return {
            k: v
            for i, item in enumerate(value)
            for k, v in _nested_keys(item, f"{prefix}[{i}]", source).items()
        }
    return {}


def _check_together(sections: Mapping[str, Any], where: str) -> None:
    """The rules that tie keys to each other, once every key is valid on its own."""
    admission = sections["admission"]
    if admission.pending_interval_min > admission.pending_interval_max:
        raise ConfigError(
            f"{where}: admission.pending_interval_min: {admission.pending_interval_min} is above "
            f"admission.pending_interval_max ({admission.pending_interval_max})"
        )
    security = sections["security"]
    if (security.cert_file is None) != (security.key_file is None):
        missing = "key_file" if security.key_file is None else "cert_file"
        raise ConfigError(f"{where}: security.{missing}: missing (cert_file and key_file go together)")
    for key in ("cert_file", "key_file", "client_ca_file"):
        _check_readable(getattr(security, key), f"{where}: security.{key}")
    versions = sections["ocpp"].versions
    known_versions = get_args(OcppVersionName)
    if not versions or any(version not in known_versions for version in versions):
        bad = [version for version in versions if version not in known_versions]
        raise ConfigError(
            f"{where}: ocpp.versions: "
            + (f"unknown version {bad[0]!r}" if bad else "empty: no charger could connect")
            + f" (known: {', '.join(known_versions)})"
        )
    _check_uplink(sections["uplink"], f"{where}: uplink")
    _check_cluster(sections["cluster"], f"{where}: cluster")
    _check_store(sections["store"], f"{where}: store")
    leniency = sections["leniency"]
    for key, rules in [
        ("default", leniency.default),
        *((f"by_model.{k}", v) for k, v in leniency.by_model.items()),
    ]:
        unknown = sorted(set(rules) - set(LENIENCY_RULES))
        if unknown:
            raise ConfigError(
                f"{where}: leniency.{key}: unknown rule {unknown[0]!r} (known: {', '.join(LENIENCY_RULES)})"
            )


# A node id goes into Redis key and channel names: letters, digits and . _ - only.
_NODE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def redacted_url(url: str) -> str:
    """`url` with its password (if any) replaced by `***`, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unreadable URL>"
    if not password:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}{port}"))


def _check_cluster(cluster: ClusterConfig, where: str) -> None:
    """[cluster]: a Redis URL and a node id that can name keys, refused at start otherwise."""
    if cluster.node_id and not _NODE_ID.fullmatch(cluster.node_id):
        raise ConfigError(
            f"{where}.node_id: {cluster.node_id!r} is not a node id (1-64 letters, digits, '.', '_', '-')"
        )
    if not cluster.enabled:
        return
    shown = redacted_url(cluster.redis)
    try:
        parts = urlsplit(cluster.redis)
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises ValueError)
    except ValueError as exc:
        raise ConfigError(f"{where}.redis: {shown} is not a URL: {exc}") from None
    if parts.scheme not in _REDIS_SCHEMES:
        raise ConfigError(
            f"{where}.redis: {shown} is not a Redis URL (redis://host:port/db, rediss://... or unix://...)"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"{where}.redis: {shown} names no host (redis://host:port/db)")


def _check_uplink(uplink: UplinkConfig, where: str) -> None:
    """[uplink]: what cannot work together is refused at start, naming the key (docs/uplink.md)."""
    if not uplink.enabled:
        return
    scheme = uplink.url.partition("://")[0]
    if scheme not in ("ws", "wss") or not uplink.url.partition("://")[2].strip("/"):
        raise ConfigError(f"{where}.url: {uplink.url!r} is not a ws:// or wss:// URL")
    if not uplink.chargers or any(not item for item in uplink.chargers):
        raise ConfigError(f'{where}.chargers: expected "all" or a list of charge point ids')
    profile = uplink.security_profile
    if profile >= 2 and scheme != "wss":
        raise ConfigError(f"{where}.security_profile: profile {profile} needs a wss:// url")
    if profile in (1, 2) and not uplink.passwords and uplink.password_file is None:
        raise ConfigError(f"{where}.passwords: security profile {profile} needs passwords or password_file")
    if profile == 3 and (uplink.cert_file is None or uplink.key_file is None):
        missing = "cert_file" if uplink.cert_file is None else "key_file"
        raise ConfigError(f"{where}.{missing}: security profile 3 needs cert_file and key_file")
    if (uplink.cert_file is None) != (uplink.key_file is None):
        missing = "key_file" if uplink.key_file is None else "cert_file"
        raise ConfigError(f"{where}.{missing}: missing (cert_file and key_file go together)")
    for key in ("password_file", "ca_file", "cert_file", "key_file"):
        _check_readable(getattr(uplink, key), f"{where}.{key}")
    if uplink.backoff_min > uplink.backoff_max:
        raise ConfigError(
            f"{where}.backoff_min: {uplink.backoff_min:g} is above uplink.backoff_max "
            f"({uplink.backoff_max:g})"
        )
    if uplink.password_file is not None:
        read_password_file(uplink.password_file, f"{where}.password_file")


def read_password_file(path: Path, where: str) -> dict[str, str]:
    """The uplink's Basic auth keys: `chargePointId password` per line (blank lines, `#` comments skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        charger_id, _, password = stripped.partition(" ")
        if not password.strip():
            raise ConfigError(f"{where}: {path}:{number}: expected `chargePointId password`")
        found[charger_id] = password.strip()
    return found


def _power(table: Mapping[str, Any], where: str, path: Path | None) -> tuple[PowerConfig, bool]:
    """[power]: the site power manager (docs/power.md); off unless `enabled = true`."""
    hints = get_type_hints(PowerConfig)
    kwargs: dict[str, Any] = {}
    enabled = False
    for key, raw in table.items():
        if key == "enabled":
            enabled = _bool(raw, f"{where}: power.enabled")
            continue
        if key not in hints:
            known = ", ".join(["enabled", *(spec.name for spec in dataclasses.fields(PowerConfig))])
            raise ConfigError(f"{where}: power.{key}: unknown key (known: {known})")
        kwargs[key] = _coerce(hints[key], raw, f"{where}: power.{key}", path)
    try:
        return PowerConfig(**kwargs), enabled
    except ValueError as exc:
        raise ConfigError(f"{where}: power: {exc}") from exc


def _cabinet(table: object, where: str) -> CabinetConfig | None:
    """[cabinet]: the DC cabinet on CAN (absent: no cabinet); its own validation names the key."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: cabinet: must be a table ([cabinet])")
    try:
        return CabinetConfig.from_mapping(table)
    except CabinetConfigError as exc:
        raise ConfigError(f"{where}: cabinet.{exc}") from exc


def _build_section(
    cls: type[Any], section: str, values: Mapping[str, Any], where: str, path: Path | None
) -> object:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(f"{where}: {section}.{key}: unknown key (known: {', '.join(sorted(known))})")
        kwargs[key] = _coerce(hints[key], raw, f"{where}: {section}.{key}", path)
        bounds = _BOUNDS.get((section, key))
        if bounds is not None and not bounds[0] <= kwargs[key] <= bounds[1]:
            low, high = _bound(bounds[0]), _bound(bounds[1])
            raise ConfigError(f"{where}: {section}.{key}: {kwargs[key]!r} is outside {low}..{high}")
    return cls(**kwargs)


def _bound(value: float) -> str:
    """A bound as written in a file: 1048576, not 1.04858e+06 (sizes in bytes must read exactly)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _coerce(hint: object, raw: object, where: str, path: Path | None) -> object:
    scalar = _SCALARS.get(hint)
    if scalar is not None:
        return scalar(raw, where)
    if hint is Path or (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return _path(raw, where, path) if hint is Path else _nested(hint, raw, where, path)
    origin = get_origin(hint)
    if origin is UnionType or origin is Union:  # `X | None`: None is spelled by leaving the key out
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return _coerce(inner, raw, where, path)
    if origin is tuple:
        if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
            raise ConfigError(f"{where}: expected a list of strings, got {raw!r}")
        return tuple(raw)
    if origin is dict or origin is Mapping:
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table, got {raw!r}")
        value_hint = get_args(hint)[1]
        return {str(key): _coerce(value_hint, item, f"{where}.{key}", path) for key, item in raw.items()}
    choices = get_args(hint)
    if raw not in choices:
        raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(map(repr, choices))}")
    return raw


def _nested(cls: type[Any], raw: object, where: str, path: Path | None) -> object:
    """A value that is itself a small dataclass (a rate unit), written as a table of its fields."""
    names = [spec.name for spec in dataclasses.fields(cls)]
    if not isinstance(raw, dict):
        example = ", ".join(f"{name} = ..." for name in names)
        raise ConfigError(f"{where}: expected a table {{{example}}}, got {raw!r}")
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, item in raw.items():
        if key not in hints:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(names)})")
        kwargs[key] = _coerce(hints[key], item, f"{where}.{key}", path)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _check_store(store: StoreConfig, where: str) -> None:
    """The backend and its URL go together: PostgreSQL needs one, SQLite takes none."""
    if store.backend == "postgresql":
        if store.dsn is None:
            raise ConfigError(f'{where}.dsn: missing (backend = "postgresql" needs the database\'s URL)')
        if not store.dsn.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                f"{where}.dsn: {redacted_url(store.dsn)!r} is not a postgresql:// URL "
                "(postgresql://user[:password]@host[:port]/database)"
            )
        try:
            urlsplit(store.dsn).port  # noqa: B018 - parsing it is the check: a port that is not a number
        except ValueError as exc:
            raise ConfigError(f"{where}.dsn: {redacted_url(store.dsn)!r}: {exc}") from exc
    elif store.dsn is not None:
        raise ConfigError(
            f'{where}.dsn: set, but store.backend is "sqlite" (set backend = "postgresql" to use it, or '
            "remove the dsn)"
        )


def _check_readable(path: Path | None, where: str) -> None:
    """Refuse TLS material that is missing or unreadable now, rather than at the first TLS handshake."""
    if path is None:
        return
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"{where}: {path}: {exc.strerror or exc}") from exc


def _bool(raw: object, where: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    return raw


def _int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ConfigError(f"{where}: expected an integer, got {raw!r}")
    return raw


def _float(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"{where}: expected a number, got {raw!r}")
    return float(raw)


def _str(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: expected a string, got {raw!r}")
    return raw


def _path(raw: object, where: str, path: Path | None) -> Path:
    if not isinstance(raw, str | Path) or not str(raw):
        raise ConfigError(f"{where}: expected a path, got {raw!r}")
    resolved = Path(raw).expanduser()
    # Relative paths in a file are relative to that file, so a config works from any directory.
    if not resolved.is_absolute() and path is not None and isinstance(raw, str):
        resolved = path.absolute().parent / resolved
    return resolved


_SCALARS: dict[object, Callable[[object, str], object]] = {bool: _bool, int: _int, float: _float, str: _str}
