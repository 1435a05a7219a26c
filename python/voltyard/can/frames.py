"""The PLC frames as Python sees them: the frame classes of `voltyard._native` (one per message
layout of configs/plc.dbc), the value tables of the DBC as IntEnums, and the `decode` entry point.

The classes are built in Rust from the same table as the codec, so decoding a frame costs one call
and no Python object besides the frame itself; attributes hold raw signal values, their scale in
their names (`voltage_0p1v` is in 0.1 V).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, TypeAlias

from voltyard._native import (
    ChargeInfo,
    ConfigAck,
    ConfigCmd,
    EvdcLimits,
    EvdcTargets,
    EvIdentity,
    GcmcCommand,
    GcmcStatus,
    GunTemperature,
    MeterInstant,
    MeterTotals,
    ModuleStatus,
    RelayControl,
    RelayStatus,
    SafetySwitchStatus,
)
from voltyard._native import decode_plc_frame as decode

__all__ = [
    "FRAME_TYPES",
    "HOST_TO_PLC_BASE",
    "PLC_TO_HOST_BASE",
    "ChargeInfo",
    "ConfigAck",
    "ConfigCmd",
    "ConfigOp",
    "ConfigParam",
    "ConfigStatus",
    "CpState",
    "EvIdentity",
    "EvdcLimits",
    "EvdcTargets",
    "FaultReason",
    "GcmcCommand",
    "GcmcStatus",
    "GunTemperature",
    "IdKind",
    "MeterInstant",
    "MeterTotals",
    "ModuleHealth",
    "ModuleStatus",
    "PlcFrame",
    "RelayControl",
    "RelayMode",
    "RelayStatus",
    "SafetySwitchStatus",
    "decode",
]

PlcFrame: TypeAlias = (
    RelayControl
    | ConfigCmd
    | GcmcCommand
    | GcmcStatus
    | RelayStatus
    | MeterInstant
    | MeterTotals
    | GunTemperature
    | SafetySwitchStatus
    | ConfigAck
    | EvdcTargets
    | EvdcLimits
    | ChargeInfo
    | EvIdentity
    | ModuleStatus
)

FRAME_TYPES: Final = (
    RelayControl,
    ConfigCmd,
    GcmcCommand,
    GcmcStatus,
    RelayStatus,
    MeterInstant,
    MeterTotals,
    GunTemperature,
    SafetySwitchStatus,
    ConfigAck,
    EvdcTargets,
    EvdcLimits,
    ChargeInfo,
    EvIdentity,
    ModuleStatus,
)

# ID layout (docs/can.md): base | type nibble << 4 | plcId; every other bit zero.
HOST_TO_PLC_BASE: Final = 0x300
PLC_TO_HOST_BASE: Final = 0x100


class FaultReason(IntEnum):
    """RelayStatus.FAULT_REASON and GCMC_Status.GCMC_FAULT_REASON."""

    NONE = 0
    RELAY_CMD_TIMEOUT = 1
    BUS_OFF = 2
    CRC_FAIL = 3
    ESTOP = 4
    EARTH_FAULT = 5
    SAFETY_CHAIN = 6
    CONTACTOR_MISMATCH = 7
    CONTACTOR_WELD = 8
    OVER_TEMPERATURE = 9
    METER_FAULT = 10
    REMOTE_FORCE_OFF = 11
    INTERNAL = 12
    ISOLATION_FAULT = 13  # the insulation monitor (IMD) tripped: the DC output's insulation to earth failed


class RelayMode(IntEnum):
    """RelayControl.RLY_MODE."""

    STEADY = 0
    PULSE = 1


class ConfigParam(IntEnum):
    """ConfigCmd/ConfigAck.CFG_PARAM_ID."""

    NONE = 0
    RELAY_TIMEOUT_MS = 1
    DEBOUNCE_MS = 2
    STATUS_PERIOD_MS = 3
    METER_PERIOD_MS = 4
    MAX_CURRENT_0p1A = 5
    MAX_VOLTAGE_0p1V = 6
    LOCK_REQUIRED = 7
    FW_VERSION = 8


class ConfigOp(IntEnum):
    """ConfigCmd/ConfigAck.CFG_OP."""

    GET = 0
    SET = 1


class ConfigStatus(IntEnum):
    """ConfigAck.CFG_STATUS."""

    OK = 0
    UNKNOWN_PARAM = 1
    BAD_VALUE = 2
    READ_ONLY = 3
    BAD_OP = 4
    BUSY = 5


class CpState(IntEnum):
    """ChargeInfo.CP_STATE: IEC 61851 control pilot states."""

    A = 0  # no EV
    B = 1  # EV connected, not ready
    C = 2  # EV ready, charging
    D = 3  # charging with ventilation
    E = 4  # error (CP short)
    F = 5  # EVSE not available


class IdKind(IntEnum):
    """EVIdentity.ID_KIND."""

    EVCCID = 0
    EMAID0 = 1
    EMAID1 = 2
    EVMAC = 3


class ModuleHealth(IntEnum):
    """ModuleStatus.MOD1_HEALTH / MOD2_HEALTH."""

    OK = 0
    DEGRADED = 1
    FAULT = 2
    OFFLINE = 3
