"""What the PLC drivers report, and the Protocol of whoever listens (the OCPP domain, or a test).

Guns are the connectors of the cabinet's own charge point: the events carry the OCPP connector id
and OCPP 1.6 vocabulary (ChargePointStatus, ChargePointErrorCode, Reason values), so that the domain
can store sessions as transactions and statuses as StatusNotifications. The listener is called
synchronously from the event loop and must not block: it schedules its own I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from voltyard.can.frames import IdKind


class ConnectorStatus(StrEnum):
    """OCPP 1.6 ChargePointStatus values that a gun takes (Reserved is the domain's business)."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ErrorCode(StrEnum):
    """OCPP 1.6 ChargePointErrorCode values that gun faults map to."""

    NO_ERROR = "NoError"
    GROUND_FAILURE = "GroundFailure"
    HIGH_TEMPERATURE = "HighTemperature"
    INTERNAL_ERROR = "InternalError"
    OTHER_ERROR = "OtherError"
    POWER_METER_FAILURE = "PowerMeterFailure"
    POWER_SWITCH_FAILURE = "PowerSwitchFailure"


class StopReason(StrEnum):
    """OCPP 1.6 StopTransaction Reason values that gun sessions end with."""

    EMERGENCY_STOP = "EmergencyStop"
    EV_DISCONNECTED = "EVDisconnected"
    LOCAL = "Local"
    OTHER = "Other"
    POWER_LOSS = "PowerLoss"
    REMOTE = "Remote"
    DE_AUTHORIZED = "DeAuthorized"


class FaultKind(StrEnum):
    """Why a gun is Faulted. Each fault opens the gun and stops its session."""

    ESTOP = "estop"
    EARTH_FAULT = "earth_fault"
    ISOLATION_FAULT = "isolation_fault"
    SAFETY_NOT_OK = "safety_not_ok"
    COMM_LOSS = "comm_loss"
    CRC_BURST = "crc_burst"
    BUS_OFF = "bus_off"
    METER_STALE = "meter_stale"
    CONTACTOR_MISMATCH = "contactor_mismatch"
    CONTACTOR_WELD = "contactor_weld"
    OVER_TEMPERATURE = "over_temperature"
    ACK_MISSING = "ack_missing"
    PLC_INTERNAL = "plc_internal"

    @property
    def stop_reason(self) -> StopReason:
        return _STOP_REASONS.get(self, StopReason.OTHER)

    @property
    def is_comm(self) -> bool:
        """A fault of the link to the PLC (the host cannot hear it or be heard), not of the gun itself."""
        return self in _COMM_FAULTS

    @property
    def error_code(self) -> ErrorCode:
        return _ERROR_CODES[self]


_COMM_FAULTS = frozenset({FaultKind.COMM_LOSS, FaultKind.CRC_BURST, FaultKind.BUS_OFF, FaultKind.ACK_MISSING})

# Only an emergency stop is EmergencyStop: every other fault is the gun's own failure ("Other"),
# except a bus that went down, which to the session is a loss of the power path's control.
_STOP_REASONS = {FaultKind.ESTOP: StopReason.EMERGENCY_STOP, FaultKind.BUS_OFF: StopReason.POWER_LOSS}
_ERROR_CODES = {
    FaultKind.ESTOP: ErrorCode.OTHER_ERROR,
    FaultKind.EARTH_FAULT: ErrorCode.GROUND_FAILURE,
    # The insulation monitor's trip is a failure of the DC output's insulation to earth: of OCPP 1.6's
    # codes GroundFailure is the one that says so (an operator's alarm routing knows it without vendor
    # codes); the status' info ("isolation_fault: ...") tells it from the earth-fault input.
    FaultKind.ISOLATION_FAULT: ErrorCode.GROUND_FAILURE,
    FaultKind.SAFETY_NOT_OK: ErrorCode.OTHER_ERROR,
    FaultKind.COMM_LOSS: ErrorCode.INTERNAL_ERROR,
    FaultKind.CRC_BURST: ErrorCode.INTERNAL_ERROR,
    FaultKind.BUS_OFF: ErrorCode.INTERNAL_ERROR,
    FaultKind.METER_STALE: ErrorCode.POWER_METER_FAILURE,
    FaultKind.CONTACTOR_MISMATCH: ErrorCode.POWER_SWITCH_FAILURE,
    FaultKind.CONTACTOR_WELD: ErrorCode.POWER_SWITCH_FAILURE,
    FaultKind.OVER_TEMPERATURE: ErrorCode.HIGH_TEMPERATURE,
    FaultKind.ACK_MISSING: ErrorCode.INTERNAL_ERROR,
    FaultKind.PLC_INTERNAL: ErrorCode.INTERNAL_ERROR,
}


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A gun's connector status changed; `error_code` and `info` explain a Faulted one."""

    connector_id: int
    status: ConnectorStatus
    error_code: ErrorCode
    info: str
    at: float  # loop time (monotonic seconds)


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """Energy began to flow on a gun: a transaction starts, with the meter's register."""

    connector_id: int
    id_tag: str
    meter_start_wh: int
    at: float


@dataclass(frozen=True, slots=True)
class SessionStopped:
    """A gun's session ended (EV, operator, remote or fault): its transaction stops."""

    connector_id: int
    id_tag: str
    meter_stop_wh: int
    reason: StopReason
    at: float


@dataclass(frozen=True, slots=True)
class FaultRaised:
    """A fault was detected; the gun's relays were commanded off in the same call."""

    connector_id: int
    kind: FaultKind
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class FaultCleared:
    connector_id: int
    kind: FaultKind
    at: float


@dataclass(frozen=True, slots=True)
class IdentityReceived:
    """An EV identity (EVCCID, EMAID, EVMAC) assembled from its segments; EVMAC drives AutoCharge."""

    connector_id: int
    kind: IdKind
    value: bytes
    at: float


@dataclass(frozen=True, slots=True)
class MeterSample:
    """The gun's DC meter: the latest instant values and energy register."""

    connector_id: int
    voltage_v: float
    current_a: float
    power_kw: float
    energy_wh: int
    at: float


class CabinetListener(Protocol):
    """Receives what the PLC drivers report. Calls come from the event loop and must not block."""

    def status_changed(self, event: StatusChanged) -> None: ...

    def session_started(self, event: SessionStarted) -> None: ...

    def session_stopped(self, event: SessionStopped) -> None: ...

    def fault_raised(self, event: FaultRaised) -> None: ...

    def fault_cleared(self, event: FaultCleared) -> None: ...

    def identity_received(self, event: IdentityReceived) -> None: ...

    def meter_sample(self, event: MeterSample) -> None: ...
