"""The PLC frame codec of voltyard._native against cantools reading configs/plc.dbc.

Every layout, random values for every signal: encoded by the native codec and decoded by cantools,
and encoded by cantools (CRC filled) and decoded by the native codec, must agree on every signal.
The DBC's shape (signals, scales in the names, value tables) must match the Rust table.
"""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path
from typing import Any

import cantools
import cantools.database
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voltyard._native import crc8, fill_can_crc
from voltyard.can import frames
from voltyard.can.frames import FRAME_TYPES, PlcFrame, decode
from voltyard.errors import (
    CanCrcError,
    CanFrameError,
    CanMuxError,
    CanPayloadError,
    CanSignalRangeError,
    CanUnknownIdError,
)

DBC = Path(__file__).resolve().parents[2] / "configs" / "plc.dbc"
DB = cantools.database.load_file(DBC)
NOT_FIELDS = {"CRC8", "METER_MUX"}


def dbc_message(cls: type[PlcFrame]) -> Any:
    return DB.get_message_by_frame_id(cls.BASE_ID, force_extended_id=True)


def layout_signals(cls: type[PlcFrame]) -> list[Any]:
    """The DBC signals of this layout (mux-selected ones of its mux), without CRC and mux."""
    message = dbc_message(cls)
    return [
        s
        for s in message.signals
        if s.name not in NOT_FIELDS
        and (s.multiplexer_ids is None or (cls.MUX is not None and cls.MUX in s.multiplexer_ids))
    ]


def raw_values(cls: type[PlcFrame]) -> st.SearchStrategy[dict[str, int]]:
    def value(signal: Any) -> st.SearchStrategy[int]:
        if signal.is_signed:
            half = 1 << (signal.length - 1)
            return st.integers(-half, half - 1)
        return st.integers(0, (1 << signal.length) - 1)

    return st.fixed_dictionaries({s.name: value(s) for s in layout_signals(cls)})


def native_frame(cls: type[PlcFrame], plc_id: int, raw: dict[str, int]) -> PlcFrame:
    kwargs: dict[str, Any] = {}
    for signal in layout_signals(cls):
        v = raw[signal.name]
        kwargs[signal.name.lower()] = bool(v) if signal.length == 1 else v
    return cls(plc_id, **kwargs)


def test_there_is_one_class_per_layout_of_the_dbc() -> None:
    layouts = set()
    for message in DB.messages:
        assert message.is_extended_frame, message.name
        assert message.length == 8, message.name
        assert message.get_signal_by_name("CRC8").start == 56, message.name
        assert message.frame_id & 0xF == 0, f"{message.name}: the DBC holds the IDs of plcId 0"
        muxes = {m for s in message.signals for m in (s.multiplexer_ids or [])}
        layouts |= {(message.frame_id, m) for m in muxes} or {(message.frame_id, None)}
    assert {(cls.BASE_ID, cls.MUX) for cls in FRAME_TYPES} == layouts


@pytest.mark.parametrize("cls", FRAME_TYPES, ids=lambda c: c.__name__)
def test_fields_are_the_dbc_signals(cls: type[PlcFrame]) -> None:
    fields = {name for name in dir(cls) if not name.startswith("_") and name.islower()} - {"encode"}
    assert fields == {"plc_id"} | {s.name.lower() for s in layout_signals(cls)}


@pytest.mark.parametrize("cls", FRAME_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=200, deadline=None)
@given(data=st.data(), plc_id=st.integers(0, 15))
def test_native_encode_cantools_decode(cls: type[PlcFrame], data: st.DataObject, plc_id: int) -> None:
    raw = data.draw(raw_values(cls))
    arbitration_id, payload = native_frame(cls, plc_id, raw).encode()
    assert arbitration_id == cls.BASE_ID | plc_id
    message = DB.get_message_by_frame_id(arbitration_id & ~0xF, force_extended_id=True)
    decoded = message.decode(payload, decode_choices=False, scaling=False)
    assert decoded["CRC8"] == crc8(payload[:7])
    if cls.MUX is not None:
        assert decoded["METER_MUX"] == cls.MUX
    assert {k: v for k, v in decoded.items() if k not in NOT_FIELDS} == raw


@pytest.mark.parametrize("cls", FRAME_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=200, deadline=None)
@given(data=st.data(), plc_id=st.integers(0, 15))
def test_cantools_encode_native_decode(cls: type[PlcFrame], data: st.DataObject, plc_id: int) -> None:
    raw = data.draw(raw_values(cls))
    signals: dict[str, int] = {**raw, "CRC8": 0}
    if cls.MUX is not None:
        signals["METER_MUX"] = cls.MUX
    payload = fill_can_crc(dbc_message(cls).encode(signals, scaling=False, strict=True))
    frame = decode(cls.BASE_ID | plc_id, payload)
    assert type(frame) is cls
    assert frame.plc_id == plc_id
    assert frame == native_frame(cls, plc_id, raw)
    for name, value in raw.items():
        assert getattr(frame, name.lower()) == value, name


# `_0p1V` is 0.1 V; `_0p01kWh` 0.01 kWh; `_PCT` %, `_C` degC, `_MS` ms.
SCALED = re.compile(r"_0p(\d+)([A-Za-z]+)$")


@pytest.mark.parametrize("message", DB.messages, ids=lambda m: m.name)
def test_scales_and_units_are_the_ones_the_names_say(message: Any) -> None:
    for signal in message.signals:
        if match := SCALED.search(signal.name):
            assert signal.scale == pytest.approx(float(f"0.{match[1]}")), signal.name
            assert signal.unit == match[2], signal.name
        else:
            assert (signal.scale, signal.offset) == (1, 0), signal.name
            unit = {"_PCT": "%", "_C": "degC", "_MS": "ms"}
            expected = next((u for s, u in unit.items() if signal.name.endswith(s)), None)
            assert signal.unit == expected, signal.name


VALUE_TABLES: list[tuple[str, str, type[IntEnum]]] = [
    ("RelayControl", "RLY_MODE", frames.RelayMode),
    ("ConfigCmd", "CFG_PARAM_ID", frames.ConfigParam),
    ("ConfigCmd", "CFG_OP", frames.ConfigOp),
    ("ConfigAck", "CFG_PARAM_ID", frames.ConfigParam),
    ("ConfigAck", "CFG_OP", frames.ConfigOp),
    ("ConfigAck", "CFG_STATUS", frames.ConfigStatus),
    ("RelayStatus", "FAULT_REASON", frames.FaultReason),
    ("GCMC_Status", "GCMC_FAULT_REASON", frames.FaultReason),
    ("ChargeInfo", "CP_STATE", frames.CpState),
    ("EVIdentity", "ID_KIND", frames.IdKind),
    ("ModuleStatus", "MOD1_HEALTH", frames.ModuleHealth),
    ("ModuleStatus", "MOD2_HEALTH", frames.ModuleHealth),
]


@pytest.mark.parametrize(("message", "signal", "enum"), VALUE_TABLES, ids=lambda v: getattr(v, "__name__", v))
def test_enums_mirror_the_value_tables(message: str, signal: str, enum: type[IntEnum]) -> None:
    choices = DB.get_message_by_name(message).get_signal_by_name(signal).choices
    assert {int(k): str(v) for k, v in choices.items()} == {e.value: e.name for e in enum}


def test_every_value_table_has_its_enum() -> None:
    tables = {(m.name, s.name) for m in DB.messages for s in m.signals if s.choices}
    assert tables - {("EVDC_Targets", "EV_SOC_PCT")} == {(m, s) for m, s, _ in VALUE_TABLES}


def test_bad_frames_raise_errors_naming_the_id() -> None:
    arbitration_id, payload = frames.RelayStatus(4, safety_ok=True).encode()
    corrupted = bytes([payload[0] ^ 1]) + payload[1:]
    with pytest.raises(CanCrcError, match=r"CAN id 0x164: bad CRC") as crc_error:
        decode(arbitration_id, corrupted)
    assert crc_error.value.arbitration_id == 0x164
    with pytest.raises(CanPayloadError, match=r"0x164: payload of 7 bytes"):
        decode(arbitration_id, payload[:7])
    with pytest.raises(CanUnknownIdError, match=r"0x104: not a message"):
        decode(0x104, payload)
    muxed = fill_can_crc(bytes([3, 0, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(CanMuxError, match=r"0x172: multiplexer value 3"):
        decode(0x172, muxed)
    for error in (CanCrcError, CanPayloadError, CanUnknownIdError, CanMuxError):
        assert issubclass(error, CanFrameError)
        assert issubclass(error, ValueError)


def test_values_that_do_not_fit_raise_naming_the_signal() -> None:
    with pytest.raises(CanSignalRangeError, match=r"ChargeInfo.cp_state: 16 is out of range \[0, 15\]"):
        frames.ChargeInfo(0, cp_state=16).encode()
    with pytest.raises(CanSignalRangeError, match=r"MeterInstant.current_0p01a: 70000"):
        frames.MeterInstant(0, current_0p01a=70000).encode()
    with pytest.raises(CanSignalRangeError, match="plcId 16"):
        frames.RelayControl(16).encode()
    with pytest.raises(OverflowError):
        frames.RelayControl(0, cmd_seq=256)


def test_frames_are_values() -> None:
    a = frames.RelayControl(1, rly1_cmd=True, cmd_seq=7)
    assert a == frames.RelayControl(1, rly1_cmd=True, cmd_seq=7)
    assert a != frames.RelayControl(2, rly1_cmd=True, cmd_seq=7)
    assert len({a, frames.RelayControl(1, rly1_cmd=True, cmd_seq=7)}) == 1
    assert repr(a).startswith("RelayControl(plc_id=1, rly1_cmd=True, sys_enable=False")
    assert decode(*a.encode()) == a
