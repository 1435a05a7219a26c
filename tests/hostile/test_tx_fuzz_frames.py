"""Random schema-valid frames with extreme values never stop storage (issue 17, done-when 2).

Payloads for every charger-initiated action are generated from the OCPP 1.6 JSON schemas the codec loads
(hypothesis; extreme values for every integer, number and string field: 0, -1, 2^31 - 1, 2^53, 2^63 - 1,
2^64 - 1, ..., empty strings, strings at their maxLength, non-ASCII text, times at the edges of the
calendar and with offsets) and sent over a real websocket to a real `voltyard serve`. Every frame must be
answered; afterwards the store's writer is alive (/health ok, a new StartTransaction is committed and
answered) and every StartTransaction that was answered with a transactionId is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voltyard.ocpp.actions import CHARGER_ACTIONS
from voltyard.ocpp.codec import ocpp16_schema_dir
from websockets.sync.client import ClientConnection, connect

from tests.journeys.appliance import RunningAppliance

EXTREME_INTEGERS = [
    0,
    -1,
    1,
    2**31 - 1,
    -(2**31),
    2**32,
    2**53,
    -(2**53),
    2**63 - 1,
    -(2**63),
    2**63,
    2**64 - 1,
]
EXTREME_NUMBERS = [0.0, -1.0, 0.5, 1e-300, 1e308, -1e308, 2.0**63, 2.0**64]
EXTREME_TIMES = [
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "1999-12-31T23:59:59.999Z",
    "2026-11-25T10:00:00Z",
    "2026-11-25T10:00:00.123456789+05:00",
    "2026-11-25T10:00:00-12:00",
    "2026-12-31T23:59:60Z",
    "2039-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]
UNBOUNDED_STRING = 600  # the size drawn for a string without maxLength (DataTransfer's data)
TEXT = st.characters(exclude_categories=("Cs",))  # anything JSON carries: no lone surrogates


@cache
def schema(action: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ocpp16_schema_dir() / f"{action}.json").read_text())
    return loaded


def strings(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("format") == "date-time":
        return st.sampled_from(EXTREME_TIMES)
    most = node.get("maxLength", UNBOUNDED_STRING)
    return st.one_of(
        st.just(""),
        st.just("x" * most),
        st.just("é" * most),  # the limit in characters, twice as many bytes
        st.text(TEXT, max_size=most),
    )


def values(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy of values valid against the schema `node` (the subset of JSON Schema OCPP 1.6 uses)."""
    if "$ref" in node:
        return values(root["definitions"][node["$ref"].rsplit("/", 1)[1]], root)
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        required = {key: values(properties[key], root) for key in node.get("required", [])}
        optional = {key: values(sub, root) for key, sub in properties.items() if key not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "array":
        return st.lists(values(node["items"], root), min_size=node.get("minItems", 0), max_size=3)
    if kind == "integer":
        return st.one_of(st.sampled_from(EXTREME_INTEGERS), st.integers(-(2**63), 2**64 - 1))
    if kind == "number":
        return st.one_of(st.sampled_from(EXTREME_NUMBERS), st.floats(allow_nan=False, allow_infinity=False))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return strings(node)
    raise AssertionError(f"schema construct not covered: {node}")


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    action = draw(st.sampled_from(sorted(CHARGER_ACTIONS)))
    root = schema(action)
    payload: dict[str, Any] = draw(values(root, root))
    return action, payload


class Charger:
    """One charger's websocket, connected (and booted) at its first call; a frame the server closes the
    connection on instead of answering fails the test. The server's own calls are refused (NotSupported)."""

    def __init__(self, server: RunningAppliance, charger_id: str) -> None:
        self.url = f"{server.ocpp_url}/{charger_id}"
        self.ws: ClientConnection | None = None
        self.count = 0
        self._stack = ExitStack()

    def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        if self.ws is None:
            self.ws = self._stack.enter_context(
                connect(self.url, subprotocols=["ocpp1.6"], open_timeout=30)  # type: ignore[list-item]
            )
            boot = self._send("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
            assert boot[2]["status"] == "Accepted", boot
        return self._send(action, payload)

    def _send(self, action: str, payload: dict[str, Any]) -> list[Any]:
        assert self.ws is not None
        self.count += 1
        message_id = f"m{self.count}"
        self.ws.send(json.dumps([2, message_id, action, payload], ensure_ascii=False))
        while True:
            answer: list[Any] = json.loads(self.ws.recv(timeout=30))  # a frame never answered is a failure
            if answer[0] != 2:
                break
            # A call of the central system's own (an automatic response: a Faulted status brings a
            # ChangeAvailability): answered as a charger that has none of them would, then read on.
            self.ws.send(json.dumps([4, answer[1], "NotSupported", "not in this test charger", {}]))
        assert answer[1] == message_id, answer
        return answer

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAppliance]:
    running = RunningAppliance(tmp_path_factory.mktemp("fuzz") / "site")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fuzzed(server: RunningAppliance) -> Iterator[tuple[Charger, list[int]]]:
    charger = Charger(server, "CP-FUZZ")
    try:
        yield charger, []
    finally:
        charger.close()


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(frame=frames())
def test_every_frame_is_answered(
    fuzzed: tuple[Charger, list[int]], frame: tuple[str, dict[str, Any]]
) -> None:
    charger, started = fuzzed
    action, payload = frame
    answer = charger.call(action, payload)
    assert answer[0] in {3, 4}, answer
    if answer[0] == 4:
        # Refused as the spec says, never as an internal failure.
        assert answer[2] != "InternalError", (action, payload, answer)
    elif action == "StartTransaction":
        started.append(answer[2]["transactionId"])


def test_the_writer_is_alive_and_every_answered_start_is_stored(
    server: RunningAppliance, fuzzed: tuple[Charger, list[int]]
) -> None:
    charger, started = fuzzed
    begin = {"connectorId": 1, "idTag": "AFTER", "meterStart": 1, "timestamp": "2026-11-25T11:00:00Z"}
    answer = charger.call("StartTransaction", begin)  # answered only once committed
    assert answer[0] == 3, answer
    started.append(answer[2]["transactionId"])
    health = server.api("GET", "/health", role="readonly").json
    assert health["status"] == "ok", health
    assert health["store"]["writer"] == "running", health
    print(f"{charger.count} frames, {len(started)} starts answered with an id")
    for transaction_id in started:
        stored = server.api("GET", f"/transactions/{transaction_id}", role="readonly")
        assert stored.status == 200, f"transaction {transaction_id} was answered but not stored: {stored}"
