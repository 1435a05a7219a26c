"""Station templates and fleet files (TOML): what kind of charger each simulated station is.

A template says who the station is (vendor, model, serial, firmware, ICCID/IMSI), what it has
(connectors with type, maximum power and phases), how its meter behaves (measurands, sampled and
clock-aligned intervals, noise), which id tags its drivers present, and the configuration keys it starts
with. A fleet file lists templates with counts. Everything is checked when the file is read, before
anything connects, and a bad option is refused with the file, the key and the value, e.g.
`ac.toml: [[connectors]] #2 max_kw: must be above 0, got -7`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voltyard.ocpp.codec import OCPP_VERSIONS
from voltyard.sim.errors import ScenarioError
from voltyard.sim.protocols import DEFAULT_PROTOCOLS
from voltyard.sim.settings import KEYS, KeySpec

__all__ = [
    "CONNECTOR_TYPES",
    "MEASURANDS",
    "ConnectorSpec",
    "FleetFile",
    "StationGroup",
    "StationTemplate",
    "TemplateError",
    "load_fleet",
    "load_template",
]

CONNECTOR_TYPES = frozenset({
    "Type1", "Type2", "CCS1", "CCS2", "CHAdeMO", "GBT-AC", "GBT-DC", "Schuko", "Tesla", "NACS",
})  # fmt: skip
# The measurands a simulated meter can report: what it knows (energy, power) and what follows from it.
MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage")
_MAX_CONNECTORS = 32
_MAX_KW = 1000.0  # above any charger built today: a typo, not a station

_TABLES = {"template", "identity", "connectors", "meter", "auth", "settings"}
_TEMPLATE_KEYS = {"name", "description", "protocol"}
_IDENTITY_KEYS = {"vendor", "model", "serial", "firmware", "iccid", "imsi", "meter_type", "meter_serial"}
# CiString lengths of BootNotification.req (OCPP 1.6), the tightest of the versions.
_IDENTITY_LENGTHS = {
    "vendor": 20, "model": 20, "serial": 25, "firmware": 50, "iccid": 20, "imsi": 20,
    "meter_type": 25, "meter_serial": 25,
}  # fmt: skip
_CONNECTOR_KEYS = {"id", "type", "max_kw", "phases"}
_METER_KEYS = {"measurands", "sample_interval", "clock_aligned_interval", "noise"}
_AUTH_KEYS = {"id_tags"}
_FLEET_TABLES = {"fleet", "stations"}
_FLEET_KEYS = {"name"}
_GROUP_KEYS = {"template", "count", "id_prefix"}


class TemplateError(ScenarioError):
    """A station template or fleet file with a bad key or value; names the file, the key and the value."""


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    connector_id: int
    type: str = "Type2"
    max_kw: float = 22.0
    phases: int = 3


@dataclass(frozen=True, slots=True)
class StationTemplate:
    """One kind of station, checked. `serial` may contain `{charger}` (the charger id)."""

    name: str
    description: str = ""
    vendor: str = "Voltyard"
    model: str = "SimCharger"
    serial: str = "{charger}"
    firmware: str = "sim-1.0"
    iccid: str = ""
    imsi: str = ""
    meter_type: str = "SimMeter"
    meter_serial: str = ""
    connectors: tuple[ConnectorSpec, ...] = (ConnectorSpec(1),)
    measurands: tuple[str, ...] = ("Energy.Active.Import.Register", "Power.Active.Import")
    sample_interval: int | None = None  # None: the run's
    clock_aligned_interval: int = 0
    noise: float = 0.0  # relative noise on the reported power, 0..0.5
    id_tags: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    # The OCPP versions the station offers, preferred first; it speaks the one the central system picks.
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS

    def serial_for(self, charger_id: str) -> str:
        return self.serial.replace("{charger}", charger_id)[-25:]

    def start_settings(self) -> dict[str, str]:
        """The configuration keys the station starts with: the meter's, then its own [settings]."""
        settings = {"MeterValuesSampledData": ",".join(self.measurands)}
        if self.sample_interval is not None:
            settings["MeterValueSampleInterval"] = str(self.sample_interval)
        if self.clock_aligned_interval:
            settings["ClockAlignedDataInterval"] = str(self.clock_aligned_interval)
        settings.update(self.settings)
        return settings


@dataclass(frozen=True, slots=True)
class StationGroup:
    template: StationTemplate
    count: int
    id_prefix: str


@dataclass(frozen=True, slots=True)
class FleetFile:
    name: str
    groups: tuple[StationGroup, ...]

    @property
    def chargers(self) -> int:
        return sum(group.count for group in self.groups)

    def templates(self) -> list[tuple[str, StationTemplate]]:
        """(id prefix, template) of every charger in fleet order."""
        return [(group.id_prefix, group.template) for group in self.groups for _ in range(group.count)]


def _read(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: not valid TOML: {exc}") from exc


def _only(table: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise TemplateError(f"{where}: {prefix}unknown key {key!r} (known: {', '.join(sorted(allowed))})")


def _table(document: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise TemplateError(f"{where}: [{name}] must be a table, got {value!r}")
    return value


def _string(value: object, where: str, key: str, limit: int = 500) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{where}: {key}: expected a string, got {value!r}")
    if len(value) > limit:
        raise TemplateError(f"{where}: {key}: at most {limit} characters, got {len(value)} in {value!r}")
    return value


def _integer(value: object, where: str, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"{where}: {key}: expected a whole number, got {value!r}")
    if not low <= value <= high:
        raise TemplateError(f"{where}: {key}: must be within {low}..{high}, got {value}")
    return value


def _number(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TemplateError(f"{where}: {key}: expected a number, got {value!r}")
    return float(value)


def load_template(path: Path) -> StationTemplate:
    """Read and check a station template; raises TemplateError naming the file, the key and the value."""
    where = str(path)
    document = _read(path, "station template")
    _only(document, _TABLES, where, "")
    head = _table(document, "template", where)
    _only(head, _TEMPLATE_KEYS, where, "[template] ")
    identity = _table(document, "identity", where)
    _only(identity, _IDENTITY_KEYS, where, "[identity] ")
    meter = _table(document, "meter", where)
    _only(meter, _METER_KEYS, where, "[meter] ")
    auth = _table(document, "auth", where)
    _only(auth, _AUTH_KEYS, where, "[auth] ")
    values: dict[str, Any] = {
        "name": _string(head.get("name", path.stem), where, "[template] name", 100),
        "description": _string(head.get("description", ""), where, "[template] description"),
    }
    if "protocol" in head:
        values["protocols"] = _protocols(head["protocol"], where)
    for key, value in identity.items():
        values[key] = _string(value, where, f"[identity] {key}", _IDENTITY_LENGTHS[key])
        if key in ("vendor", "model") and not value:
            raise TemplateError(f"{where}: [identity] {key}: must not be empty")
    values["connectors"] = _connectors(document.get("connectors"), where)
    values.update(_meter(meter, where))
    values["id_tags"] = _id_tags(auth.get("id_tags", []), where)
    values["settings"] = _settings(_table(document, "settings", where), where, len(values["connectors"]))
    return StationTemplate(**values)


def _protocols(value: object, where: str) -> tuple[str, ...]:
    """`protocol = "2.0.1"` (that version only) or a list of versions offered, preferred first."""
    items = value if isinstance(value, list) else [value]
    known = ", ".join(OCPP_VERSIONS)
    if not items:
        raise TemplateError(
            f"{where}: [template] protocol: expected a version or a list of versions ({known})"
        )
    versions: list[str] = []
    for item in items:
        if item not in OCPP_VERSIONS:
            raise TemplateError(
                f"{where}: [template] protocol: unknown OCPP version {item!r} (known: {known})"
            )
        if item in versions:
            raise TemplateError(f"{where}: [template] protocol: {item!r} is given twice")
        versions.append(str(item))
    return DEFAULT_PROTOCOLS if versions == list(DEFAULT_PROTOCOLS) else tuple(versions)


def _connectors(value: object, where: str) -> tuple[ConnectorSpec, ...]:
    if value is None:
        return (ConnectorSpec(1),)
    if not isinstance(value, list) or not value:
        raise TemplateError(f"{where}: [[connectors]]: expected at least one [[connectors]] table")
    if len(value) > _MAX_CONNECTORS:
        raise TemplateError(f"{where}: [[connectors]]: at most {_MAX_CONNECTORS}, got {len(value)}")
    specs = []
    for number, entry in enumerate(value, start=1):
        prefix = f"[[connectors]] #{number}"
        if not isinstance(entry, dict):
            raise TemplateError(f"{where}: {prefix}: expected a table, got {entry!r}")
        _only(entry, _CONNECTOR_KEYS, where, f"{prefix} ")
        # OCPP 1.6 numbers connectors from 1 (0 is the charger itself), without gaps.
        connector_id = _integer(entry.get("id", number), where, f"{prefix} id", 1, _MAX_CONNECTORS)
        if connector_id != number:
            raise TemplateError(
                f"{where}: {prefix} id: connectors are numbered 1, 2, ... in order; expected {number}, "
                f"got {connector_id}"
            )
        kind = _string(entry.get("type", "Type2"), where, f"{prefix} type")
        if kind not in CONNECTOR_TYPES:
            raise TemplateError(
                f"{where}: {prefix} type: unknown connector type {kind!r} "
                f"(known: {', '.join(sorted(CONNECTOR_TYPES))})"
            )
        max_kw = _number(entry.get("max_kw", 22.0), where, f"{prefix} max_kw")
        if not 0 < max_kw <= _MAX_KW:
            raise TemplateError(
                f"{where}: {prefix} max_kw: must be above 0 and at most {_MAX_KW:g}, got {max_kw:g}"
            )
        phases = _integer(entry.get("phases", 3), where, f"{prefix} phases", 1, 3)
        specs.append(ConnectorSpec(connector_id, kind, max_kw, phases))
    return tuple(specs)


def _meter(meter: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "measurands" in meter:
        measurands = meter["measurands"]
        if not isinstance(measurands, list) or not measurands:
            raise TemplateError(f"{where}: [meter] measurands: expected a list of names, got {measurands!r}")
        for name in measurands:
            if name not in MEASURANDS:
                raise TemplateError(
                    f"{where}: [meter] measurands: unknown measurand {name!r} "
                    f"(known: {', '.join(MEASURANDS)})"
                )
        values["measurands"] = tuple(dict.fromkeys(measurands))
    if "sample_interval" in meter:
        values["sample_interval"] = _integer(
            meter["sample_interval"], where, "[meter] sample_interval", 1, 3600
        )
    if "clock_aligned_interval" in meter:
        values["clock_aligned_interval"] = _integer(
            meter["clock_aligned_interval"], where, "[meter] clock_aligned_interval", 0, 86400
        )
    if "noise" in meter:
        noise = _number(meter["noise"], where, "[meter] noise")
        if not 0.0 <= noise <= 0.5:
            raise TemplateError(
                f"{where}: [meter] noise: must be within 0..0.5 (a share of the power), got {noise:g}"
            )
        values["noise"] = noise
    return values


def _id_tags(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TemplateError(f"{where}: [auth] id_tags: expected a list of tags, got {value!r}")
    tags = []
    for tag in value:
        text = _string(tag, where, "[auth] id_tags", 20)  # idToken is CiString20
        if not text:
            raise TemplateError(f"{where}: [auth] id_tags: a tag must not be empty")
        tags.append(text)
    return tuple(tags)


def _settings(table: Mapping[str, Any], where: str, connectors: int) -> dict[str, str]:
    settings: dict[str, str] = {}
    for key, value in table.items():
        spec = KEYS.get(key)
        if spec is None:
            raise TemplateError(
                f"{where}: [settings] {key}: not an OCPP 1.6 configuration key the simulator has"
            )
        if spec.readonly:
            raise TemplateError(f"{where}: [settings] {key}: read-only, the station sets it itself")
        settings[key] = _setting(spec, value, where, key)
    return settings


def _setting(spec: KeySpec, value: object, where: str, key: str) -> str:
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise TemplateError(f"{where}: [settings] {key}: expected true or false, got {value!r}")
        return "true" if value else "false"
    if spec.kind == "int":
        return str(_integer(value, where, f"[settings] {key}", max(spec.minimum, 0), 2**31 - 1))
    if spec.kind == "csl" and isinstance(value, list):
        return ",".join(_string(item, where, f"[settings] {key}") for item in value)
    return _string(value, where, f"[settings] {key}")


def load_fleet(path: Path) -> FleetFile:
    """Read a fleet file and every template it names (paths relative to the fleet file)."""
    where = str(path)
    document = _read(path, "fleet file")
    _only(document, _FLEET_TABLES, where, "")
    head = _table(document, "fleet", where)
    _only(head, _FLEET_KEYS, where, "[fleet] ")
    name = _string(head.get("name", path.stem), where, "[fleet] name", 100)
    entries = document.get("stations")
    if not isinstance(entries, list) or not entries:
        raise TemplateError(
            f"{where}: [[stations]]: expected at least one [[stations]] table (template, count)"
        )
    groups = []
    cache: dict[Path, StationTemplate] = {}
    for number, entry in enumerate(entries, start=1):
        prefix = f"[[stations]] #{number}"
        if not isinstance(entry, dict):
            raise TemplateError(f"{where}: {prefix}: expected a table, got {entry!r}")
        _only(entry, _GROUP_KEYS, where, f"{prefix} ")
        if "template" not in entry:
            raise TemplateError(f"{where}: {prefix}: missing key 'template' (a template file)")
        file = path.parent / _string(entry["template"], where, f"{prefix} template")
        if not file.is_file():
            raise TemplateError(f"{where}: {prefix} template: no such file {str(file)!r}")
        template = cache.get(file) or load_template(file)
        cache[file] = template
        count = _integer(entry.get("count", 1), where, f"{prefix} count", 1, 100_000)
        id_prefix = _string(entry.get("id_prefix", "SIM"), where, f"{prefix} id_prefix", 15)
        if (
            not id_prefix
            or not id_prefix.isascii()
            or not id_prefix.replace("-", "").replace("_", "").isalnum()
        ):
            raise TemplateError(
                f"{where}: {prefix} id_prefix: letters, digits, '-' and '_' only, got {id_prefix!r}"
            )
        groups.append(StationGroup(template, count, id_prefix))
    return FleetFile(name, tuple(groups))
