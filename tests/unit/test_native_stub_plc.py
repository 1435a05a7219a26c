"""The PLC part of `voltyard/_native.pyi` against configs/plc.dbc, read by cantools.

stubtest holds the stub to the extension's runtime names; this holds what the stub says of the PLC frames
to the contract: one class per layout of the DBC (message, or message and mux), each declaring exactly
the layout's signals (lower case) as properties and as `__new__` keywords, typed `bool` for a 1-bit
signal and `int` otherwise, a docstring that names the right direction (Host->PLC or PLC->host), and
`decode_plc_frame` returning every one of them. A mismatch names the class, the DBC message and the
signal.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import cantools.database
import pytest
from voltyard.can.frames import FRAME_TYPES, PlcFrame

ROOT = Path(__file__).resolve().parents[2]
DB = cantools.database.load_file(ROOT / "configs" / "plc.dbc")
STUB = ast.parse((ROOT / "python" / "voltyard" / "_native.pyi").read_text(encoding="utf-8"))
NOT_FIELDS = {"CRC8", "METER_MUX"}
CLASSES = {node.name: node for node in STUB.body if isinstance(node, ast.ClassDef)}


def _is_frame_class(node: ast.ClassDef) -> bool:
    """A PLC frame class of the stub: it declares the frame's `BASE_ID`."""
    return any(
        isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.target.id == "BASE_ID"
        for item in node.body
    )


def _layout(cls: type[PlcFrame]) -> tuple[Any, dict[str, str]]:
    """The DBC message of `cls` and its layout's signals: lower-case field name -> stub type."""
    message = DB.get_message_by_frame_id(cls.BASE_ID, force_extended_id=True)
    signals = {
        s.name.lower(): "bool" if s.length == 1 else "int"
        for s in message.signals
        if s.name not in NOT_FIELDS
        and (s.multiplexer_ids is None or (cls.MUX is not None and cls.MUX in s.multiplexer_ids))
    }
    return message, signals


def _dbc_name(message: Any, field: str) -> str:
    """The DBC's own spelling of the signal behind `field` (PWR_LIMIT_0p1kW)."""
    return next((s.name for s in message.signals if s.name.lower() == field), field.upper())


def _properties(node: ast.ClassDef) -> dict[str, str]:
    return {
        item.name: ast.unparse(item.returns) if item.returns else "?"
        for item in node.body
        if isinstance(item, ast.FunctionDef)
        and any(ast.unparse(d) == "property" for d in item.decorator_list)
    }


def _new_keywords(node: ast.ClassDef) -> dict[str, str]:
    new = next(item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__new__")
    return {arg.arg: ast.unparse(arg.annotation) if arg.annotation else "?" for arg in new.args.kwonlyargs}


def test_the_stub_declares_one_class_per_dbc_layout() -> None:
    stubbed = {name for name, node in CLASSES.items() if _is_frame_class(node)}
    runtime = {cls.__name__ for cls in FRAME_TYPES}
    assert stubbed == runtime, (
        f"PLC frame classes only in the stub: {sorted(stubbed - runtime)}; "
        f"DBC layouts (voltyard.can.frames.FRAME_TYPES) without a stub class: {sorted(runtime - stubbed)}"
    )


@pytest.mark.parametrize("cls", FRAME_TYPES, ids=lambda c: c.__name__)
def test_stub_fields_are_the_dbc_signals(cls: type[PlcFrame]) -> None:
    message, signals = _layout(cls)
    node = CLASSES[cls.__name__]
    where = f"_native.pyi {cls.__name__} (DBC {message.name}, mux {cls.MUX})"
    expected = {"plc_id": "int", **signals}
    properties = _properties(node)
    for name in sorted(expected.keys() | properties.keys()):
        assert name in properties, f"{where}: DBC signal {_dbc_name(message, name)} has no property {name}"
        assert name in expected, f"{where}: property {name} is no signal of the DBC message"
        assert properties[name] == expected[name], (
            f"{where}: {name} is {properties[name]}, not {expected[name]}"
        )
    keywords = _new_keywords(node)
    for name in sorted(signals.keys() | keywords.keys()):
        assert name in keywords, f"{where}: DBC signal {_dbc_name(message, name)} is no keyword of __new__"
        assert name in signals, f"{where}: __new__ keyword {name} is no signal of the DBC message"
        assert keywords[name] == signals[name], (
            f"{where}: __new__ {name} is {keywords[name]}, not {signals[name]}"
        )


@pytest.mark.parametrize("cls", FRAME_TYPES, ids=lambda c: c.__name__)
def test_stub_docstring_names_the_dbc_direction(cls: type[PlcFrame]) -> None:
    message, _ = _layout(cls)
    doc = ast.get_docstring(CLASSES[cls.__name__]) or ""
    direction = {"HOST": "Host->PLC", "PLC": "PLC->host"}[message.senders[0]]
    assert doc.startswith(direction), (
        f"_native.pyi {cls.__name__}: DBC {message.name} is sent {direction}: {doc!r}"
    )


def test_decode_plc_frame_returns_every_stubbed_frame_class() -> None:
    decode = next(
        node for node in STUB.body if isinstance(node, ast.FunctionDef) and node.name == "decode_plc_frame"
    )
    assert decode.returns is not None
    returned = set(ast.unparse(decode.returns).replace("(", "").replace(")", "").replace(" ", "").split("|"))
    assert returned == {cls.__name__ for cls in FRAME_TYPES}, (
        f"decode_plc_frame's return type: {sorted(returned)}"
    )
