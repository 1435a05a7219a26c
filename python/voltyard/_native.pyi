"""Voltyard's Rust core (voltyard-core) as seen from Python.

Errors are the classes of `voltyard.errors`: a refused frame raises an `OcppError` subclass whose
`code` is the OCPP-J CALLERROR code, with `message_id`, `action` and `message_type` when known; a
refused planner snapshot raises `PlannerError`, whose `field` names the offending field.
"""

from collections.abc import Iterable
from os import PathLike
from typing import Any, ClassVar, Literal, Protocol, final

__all__ = [
    "Call",
    "CallError",
    "CallResult",
    "GunPlan",
    "OcppCodec",
    "Plan",
    "SlotTargets",
    "Step",
    "check_can_crc",
    "crc8",
    "encode_call",
    "encode_call_error",
    "encode_call_result",
    "fill_can_crc",
    "plan",
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
class OcppCodec:
    """The OCPP 1.6 JSON schemas of a directory, compiled once, and the decoder that uses them.

    Raises `SchemaLoadError` when the directory cannot be read or a schema does not compile.
    """

    def __new__(cls, schema_dir: str | PathLike[str]) -> OcppCodec: ...
    @property
    def actions(self) -> list[str]:
        """The actions that have a request and a response schema, sorted."""

    def decode(
        self, frame: bytes | bytearray | memoryview | str, answers: str | None = None
    ) -> Call | CallResult | CallError:
        """Decode one OCPP-J text frame; CALL payloads are validated against their action's schema.

        A CALLRESULT's payload is validated against the response schema of `answers` (the action
        of the CALL it answers) when given. Raises an `OcppError` subclass on any failure.
        """

    def validate(self, action: str, payload: object, *, response: bool = False) -> None:
        """Validate a payload (plain Python objects) as the request or response of `action`."""

def encode_call(message_id: str, action: str, payload: object) -> bytes:
    """`[2, message_id, action, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_result(message_id: str, payload: object) -> bytes:
    """`[3, message_id, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_error(
    message_id: str, code: str, description: str = "", details: object | None = None
) -> bytes:
    """`[4, message_id, code, description, details]`; `code` must be an OCPP 1.6 code."""

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
