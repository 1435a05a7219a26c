"""Voltyard's Rust core (voltyard-core) as seen from Python.

Errors are the classes of `voltyard.errors`: a refused frame raises an `OcppError` subclass whose
`code` is the OCPP-J CALLERROR code in the spelling of the codec's version, with `message_id`,
`action` and `message_type` when known; a refused planner snapshot raises `PlannerError`, whose
`field` names the offending field.

The PLC frame classes mirror the messages of configs/plc.dbc: one per layout (EnergyMeterData is
`MeterInstant` for mux 0 and `MeterTotals` for mux 1), attributes named after the signals in lower
case and holding their raw values (the scale is in the name: `voltage_0p1v` is in 0.1 V), plus the
`plc_id`. A refused CAN frame raises a `CanFrameError` subclass.
"""

from collections.abc import Callable, Iterable
from os import PathLike
from typing import Any, ClassVar, Generic, Literal, Protocol, final, overload

from typing_extensions import TypeVar

__all__ = [
    "Call",
    "CallError",
    "CallResult",
    "CallResultError",
    "ChargeInfo",
    "ConfigAck",
    "ConfigCmd",
    "EvIdentity",
    "EvdcLimits",
    "EvdcTargets",
    "GcmcCommand",
    "GcmcStatus",
    "GunPlan",
    "GunTemperature",
    "MessageLogBuffer",
    "MeterInstant",
    "MeterReadingBuffer",
    "MeterTotals",
    "MeterValuesRead",
    "ModuleStatus",
    "OcppCodec",
    "Plan",
    "RelayControl",
    "RelayStatus",
    "SafetySwitchStatus",
    "Send",
    "SlotTargets",
    "Step",
    "TakenBlocks",
    "TakenMeterBlocks",
    "TokenBucket",
    "check_can_crc",
    "clock_skewed",
    "crc8",
    "decode_plc_frame",
    "decompress_block",
    "encode_call",
    "encode_call_error",
    "encode_call_result",
    "encode_call_result_error",
    "encode_send",
    "fill_can_crc",
    "normalise_sampled_values",
    "plan",
    "read_meter_values",
    "unpack_exchanges",
    "unpack_readings",
]

@final
class Call:
    """A CALL: `[2, message_id, action, payload]`."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def meter_values(self) -> MeterValuesRead | None:
        """A MeterValues request read natively (`OcppCodec.decode(..., meter_values=True)`), else None."""

@final
class CallResult:
    """A CALLRESULT: `[3, message_id, payload]`."""

    __match_args__: ClassVar[tuple[str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def payload(self) -> Any: ...

@final
class CallError:
    """A CALLERROR: `[4, message_id, code, description, details]`."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...

@final
class CallResultError:
    """OCPP 2.1: a CALLRESULTERROR, `[5, message_id, code, description, details]`."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...

@final
class Send:
    """OCPP 2.1: a SEND, `[6, message_id, action, payload]`, never answered."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...

# What `OcppCodec.decode` returns: 1.6 and 2.0.1 have message types 2-4 only; 2.1 adds 5 and 6.
# A typing-only parameter (the runtime class is not generic): a 1.6 codec's frames need no case
# for 2.1's.
_Frames_co = TypeVar("_Frames_co", covariant=True, default=Call | CallResult | CallError)

@final
class OcppCodec(Generic[_Frames_co]):
    """The JSON schemas of one OCPP version in a directory, compiled once, and the decoder that
    uses them. `version` is "1.6" (`<Action>.json` files), "2.0.1" or "2.1" (`<Action>Request.json`).

    Raises `SchemaLoadError` when the directory cannot be read or a schema does not compile, and
    `ValueError` for another version.
    """

    @overload
    def __new__(
        cls, schema_dir: str | PathLike[str], version: Literal["1.6", "2.0.1"] = "1.6"
    ) -> OcppCodec[Call | CallResult | CallError]: ...
    @overload
    def __new__(
        cls, schema_dir: str | PathLike[str], version: str
    ) -> OcppCodec[Call | CallResult | CallError | CallResultError | Send]: ...
    @property
    def version(self) -> Literal["1.6", "2.0.1", "2.1"]:
        """The OCPP version of the schemas."""

    @property
    def actions(self) -> list[str]:
        """The actions that have a request and a response schema (and 2.1's SEND-only ones), sorted."""

    def decode(
        self,
        frame: bytes | bytearray | memoryview | str,
        answers: str | None = None,
        *,
        meter_values: bool = False,
    ) -> _Frames_co:
        """Decode one OCPP-J text frame; CALL (and SEND) payloads are validated against their
        action's schema. `CallResultError` and `Send` come only from a 2.1 codec; 1.6 and 2.0.1
        refuse message types 5 and 6.

        A CALLRESULT's payload is validated against the response schema of `answers` (the action
        of the CALL it answers) when given. Raises an `OcppError` subclass on any failure. With
        `meter_values`, a MeterValues CALL comes read (`Call.meter_values`) and its payload's
        Python objects are built only if `payload` is read.
        """

    def validate(self, action: str, payload: object, *, response: bool = False) -> None:
        """Validate a payload (plain Python objects) as the request or response of `action` (the
        payload of a SEND for 2.1's SEND-only actions)."""

@final
class MeterValuesRead:
    """A MeterValues request as read natively; `MeterReadingBuffer.append_read` stores it in one call."""

    @property
    def connector_id(self) -> int: ...
    @property
    def transaction_id(self) -> int | None: ...
    @property
    def readings(self) -> list[tuple[str, bytes, float | None, float | None]]:
        """(timestamp, sampledValue as JSON, energy_wh, power_w) per meterValue: energy and power
        normalised to Wh and W from phase-less samples, None where absent. Built on each read."""

    @property
    def power_w(self) -> float | None:
        """The power of the last meterValue that states one."""

    def __len__(self) -> int: ...

def read_meter_values(payload: object) -> MeterValuesRead:
    """A MeterValues request payload (plain Python objects) read as `decode(..., meter_values=True)` does."""

def clock_skewed(timestamp: str, limit: float) -> bool:
    """Whether a charger timestamp shows a skewed clock: before 2000 or after `limit` (Unix seconds: now
    plus the tolerance). An unreadable timestamp is judged by its year alone."""

def normalise_sampled_values(sampled: object) -> tuple[float | None, float | None]:
    """Energy (Wh) and power (W) of a sampledValue list, converted from their unit; None where absent."""

def encode_call(message_id: str, action: str, payload: object) -> bytes:
    """`[2, message_id, action, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_result(message_id: str, payload: object) -> bytes:
    """`[3, message_id, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_error(
    message_id: str,
    code: str,
    description: str = "",
    details: object | None = None,
    *,
    version: Literal["1.6", "2.0.1", "2.1"] = "1.6",
) -> bytes:
    """`[4, message_id, code, description, details]`; `code` must be a code of `version`."""

def encode_call_result_error(
    message_id: str, code: str, description: str = "", details: object | None = None
) -> bytes:
    """OCPP 2.1: `[5, message_id, code, description, details]`; `code` must be a 2.1 code."""

def encode_send(message_id: str, action: str, payload: object) -> bytes:
    """OCPP 2.1: `[6, message_id, action, payload]`; raises `FrameEncodeError` on bad input."""

@final
class MessageLogBuffer:
    """Message-log exchanges packed per charger until the store's next hand-over
    (`voltyard.store.message_log`)."""

    def __new__(cls) -> MessageLogBuffer: ...
    def append(
        self,
        charger_id: str,
        direction: Literal["in", "out"],
        opened_at: float,
        frame: bytes,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        reply: bytes | None = None,
        reply_type: int | None = None,
    ) -> None:
        """Record one exchange; its reply, when given, is stamped with the current time."""

    def answered(
        self, charger_id: str, opened_at: float, frame: bytes, message_id: str, action: str, reply: bytes
    ) -> float:
        """Record a charger's CALL answered by a CALLRESULT (`reply`, stamped with the current time);
        returns the seconds from `opened_at` to that stamp."""

    def __len__(self) -> int: ...
    def take(self) -> TakenBlocks:
        """Everything buffered, to be compressed by `TakenBlocks.blocks` (in the writer thread)."""

@final
class TakenBlocks:
    def blocks(self) -> list[tuple[str, float, float, int, str, bytes]]:
        """One LZ4 block per charger: (charger_id, first_time, last_time, count, actions, data).
        Compresses without the GIL; a second call returns []."""

@final
class MeterReadingBuffer:
    """Meter readings packed per series (charger, connector, transaction) until the store's next
    hand-over (`voltyard.store.meter_log`)."""

    def __new__(cls) -> MeterReadingBuffer: ...
    def append(
        self,
        charger_id: str,
        connector_id: int,
        transaction_id: int | None,
        timestamp: str,
        sampled_value: bytes,
        energy_wh: float | None,
        power_w: float | None,
        received_at: float,
        clock_skew: bool,
    ) -> None:
        """Record one reading; `sampled_value` is the sampledValue array as JSON."""

    def append_read(
        self, charger_id: str, read: MeterValuesRead, received_at: float, skew_limit: float
    ) -> None:
        """Record every reading of `read`, each flagged as `clock_skewed(timestamp, skew_limit)`."""

    def __len__(self) -> int: ...
    def take(self) -> TakenMeterBlocks:
        """Everything buffered, to be compressed by `TakenMeterBlocks.blocks` (in the writer thread)."""

@final
class TakenMeterBlocks:
    def blocks(
        self,
    ) -> list[tuple[str, int, int | None, str, str, int, float | None, float | None, bytes]]:
        """One LZ4 block per series: (charger_id, connector_id, transaction_id, first_timestamp,
        last_timestamp, count, last energy_wh, last power_w, data). Compresses without the GIL."""

def decompress_block(block: bytes) -> bytes:
    """The packed records of a stored LZ4 block; raises `LogBlockError` when it is damaged."""

def unpack_exchanges(
    records: bytes,
) -> list[tuple[bool, float, int | None, str, str, bytes, int | None, bytes | None, float | None]]:
    """The exchanges of a message-log block's records, oldest first: (outgoing, opened, message_type,
    message_id, action, frame, reply_type, reply, reply_time), "" for an id or action there was none of,
    None for the reply's three without a reply. Raises `LogBlockError` for records cut short."""

def unpack_readings(
    records: bytes,
) -> list[tuple[float, float | None, float | None, bool, str, str]]:
    """The readings of a meter block's records, oldest first: (received_at, energy_wh, power_w,
    clock_skew, timestamp, sampled_value JSON). Raises `LogBlockError` for records cut short."""

def crc8(data: bytes) -> int:
    """CRC-8 (poly 0x07, init 0x00, no reflection, xorout 0x00) of `data`."""

def fill_can_crc(payload: bytes) -> bytes:
    """The 8-byte CAN payload with byte 7 set to the CRC-8 of bytes 0-6."""

def check_can_crc(payload: bytes) -> bool:
    """Whether byte 7 of an 8-byte CAN payload is the CRC-8 of bytes 0-6."""

# The planner reads its snapshot by attribute; `voltyard.power.snapshot.PlannerSnapshot` and the
# states of `voltyard.power.cabinet` have this shape. The protocols exist only in this stub.

class _Module(Protocol):
    @property
    def healthy(self) -> bool: ...
    @property
    def tripped(self) -> bool: ...
    @property
    def temperature_c(self) -> float: ...
    @property
    def mn_closed(self) -> bool: ...

class _Slot(Protocol):
    @property
    def home_gun(self) -> int | None: ...
    @property
    def modules(self) -> Iterable[_Module]: ...
    @property
    def gc_closed(self) -> bool: ...
    @property
    def mc_closed(self) -> bool: ...
    @property
    def cw_closed(self) -> bool: ...
    @property
    def ccw_closed(self) -> bool: ...

class _Gun(Protocol):
    @property
    def session(self) -> str: ...
    @property
    def target_voltage_v(self) -> float: ...
    @property
    def target_current_a(self) -> float: ...
    @property
    def max_power_kw(self) -> float: ...
    @property
    def max_voltage_v(self) -> float: ...
    @property
    def max_current_a(self) -> float: ...
    @property
    def safety_ok(self) -> bool: ...
    @property
    def comm_ok(self) -> bool: ...
    @property
    def connector_temperature_c(self) -> float: ...

class _Derating(Protocol):
    @property
    def start_c(self) -> float: ...
    @property
    def trip_c(self) -> float: ...

class _Settings(Protocol):
    @property
    def module_rating_kw(self) -> float: ...
    @property
    def connector_derating(self) -> _Derating: ...
    @property
    def module_derating(self) -> _Derating: ...
    @property
    def min_gain_kw(self) -> float: ...

class _Snapshot(Protocol):
    @property
    def slots(self) -> Iterable[_Slot]: ...
    @property
    def guns(self) -> Iterable[_Gun]: ...
    @property
    def cabinet_share_kw(self) -> float: ...
    @property
    def settings(self) -> _Settings: ...

@final
class GunPlan:
    """One gun's part of a plan."""

    @property
    def demand_kw(self) -> float:
        """What the gun asks for: the EV's targets capped by the gun's limits; 0 without a session."""

    @property
    def budget_kw(self) -> float: ...
    @property
    def island(self) -> tuple[int, ...]:
        """The slots that feed the gun, clockwise from the island's start; empty when unfed."""

    @property
    def modules_on(self) -> tuple[tuple[int, int], ...]:
        """(slot, module index) of the fewest modules of the island that cover the budget."""

    @property
    def limit(self) -> Literal["demand", "modules", "thermal", "grid", "safety"]:
        """What keeps the budget from being higher."""

@final
class SlotTargets:
    """One slot's contactor targets (True = closed); `mn` has one entry per module."""

    @property
    def gc(self) -> bool: ...
    @property
    def mc(self) -> bool: ...
    @property
    def cw(self) -> bool: ...
    @property
    def ccw(self) -> bool: ...
    @property
    def mn(self) -> tuple[bool, ...]: ...

@final
class Step:
    """One step of the switching sequence; finish it (power at zero, feedback matching) first.

    Ramp steps fill `guns` and `modules` (slot, index); open and close steps fill `contactors`
    as (slot, kind, module index or None).
    """

    @property
    def kind(self) -> Literal["ramp_down", "open", "close", "ramp_up"]: ...
    @property
    def guns(self) -> tuple[int, ...]: ...
    @property
    def modules(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def contactors(self) -> tuple[tuple[int, Literal["gc", "mc", "cw", "ccw", "mn"], int | None], ...]: ...

@final
class Plan:
    """One tick's plan. Its fields are built as Python values on each read."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @property
    def guns(self) -> tuple[GunPlan, ...]:
        """One per gun of the snapshot, in its order."""

    @property
    def slots(self) -> tuple[SlotTargets, ...]:
        """Contactor targets, one per slot of the snapshot, in its order."""

    @property
    def sequence(self) -> tuple[Step, ...]:
        """From the snapshot's contactor feedback to `slots`: ramp down, open, close, ramp up
        (non-empty steps only, in that order); empty when the feedback already matches."""

    def __eq__(self, value: object, /) -> bool: ...

def plan(snapshot: _Snapshot, previous: Plan | None = None) -> Plan:
    """Plans one 100 ms tick: each gun's budget, island and modules, the contactor targets and
    the switching sequence. Pure: the same snapshot and previous plan give the same plan.

    `previous` is the plan of the tick before, for hysteresis; None at start-up or after the
    ring changed. Raises `PlannerError` naming the field of a snapshot it refuses.
    """

@final
class RelayControl:
    """Host->PLC, every 100 ms: the gun's relay command; the PLC opens everything after ~300 ms
    without it. `cmd_seq` changes with each change of command."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def rly1_cmd(self) -> bool: ...
    @property
    def sys_enable(self) -> bool: ...
    @property
    def force_all_off(self) -> bool: ...
    @property
    def clear_faults(self) -> bool: ...
    @property
    def auth_grant(self) -> bool: ...
    @property
    def rly_mode(self) -> int: ...
    @property
    def cmd_seq(self) -> int: ...
    @property
    def rly_enable_mask(self) -> int: ...
    @property
    def pulse_ms(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        rly1_cmd: bool = ...,
        sys_enable: bool = ...,
        force_all_off: bool = ...,
        clear_faults: bool = ...,
        auth_grant: bool = ...,
        rly_mode: int = ...,
        cmd_seq: int = ...,
        rly_enable_mask: int = ...,
        pulse_ms: int = ...,
    ) -> RelayControl: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class ConfigCmd:
    """Host->PLC: get or set a runtime parameter; answered by `ConfigAck`."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def cfg_param_id(self) -> int: ...
    @property
    def cfg_op(self) -> int: ...
    @property
    def cfg_value(self) -> int: ...
    def __new__(
        cls, plc_id: int, *, cfg_param_id: int = ..., cfg_op: int = ..., cfg_value: int = ...
    ) -> ConfigCmd: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class GcmcCommand:
    """Host->PLC: the slot's contactor command (gun, slot, modules, bridges) and power budget."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def gc_cmd(self) -> bool: ...
    @property
    def mc_cmd(self) -> bool: ...
    @property
    def mn1_cmd(self) -> bool: ...
    @property
    def mn2_cmd(self) -> bool: ...
    @property
    def cw_cmd(self) -> bool: ...
    @property
    def ccw_cmd(self) -> bool: ...
    @property
    def gcmc_force_off(self) -> bool: ...
    @property
    def gcmc_clear_faults(self) -> bool: ...
    @property
    def gcmc_seq(self) -> int: ...
    @property
    def gcmc_mask(self) -> int: ...
    @property
    def pwr_limit_0p1kw(self) -> int: ...
    @property
    def cur_limit_0p1a(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        gc_cmd: bool = ...,
        mc_cmd: bool = ...,
        mn1_cmd: bool = ...,
        mn2_cmd: bool = ...,
        cw_cmd: bool = ...,
        ccw_cmd: bool = ...,
        gcmc_force_off: bool = ...,
        gcmc_clear_faults: bool = ...,
        gcmc_seq: int = ...,
        gcmc_mask: int = ...,
        pwr_limit_0p1kw: int = ...,
        cur_limit_0p1a: int = ...,
    ) -> GcmcCommand: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class GcmcStatus:
    """PLC->host: contactor commands as applied, feedback and weld detection."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def gc_cmd(self) -> bool: ...
    @property
    def mc_cmd(self) -> bool: ...
    @property
    def mn1_cmd(self) -> bool: ...
    @property
    def mn2_cmd(self) -> bool: ...
    @property
    def cw_cmd(self) -> bool: ...
    @property
    def ccw_cmd(self) -> bool: ...
    @property
    def gc_fb(self) -> bool: ...
    @property
    def mc_fb(self) -> bool: ...
    @property
    def mn1_fb(self) -> bool: ...
    @property
    def mn2_fb(self) -> bool: ...
    @property
    def cw_fb(self) -> bool: ...
    @property
    def ccw_fb(self) -> bool: ...
    @property
    def gc_weld(self) -> bool: ...
    @property
    def mc_weld(self) -> bool: ...
    @property
    def gcmc_fault_reason(self) -> int: ...
    @property
    def gcmc_comm_ok(self) -> bool: ...
    @property
    def gcmc_safety_ok(self) -> bool: ...
    @property
    def gcmc_forced_off(self) -> bool: ...
    @property
    def last_gcmc_seq_applied(self) -> int: ...
    @property
    def last_gcmc_seq_rx(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        gc_cmd: bool = ...,
        mc_cmd: bool = ...,
        mn1_cmd: bool = ...,
        mn2_cmd: bool = ...,
        cw_cmd: bool = ...,
        ccw_cmd: bool = ...,
        gc_fb: bool = ...,
        mc_fb: bool = ...,
        mn1_fb: bool = ...,
        mn2_fb: bool = ...,
        cw_fb: bool = ...,
        ccw_fb: bool = ...,
        gc_weld: bool = ...,
        mc_weld: bool = ...,
        gcmc_fault_reason: int = ...,
        gcmc_comm_ok: bool = ...,
        gcmc_safety_ok: bool = ...,
        gcmc_forced_off: bool = ...,
        last_gcmc_seq_applied: int = ...,
        last_gcmc_seq_rx: int = ...,
    ) -> GcmcStatus: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class RelayStatus:
    """PLC->host: relay and safety state, and the last `cmd_seq` applied."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def rly1_state(self) -> bool: ...
    @property
    def rly1_fb(self) -> bool: ...
    @property
    def sw1(self) -> bool: ...
    @property
    def sw2(self) -> bool: ...
    @property
    def sw3(self) -> bool: ...
    @property
    def sw4(self) -> bool: ...
    @property
    def safety_ok(self) -> bool: ...
    @property
    def earth_fault(self) -> bool: ...
    @property
    def estop_input(self) -> bool: ...
    @property
    def comm_fault(self) -> bool: ...
    @property
    def sys_enabled(self) -> bool: ...
    @property
    def relay_timeout(self) -> bool: ...
    @property
    def remote_force_off(self) -> bool: ...
    @property
    def fault_reason(self) -> int: ...
    @property
    def last_cmd_seq_applied(self) -> int: ...
    @property
    def rx_crc_fail_count(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        rly1_state: bool = ...,
        rly1_fb: bool = ...,
        sw1: bool = ...,
        sw2: bool = ...,
        sw3: bool = ...,
        sw4: bool = ...,
        safety_ok: bool = ...,
        earth_fault: bool = ...,
        estop_input: bool = ...,
        comm_fault: bool = ...,
        sys_enabled: bool = ...,
        relay_timeout: bool = ...,
        remote_force_off: bool = ...,
        fault_reason: int = ...,
        last_cmd_seq_applied: int = ...,
        rx_crc_fail_count: int = ...,
    ) -> RelayStatus: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class MeterInstant:
    """PLC->host: `EnergyMeterData`, mux 0: voltage, current and power."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def meter_ok(self) -> bool: ...
    @property
    def comm_error(self) -> bool: ...
    @property
    def data_stale(self) -> bool: ...
    @property
    def overrange(self) -> bool: ...
    @property
    def fallback_active(self) -> bool: ...
    @property
    def current_0p01a(self) -> int: ...
    @property
    def voltage_0p1v(self) -> int: ...
    @property
    def active_power_0p01kw(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        meter_ok: bool = ...,
        comm_error: bool = ...,
        data_stale: bool = ...,
        overrange: bool = ...,
        fallback_active: bool = ...,
        current_0p01a: int = ...,
        voltage_0p1v: int = ...,
        active_power_0p01kw: int = ...,
    ) -> MeterInstant: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class MeterTotals:
    """PLC->host: `EnergyMeterData`, mux 1: imported energy and frequency."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def meter_ok(self) -> bool: ...
    @property
    def comm_error(self) -> bool: ...
    @property
    def data_stale(self) -> bool: ...
    @property
    def overrange(self) -> bool: ...
    @property
    def fallback_active(self) -> bool: ...
    @property
    def import_energy_0p1kwh(self) -> int: ...
    @property
    def freq_0p01hz(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        meter_ok: bool = ...,
        comm_error: bool = ...,
        data_stale: bool = ...,
        overrange: bool = ...,
        fallback_active: bool = ...,
        import_energy_0p1kwh: int = ...,
        freq_0p01hz: int = ...,
    ) -> MeterTotals: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class GunTemperature:
    """PLC->host: gun connector pin temperatures."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def gun_temp_dcp_c(self) -> int: ...
    @property
    def gun_temp_dcn_c(self) -> int: ...
    @property
    def gun_otp(self) -> bool: ...
    @property
    def gun_temp_sensor_fault(self) -> bool: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        gun_temp_dcp_c: int = ...,
        gun_temp_dcn_c: int = ...,
        gun_otp: bool = ...,
        gun_temp_sensor_fault: bool = ...,
    ) -> GunTemperature: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class SafetySwitchStatus:
    """PLC->host: debounced switch inputs and the safety chain."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def sw1_deb(self) -> bool: ...
    @property
    def sw2_deb(self) -> bool: ...
    @property
    def sw3_deb(self) -> bool: ...
    @property
    def sw4_deb(self) -> bool: ...
    @property
    def estop(self) -> bool: ...
    @property
    def safety_ok(self) -> bool: ...
    @property
    def earth_fault(self) -> bool: ...
    @property
    def sw_mask(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        sw1_deb: bool = ...,
        sw2_deb: bool = ...,
        sw3_deb: bool = ...,
        sw4_deb: bool = ...,
        estop: bool = ...,
        safety_ok: bool = ...,
        earth_fault: bool = ...,
        sw_mask: int = ...,
    ) -> SafetySwitchStatus: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class ConfigAck:
    """PLC->host: the answer to a `ConfigCmd`."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def cfg_param_id(self) -> int: ...
    @property
    def cfg_status(self) -> int: ...
    @property
    def cfg_op(self) -> int: ...
    @property
    def cfg_value(self) -> int: ...
    @property
    def ack_plc_id(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        cfg_param_id: int = ...,
        cfg_status: int = ...,
        cfg_op: int = ...,
        cfg_value: int = ...,
        ack_plc_id: int = ...,
    ) -> ConfigAck: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class EvdcTargets:
    """PLC->host: the EV's DC targets (`CurrentDemandReq`) and state of charge."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def ev_target_voltage_0p1v(self) -> int: ...
    @property
    def ev_target_current_0p1a(self) -> int: ...
    @property
    def ev_soc_pct(self) -> int: ...
    @property
    def ev_ready(self) -> bool: ...
    @property
    def ev_charging_complete(self) -> bool: ...
    @property
    def ev_bulk_complete(self) -> bool: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        ev_target_voltage_0p1v: int = ...,
        ev_target_current_0p1a: int = ...,
        ev_soc_pct: int = ...,
        ev_ready: bool = ...,
        ev_charging_complete: bool = ...,
        ev_bulk_complete: bool = ...,
    ) -> EvdcTargets: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class EvdcLimits:
    """PLC->host: the EV's maximum voltage, current and power."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def ev_max_voltage_0p1v(self) -> int: ...
    @property
    def ev_max_current_0p1a(self) -> int: ...
    @property
    def ev_max_power_0p1kw(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        ev_max_voltage_0p1v: int = ...,
        ev_max_current_0p1a: int = ...,
        ev_max_power_0p1kw: int = ...,
    ) -> EvdcLimits: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class ChargeInfo:
    """PLC->host: control pilot state and levels, HLC stage flags, authorisation and lock."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def cp_state(self) -> int: ...
    @property
    def auth_granted(self) -> bool: ...
    @property
    def auth_pending(self) -> bool: ...
    @property
    def lock_engaged(self) -> bool: ...
    @property
    def hlc_active(self) -> bool: ...
    @property
    def hlc_slac_matched(self) -> bool: ...
    @property
    def hlc_session_setup(self) -> bool: ...
    @property
    def hlc_authorization(self) -> bool: ...
    @property
    def hlc_param_discovery(self) -> bool: ...
    @property
    def hlc_cable_check(self) -> bool: ...
    @property
    def hlc_precharge(self) -> bool: ...
    @property
    def hlc_power_delivery(self) -> bool: ...
    @property
    def hlc_current_demand(self) -> bool: ...
    @property
    def hlc_session_stop(self) -> bool: ...
    @property
    def hlc_welding_detection(self) -> bool: ...
    @property
    def cp_high_0p1v(self) -> int: ...
    @property
    def cp_low_0p1v(self) -> int: ...
    @property
    def cp_duty_pct(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        cp_state: int = ...,
        auth_granted: bool = ...,
        auth_pending: bool = ...,
        lock_engaged: bool = ...,
        hlc_active: bool = ...,
        hlc_slac_matched: bool = ...,
        hlc_session_setup: bool = ...,
        hlc_authorization: bool = ...,
        hlc_param_discovery: bool = ...,
        hlc_cable_check: bool = ...,
        hlc_precharge: bool = ...,
        hlc_power_delivery: bool = ...,
        hlc_current_demand: bool = ...,
        hlc_session_stop: bool = ...,
        hlc_welding_detection: bool = ...,
        cp_high_0p1v: int = ...,
        cp_low_0p1v: int = ...,
        cp_duty_pct: int = ...,
    ) -> ChargeInfo: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class EvIdentity:
    """PLC->host: one 5-byte segment of an EV identity (EVCCID, EMAID0, EMAID1, EVMAC)."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def id_kind(self) -> int: ...
    @property
    def id_seg_index(self) -> int: ...
    @property
    def id_seg_count(self) -> int: ...
    @property
    def id_seg_len(self) -> int: ...
    @property
    def id_byte0(self) -> int: ...
    @property
    def id_byte1(self) -> int: ...
    @property
    def id_byte2(self) -> int: ...
    @property
    def id_byte3(self) -> int: ...
    @property
    def id_byte4(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        id_kind: int = ...,
        id_seg_index: int = ...,
        id_seg_count: int = ...,
        id_seg_len: int = ...,
        id_byte0: int = ...,
        id_byte1: int = ...,
        id_byte2: int = ...,
        id_byte3: int = ...,
        id_byte4: int = ...,
    ) -> EvIdentity: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

@final
class ModuleStatus:
    """PLC->host: health and temperature of the slot's two power modules."""

    BASE_ID: ClassVar[int]
    MUX: ClassVar[int | None]
    @property
    def plc_id(self) -> int: ...
    @property
    def mod1_health(self) -> int: ...
    @property
    def mod1_otp(self) -> bool: ...
    @property
    def mod2_health(self) -> int: ...
    @property
    def mod2_otp(self) -> bool: ...
    @property
    def mod1_temp_c(self) -> int: ...
    @property
    def mod2_temp_c(self) -> int: ...
    def __new__(
        cls,
        plc_id: int,
        *,
        mod1_health: int = ...,
        mod1_otp: bool = ...,
        mod2_health: int = ...,
        mod2_otp: bool = ...,
        mod1_temp_c: int = ...,
        mod2_temp_c: int = ...,
    ) -> ModuleStatus: ...
    def encode(self) -> tuple[int, bytes]:
        """`(arbitration_id, data)`: the 8-byte payload with the CRC in byte 7."""

def decode_plc_frame(
    arbitration_id: int, data: bytes | bytearray
) -> (
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
):
    """The frame that `data`, received with `arbitration_id`, carries.

    Checks, in order, that the ID is the contract's, that the payload is 8 bytes, its CRC and the
    multiplexer; raises `CanUnknownIdError`, `CanPayloadError`, `CanCrcError` or `CanMuxError`.
    """

@final
class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up (voltyard-core's `rate::TokenBucket`).

    `clock()` gives seconds (default: a monotonic clock read natively); a clock that steps back earns
    nothing. Raises ValueError unless the rate is finite and above 0 and the burst at least 1.
    """

    def __new__(cls, rate: float, burst: float, clock: Callable[[], float] | None = None) -> TokenBucket: ...
    @property
    def rate(self) -> float: ...
    @property
    def burst(self) -> float: ...
    def take(self) -> bool:
        """Spend one token if there is one."""

    def wait_time(self) -> float:
        """Seconds until the next token."""
