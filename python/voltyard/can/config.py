"""The DC cabinet's configuration as frozen dataclasses: the CAN bus, the guns (one PLC each), the
driver's timing rules and the power ring the planner works on. Each class validates itself and names
the offending key in a `CabinetConfigError`; `CabinetConfig.from_mapping` builds one from plain data
such as a TOML table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self, TypeVar

from voltyard.errors import CabinetConfigError

PLC_ID_MAX = 15
# OCPP identifiers (CiString20 charge point ids are up to 48 in the security whitepaper) are printable ASCII.
CHARGE_POINT_ID_MAX = 48


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Which python-can interface and channel carry the cabinet (`virtual` in tests and the demo)."""

    interface: str = "socketcan"
    channel: str = "can0"
    bitrate: int = 125_000

    def __post_init__(self) -> None:
        _require(bool(self.interface), "bus.interface", "must not be empty")
        _require(bool(self.channel), "bus.channel", "must not be empty")
        _require(10_000 <= self.bitrate <= 1_000_000, "bus.bitrate", f"{self.bitrate} is not 10000-1000000")


@dataclass(frozen=True, slots=True)
class GunConfig:
    """One gun: OCPP connector `connector_id` of the cabinet's charge point, driven by PLC `plc_id`."""

    connector_id: int
    plc_id: int
    label: str = ""
    max_current_a: float = 500.0
    max_power_kw: float = 150.0
    max_voltage_v: float = 1000.0
    require_lock: bool = True

    def check(self, key: str) -> None:
        _require(self.connector_id >= 1, f"{key}.connector_id", f"{self.connector_id} is not >= 1")
        _require(0 <= self.plc_id <= PLC_ID_MAX, f"{key}.plc_id", f"{self.plc_id} is not 0-{PLC_ID_MAX}")
        for name in ("max_current_a", "max_power_kw", "max_voltage_v"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value > 0, f"{key}.{name}", f"{value} is not > 0")


@dataclass(frozen=True, slots=True)
class DriverTiming:
    """The PLC driver's rules (seed 003), in seconds unless named otherwise."""

    relay_period_s: float = 0.1  # RelayControl cadence; the PLC's watchdog fires after ~0.3 s
    ack_timeout_s: float = 0.25  # first wait for LAST_CMD_SEQ_APPLIED; doubled on each retry
    ack_attempts: int = 3  # transmissions of a command before the missing ack is a fault
    meter_stale_s: float = 2.0  # meter data older than this is stale
    comm_timeout_s: float = 1.0  # no RelayStatus for this long is a comm loss
    crc_burst: int = 5  # this many CRC failures ...
    crc_window_s: float = 1.0  # ... within this window are a comm fault
    safety_assert_s: float = 0.02  # a safety input must hold this long to raise its fault
    safety_release_s: float = 0.5  # ... and be clear this long to clear it
    contactor_settle_s: float = 0.5  # relay feedback may lag its command this long
    config_timeout_s: float = 0.5  # ConfigCmd -> ConfigAck
    bus_restart_s: float = 1.0  # wait before reopening the bus after bus-off or a bus error
    over_temperature_c: int = 90  # gun connector pin temperature that trips the gun
    temperature_hysteresis_c: int = 5  # the trip clears this far below
    # The heartbeat thread opens a gun's relay itself when the event loop has not fed it for this long
    # (the controller is hung); a stall shorter than this leaves sessions running.
    feed_timeout_s: float = 2.0

    def check(self, key: str) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            _require(
                isinstance(value, int | float) and math.isfinite(value) and value > 0,
                f"{key}.{spec.name}",
                f"{value!r} is not a number > 0",
            )
        _require(self.relay_period_s <= 0.2, f"{key}.relay_period_s", "must be <= 0.2 (PLC watchdog ~0.3 s)")
        _require(
            self.feed_timeout_s >= 3 * self.relay_period_s,
            f"{key}.feed_timeout_s",
            f"must be >= 3 x relay_period_s ({3 * self.relay_period_s:g} s)",
        )
        _require(self.ack_attempts == int(self.ack_attempts), f"{key}.ack_attempts", "must be an integer")
        _require(self.crc_burst == int(self.crc_burst), f"{key}.crc_burst", "must be an integer")


@dataclass(frozen=True, slots=True)
class RingConfig:
    """The power ring as the planner sees it: one slot per gun (in plcId order) with `modules_per_slot`
    modules of `module_rating_kw` each, derated linearly by temperature (full power up to the start,
    none from the trip on), and the least gain worth re-wiring an island for."""

    module_rating_kw: float = 30.0  # one healthy, cool module's output
    modules_per_slot: int = 2  # MOD1/MN1 and MOD2/MN2 in the contract; 1 = MOD1 only
    connector_derating_start_c: float = 70.0  # gun pin temperature where derating starts ...
    connector_trip_c: float = 90.0  # ... and where the gun gets none (timing.over_temperature_c faults it)
    module_derating_start_c: float = 70.0  # module temperature where derating starts ...
    module_trip_c: float = 90.0  # ... and where the module gives nothing
    min_gain_kw: float = 10.0  # an island change (it interrupts the guns it touches) must bring this much

    def check(self, key: str) -> None:
        for name in ("module_rating_kw", "connector_trip_c", "module_trip_c"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value > 0, f"{key}.{name}", f"{value} is not a number > 0")
        _require(
            self.modules_per_slot in (1, 2),
            f"{key}.modules_per_slot",
            f"{self.modules_per_slot} is not 1 or 2 (the contract reports MOD1 and MOD2)",
        )
        for part in ("connector", "module"):
            start, trip = getattr(self, f"{part}_derating_start_c"), getattr(self, f"{part}_trip_c")
            _require(math.isfinite(start), f"{key}.{part}_derating_start_c", f"{start} is not a number")
            _require(
                start < trip, f"{key}.{part}_trip_c", f"{trip} is not above {part}_derating_start_c ({start})"
            )
        _require(
            math.isfinite(self.min_gain_kw) and self.min_gain_kw >= 0,
            f"{key}.min_gain_kw",
            f"{self.min_gain_kw} is not a number >= 0",
        )


@dataclass(frozen=True, slots=True)
class CabinetConfig:
    """The DC cabinet: its own OCPP charge point id, its CAN bus, its guns and the driver rules.

    `simulate_plcs` runs simulated PLCs (`voltyard.sim.plc`), with EVs that come, charge and leave, on the
    cabinet's bus inside the serving process: what `voltyard demo` uses, since python-can's `virtual` bus
    reaches only the process that opened it. Never on a site with real PLCs on that bus.
    """

    guns: tuple[GunConfig, ...]
    charge_point_id: str = "CABINET"
    bus: BusConfig = field(default_factory=BusConfig)
    timing: DriverTiming = field(default_factory=DriverTiming)
    ring: RingConfig = field(default_factory=RingConfig)
    simulate_plcs: bool = False

    def __post_init__(self) -> None:
        _require(
            0 < len(self.charge_point_id) <= CHARGE_POINT_ID_MAX and self.charge_point_id.isprintable(),
            "charge_point_id",
            f"{self.charge_point_id!r} is not 1-{CHARGE_POINT_ID_MAX} printable characters",
        )
        _require(bool(self.guns), "guns", "at least one gun is needed")
        for index, gun in enumerate(self.guns):
            gun.check(f"guns[{index}]")
        for attr in ("plc_id", "connector_id"):
            seen: dict[int, int] = {}
            for index, gun in enumerate(self.guns):
                value = getattr(gun, attr)
                _require(
                    value not in seen,
                    f"guns[{index}].{attr}",
                    f"{value} is already used by guns[{seen.get(value)}]",
                )
                seen[value] = index
        self.timing.check("timing")
        self.ring.check("ring")

    @classmethod
    def accepted_keys(cls) -> frozenset[str]:
        """Every key `from_mapping` accepts: "charge_point_id", "bus.channel", "guns.plc_id" (of each gun)."""
        nested = {"bus": BusConfig, "timing": DriverTiming, "ring": RingConfig, "guns": GunConfig}
        keys = {name for name in _names(cls) if name not in nested}
        keys |= {f"{name}.{key}" for name, part in nested.items() for key in _names(part)}
        return frozenset(keys)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        """A config from plain data (a parsed TOML table); unknown keys and wrong types are errors."""
        top = _known(data, "", _names(cls))
        guns_data = top.get("guns")
        _require(isinstance(guns_data, list), "guns", "must be a list of tables")
        assert isinstance(guns_data, list)
        guns = tuple(
            _build(GunConfig, _known(gun, f"guns[{i}].", _names(GunConfig)), f"guns[{i}].")
            for i, gun in enumerate(guns_data)
        )
        kwargs: dict[str, Any] = {"guns": guns}
        if "bus" in top:
            kwargs["bus"] = _build(BusConfig, _known(top["bus"], "bus.", _names(BusConfig)), "bus.")
        if "timing" in top:
            kwargs["timing"] = _build(
                DriverTiming, _known(top["timing"], "timing.", _names(DriverTiming)), "timing."
            )
        if "ring" in top:
            kwargs["ring"] = _build(RingConfig, _known(top["ring"], "ring.", _names(RingConfig)), "ring.")
        for key in ("charge_point_id", "simulate_plcs"):
            if key in top:
                kwargs[key] = top[key]
        return _build(cls, kwargs, "")


T = TypeVar("T")


def _require(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise CabinetConfigError(key, problem)


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _known(data: object, prefix: str, allowed: set[str]) -> Mapping[str, Any]:
    _require(isinstance(data, Mapping), prefix.rstrip(".") or "cabinet", "must be a table")
    assert isinstance(data, Mapping)
    for key in data:
        _require(key in allowed, f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return data


def _build(cls: type[T], kwargs: Mapping[str, Any], prefix: str) -> T:
    # Types are checked against the defaults' types (ints accepted for floats), so that a TOML
    # string where a number belongs is named here rather than failing later.
    for spec in fields(cls):  # type: ignore[arg-type]
        # A key without a default (a gun's connector_id and plc_id) is named, not a TypeError.
        required = spec.default is MISSING and spec.default_factory is MISSING
        _require(spec.name in kwargs or not required, prefix.rstrip(".") or "cabinet", f"missing {spec.name}")
        if spec.name not in kwargs or spec.name in {"guns", "bus", "timing", "ring"}:
            continue
        value = kwargs[spec.name]
        expected = {"int": int, "float": float, "str": str, "bool": bool}.get(str(spec.type))
        if expected is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = expected is None or isinstance(value, expected)
        # Worded as the other sections' type errors (voltyard.config), so that every line reads alike.
        _require(
            ok, f"{prefix}{spec.name}", f"expected {_EXPECTED.get(str(spec.type), spec.type)}, got {value!r}"
        )
    return cls(**kwargs)


_EXPECTED = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}
