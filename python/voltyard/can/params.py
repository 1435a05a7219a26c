"""The PLC's runtime parameters (ConfigCmd/ConfigAck, configs/plc.dbc) as OCPP configuration keys.

Each gun's PLC has the same parameters; the cabinet's charge point names them per gun as
`Gun<connectorId>.<Name>` (docs/can.md, "The cabinet's charge point"). The ranges are the host's and
the PLC's alike (the simulated PLC answers BAD_VALUE outside them): they keep a changed parameter
within what the driver's own timing (`DriverTiming`) still tells apart from a fault, e.g. a status
period the 1 s comm timeout still covers, or a relay watchdog short enough to open within the seed's
~300 ms order of magnitude.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from voltyard.can.frames import ConfigParam

__all__ = ["BY_PARAM", "PARAMETERS", "BadValueError", "PlcParameter", "parameter_for_key"]


class BadValueError(ValueError):
    """An OCPP value that is not a valid setting of the parameter (its message says why)."""


@dataclass(frozen=True, slots=True)
class PlcParameter:
    """One PLC parameter: its OCPP name, DBC id, raw range and how a raw value reads in OCPP."""

    name: str
    param: ConfigParam
    minimum: int
    maximum: int
    scale: int = 1  # raw units per OCPP unit (MAX_CURRENT_0p1A: 10 per ampere)
    read_only: bool = False
    boolean: bool = False
    version: bool = False  # FW_VERSION: 0xMMmmpp read as "M.m.p"

    def in_range(self, raw: int) -> bool:
        return self.minimum <= raw <= self.maximum

    def to_ocpp(self, raw: int) -> str:
        if self.boolean:
            return "true" if raw else "false"
        if self.version:
            return f"{(raw >> 16) & 0xFF}.{(raw >> 8) & 0xFF}.{raw & 0xFF}"
        if self.scale == 1:
            return str(raw)
        return str(Decimal(raw) / self.scale)

    def from_ocpp(self, value: str) -> int:
        """The raw value of an OCPP value; `BadValueError` when it is malformed or out of range."""
        text = value.strip()
        if self.boolean:
            if text.lower() not in ("true", "false"):
                raise BadValueError(f"{self.name}: {value!r} is not true or false")
            return int(text.lower() == "true")
        try:
            number = Decimal(text) * self.scale
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise BadValueError(f"{self.name}: {value!r} is not a number")
        if number != number.to_integral_value():
            raise BadValueError(f"{self.name}: {value!r} has more decimals than {1 / Decimal(self.scale)}")
        raw = int(number)
        if not self.in_range(raw):
            raise BadValueError(
                f"{self.name}: {value} is outside {self.to_ocpp(self.minimum)}-{self.to_ocpp(self.maximum)}"
            )
        return raw


PARAMETERS: tuple[PlcParameter, ...] = (
    # The PLC opens the relay when RelayControl (every 100 ms) is missing this long: at least two
    # periods, and never so long that a hung host leaves power on for more than half a second.
    PlcParameter("RelayTimeoutMs", ConfigParam.RELAY_TIMEOUT_MS, 200, 500),
    PlcParameter("DebounceMs", ConfigParam.DEBOUNCE_MS, 5, 100),
    # RelayStatus cadence: the driver's 1 s comm timeout must cover two of them.
    PlcParameter("StatusPeriodMs", ConfigParam.STATUS_PERIOD_MS, 50, 500),
    # Meter cadence: the driver's 2 s staleness must cover two of them.
    PlcParameter("MeterPeriodMs", ConfigParam.METER_PERIOD_MS, 100, 1000),
    PlcParameter("MaxCurrentA", ConfigParam.MAX_CURRENT_0p1A, 0, 5000, scale=10),
    PlcParameter("MaxVoltageV", ConfigParam.MAX_VOLTAGE_0p1V, 0, 10000, scale=10),
    PlcParameter("LockRequired", ConfigParam.LOCK_REQUIRED, 0, 1, boolean=True),
    PlcParameter("FirmwareVersion", ConfigParam.FW_VERSION, 0, 0xFFFFFF, read_only=True, version=True),
)
BY_PARAM = {p.param: p for p in PARAMETERS}
_BY_NAME = {p.name.lower(): p for p in PARAMETERS}
_KEY = re.compile(r"Gun(\d{1,3})\.(\w+)", re.IGNORECASE)


def parameter_for_key(key: str) -> tuple[int, PlcParameter] | None:
    """(connector id, parameter) of an OCPP key `Gun<connectorId>.<Name>` (case-insensitive, as
    OCPP keys are), or None when it names no PLC parameter."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        return None
    parameter = _BY_NAME.get(match.group(2).lower())
    return None if parameter is None else (int(match.group(1)), parameter)
