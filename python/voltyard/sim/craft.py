"""The charger-side crafter: one charger that sends one hand-made frame and shows the CSMS's answer.

`voltyard sim craft` connects as a charger of the chosen OCPP version, boots (unless told not to), then
sends either a CALL of any action of its version, checked against the version's request schema, or a
raw text frame that is sent exactly as written (a wrong type, a missing field, broken JSON, a wrong
envelope, an unknown message type). It prints the answer and the round trip, and says by its exit code
what came back: 0 a CALLRESULT, 1 a CALLERROR, 3 no answer (timed out, or the CSMS closed the socket),
2 bad input or no connection.

Payload templates come from the schemas (`payload_template`: every required field, with a value of its
type) and can be saved under a name and recalled with `--template NAME`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from voltyard._native import encode_call
from voltyard.errors import OcppError, VoltyardError
from voltyard.ocpp.codec import OCPP_VERSIONS, load_codec, schema_dir
from voltyard.ocpp.timefmt import utc_now
from voltyard.sim.frames import FrameEntry, FrameLog, format_entry

__all__ = [
    "EXIT_CALLERROR",
    "EXIT_NO_ANSWER",
    "EXIT_OK",
    "CraftError",
    "CraftRequest",
    "craft",
    "default_template_dir",
    "payload_template",
    "recall_template",
    "save_template",
    "schema_example",
]

EXIT_OK = 0
EXIT_CALLERROR = 1
EXIT_BAD_INPUT = 2
EXIT_NO_ANSWER = 3


class CraftError(VoltyardError):
    """Bad input to the crafter (an unknown action, a payload its schema refuses...) or no connection."""


@dataclass(frozen=True, slots=True)
class CraftRequest:
    url: str
    charger_id: str
    version: str = "1.6"
    boot: bool = True
    action: str | None = None
    payload: Any = None
    raw: str | None = None
    timeout: float = 10.0
    frames_path: Path | None = None


# --- payload templates from the schemas ----------------------------------------------------------


def _schema_file(version: str, action: str) -> Path:
    folder = schema_dir(version)
    if version == "1.6":
        return folder / f"{action}.json"
    request = folder / f"{action}Request.json"
    # 2.1's SEND-only actions (NotifyPeriodicEventStream) have one schema, without the suffix.
    return request if request.is_file() else folder / f"{action}.json"


def actions(version: str) -> list[str]:
    return load_codec(version).actions


def payload_template(version: str, action: str) -> dict[str, Any]:
    """A payload of `action` with every required field filled with a value of its type (enums: the first
    value, date-times: now), which the version's schema accepts."""
    if action not in actions(version):
        raise CraftError(f"OCPP {version} has no action {action!r} (see --list-actions)")
    schema = json.loads(_schema_file(version, action).read_text(encoding="utf-8"))
    value = _example(schema, schema.get("definitions", {}))
    return dict(value) if isinstance(value, dict) else {}


def _example(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> object:  # noqa: PLR0911 - one return per JSON type
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _example(definitions[ref.rsplit("/", 1)[-1]], definitions)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: _example(properties[name], definitions)
            for name in schema.get("required", [])
            if name in properties
        }
    if kind == "array":
        return [_example(schema.get("items", {}), definitions) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(0, int(schema.get("minimum", 0)))
    if kind == "number":
        return float(max(0, schema.get("minimum", 0)))
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return utc_now()
    if schema.get("format") == "uri":
        return "https://example.com/"
    return "x" * int(schema.get("minLength", 0))


def schema_example(schema: Mapping[str, Any]) -> object:
    """A value of `schema` (a whole JSON schema document) with every required field filled."""
    return _example(schema, schema.get("definitions", {}))


def default_template_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voltyard" / "craft"


def _template_path(name: str, directory: Path) -> Path:
    if "/" in name or name.endswith(".json"):
        return Path(name)
    return directory / f"{name}.json"


def save_template(name: str, version: str, action: str, payload: object, directory: Path) -> Path:
    path = _template_path(name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": version, "action": action, "payload": payload}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def recall_template(name: str, version: str, directory: Path) -> tuple[str, Any]:
    """(action, payload) of a saved template, else the schema template of the action `name`."""
    path = _template_path(name, directory)
    if path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CraftError(f"{path}: not a saved template (not JSON: {exc})") from exc
        if not isinstance(document, dict) or not isinstance(document.get("action"), str):
            raise CraftError(f'{path}: not a saved template (needs "action" and "payload")')
        if document.get("version", version) != version:
            raise CraftError(f"{path}: a template of OCPP {document['version']}, not {version} (--version)")
        return document["action"], document.get("payload", {})
    if name in actions(version):
        return name, payload_template(version, name)
    raise CraftError(
        f"--template {name}: no saved template {str(path)!r} and no OCPP {version} action {name!r}"
    )


# --- the frame to send ---------------------------------------------------------------------------


def outgoing(request: CraftRequest, message_id: str) -> tuple[bytes, str | None]:
    """The frame to send and the message id its answer will carry (None when the frame has none)."""
    if request.raw is not None:
        return request.raw.encode("utf-8"), _raw_id(request.raw)
    assert request.action is not None
    return encode_call(message_id, request.action, request.payload), message_id


def check_payload(version: str, action: str, payload: object) -> None:
    """Refuse a payload its request schema refuses, naming what is wrong."""
    if action not in actions(version):
        raise CraftError(f"OCPP {version} has no action {action!r} (see --list-actions)")
    try:
        load_codec(version).validate(action, payload)
    except OcppError as exc:
        raise CraftError(f"{action} payload refused by the OCPP {version} schema: {exc}") from exc


def _raw_id(raw: str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, list) and len(message) > 1 and isinstance(message[1], str):
        return message[1]
    return None


# --- the connection ------------------------------------------------------------------------------


class _Listener(WSListener):
    def __init__(self, inbox: asyncio.Queue[str | None]) -> None:
        self.inbox = inbox
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.inbox.put_nowait(None)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
            self.inbox.put_nowait(frame.get_payload_as_bytes().decode("utf-8", "replace"))
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


@dataclass(frozen=True, slots=True)
class Answer:
    kind: str  # CALLRESULT, CALLERROR, CALLRESULTERROR, closed, timeout
    frame: str | None
    rtt_ms: float | None


class _Session:
    def __init__(self, request: CraftRequest, out: TextIO) -> None:
        self.request = request
        self.out = out
        self.frames = FrameLog()
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.listener: _Listener | None = None
        self.ids = 0

    async def connect(self) -> None:
        request = self.request
        url = f"{request.url.rstrip('/')}/{quote(request.charger_id, safe='')}"
        try:
            _, listener = await ws_connect(
                lambda: _Listener(self.inbox),
                url,
                websocket_handshake_timeout=request.timeout,
                extra_headers={"Sec-WebSocket-Protocol": f"ocpp{request.version}"},
                max_redirects=0,
                logger_name="voltyard.sim.craft",
            )
        except (OSError, TimeoutError) as exc:
            raise CraftError(f"cannot connect to {url}: {exc}") from exc
        except Exception as exc:  # picows' WSError (a refused handshake) is not an OSError
            raise CraftError(f"cannot connect to {url}: {exc}") from exc
        assert isinstance(listener, _Listener)
        self.listener = listener

    def next_id(self) -> str:
        self.ids += 1
        return f"craft-{self.ids}"

    def send(self, data: bytes) -> None:
        assert self.listener is not None
        assert self.listener.transport is not None
        self.listener.transport.send(WSMsgType.TEXT, data)
        self.show(self.frames.sent(self.request.charger_id, data))

    def show(self, entry: FrameEntry) -> None:
        print(format_entry(entry), file=self.out, flush=True)

    async def answer_to(self, message_id: str | None, sent_at: float) -> Answer:
        """The answer carrying `message_id` (any answer when None); the CSMS's own calls are logged and
        refused with NotImplemented, as a charger that does not support them would."""
        deadline = sent_at + self.request.timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return Answer("timeout", None, None)
            try:
                text = await asyncio.wait_for(self.inbox.get(), remaining)
            except TimeoutError:
                return Answer("timeout", None, None)
            if text is None:
                return Answer("closed", None, None)
            rtt_ms = (time.perf_counter() - sent_at) * 1000.0
            entry = self.frames.received(self.request.charger_id, text)
            self.show(entry)
            if entry.type == "CALL" and entry.message_id is not None:
                refusal = json.dumps(
                    [4, entry.message_id, "NotImplemented", "not handled by the crafter", {}]
                )
                self.send(refusal.encode())
                continue
            if entry.type in ("CALLRESULT", "CALLERROR", "CALLRESULTERROR") and (
                message_id is None or entry.message_id in (message_id, "-1")
            ):
                return Answer(entry.type, text, rtt_ms)

    async def call(self, data: bytes, message_id: str | None) -> Answer:
        sent_at = time.perf_counter()
        self.send(data)
        return await self.answer_to(message_id, sent_at)

    def close(self) -> None:
        if self.listener is not None and self.listener.transport is not None:
            self.listener.transport.send_close()
            self.listener.transport.disconnect()


def boot_payload(version: str, charger_id: str) -> dict[str, Any]:
    if version == "1.6":
        return {
            "chargePointVendor": "Voltyard",
            "chargePointModel": "SimCrafter",
            "chargePointSerialNumber": charger_id[-25:],
        }
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "vendorName": "Voltyard",
            "model": "SimCrafter",
            "serialNumber": charger_id[-25:],
        },
    }


async def craft(request: CraftRequest, out: TextIO, err: TextIO) -> int:
    """Connect, boot (unless told not), send the crafted frame, print the answer; the exit code."""
    if request.version not in OCPP_VERSIONS:
        raise CraftError(f"--version {request.version!r}: one of {', '.join(OCPP_VERSIONS)}")
    session = _Session(request, out)
    await session.connect()
    try:
        if request.boot:
            boot_id = session.next_id()
            answer = await session.call(
                encode_call(boot_id, "BootNotification", boot_payload(request.version, request.charger_id)),
                boot_id,
            )
            if answer.kind != "CALLRESULT":
                print(f"voltyard sim craft: BootNotification got no result ({answer.kind})", file=err)
                return _exit(answer)
        data, message_id = outgoing(request, session.next_id())
        answer = await session.call(data, message_id)
        print(_verdict(answer, request.timeout), file=out)
        return _exit(answer)
    finally:
        session.close()
        if request.frames_path is not None:
            session.frames.export(request.frames_path)


def _verdict(answer: Answer, timeout: float) -> str:
    if answer.kind == "timeout":
        return f"no answer within {timeout:g} s"
    if answer.kind == "closed":
        return "no answer: the CSMS closed the connection"
    assert answer.frame is not None
    assert answer.rtt_ms is not None
    if answer.kind == "CALLRESULT":
        return f"CALLRESULT in {answer.rtt_ms:.1f} ms"
    try:
        message = json.loads(answer.frame)
        code = message[2]
    except (ValueError, IndexError, TypeError):
        code = "?"
    return f"{answer.kind} {code} in {answer.rtt_ms:.1f} ms"


def _exit(answer: Answer) -> int:
    if answer.kind == "CALLRESULT":
        return EXIT_OK
    if answer.kind in ("CALLERROR", "CALLRESULTERROR"):
        return EXIT_CALLERROR
    return EXIT_NO_ANSWER
