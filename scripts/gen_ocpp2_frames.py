"""Write the OCPP 2.0.1 and 2.1 golden frames of tests/fixtures/frames/v201 and v21.

- `valid/<schema file>`: one frame per schema of the installed `ocpp` package: a CALL for each
  `<Action>Request.json`, a CALLRESULT for each `<Action>Response.json`, a SEND (2.1, type 6)
  for each SEND-only `<Action>.json`. Each payload is the schema's minimal instance: every required
  property, arrays of their least length (one item when the schema allows none), the first value
  of an enum, numbers and lengths within their bounds. Every payload is checked by `jsonschema`
  (draft 6, as the schemas say) and, for CALL and CALLRESULT, by the `ocpp` library's own
  validation, before it is written.
- `invalid.json`: the table of refused frames of that version (INVALID below), each with the
  CALLERROR code in the 2.x spelling and the message id the decoder must find; the same table
  format as tests/fixtures/frames/invalid.json (1.6), read by the Rust golden tests and pytest.

Run it once after the `ocpp` package's schemas change; the output is committed:
`python scripts/gen_ocpp2_frames.py` (needs the `ocpp` and `jsonschema` packages).
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from ocpp import messages

ROOT = Path(__file__).resolve().parent.parent
FRAMES = ROOT / "tests" / "fixtures" / "frames"
VERSIONS = {"2.0.1": "v201", "2.1": "v21"}
TIMESTAMP = "2026-12-07T05:40:00Z"
NAMESPACE = uuid.UUID("5b0c9c0e-4a1e-4f7e-9d3c-0c7e1d2a2b10")

Schema = dict[str, Any]


def schema_dir(folder: str) -> Path:
    return Path(str(resources.files("ocpp") / folder / "schemas"))


def minimal(schema: Schema, root: Schema, hint: str) -> object:  # noqa: PLR0911 (a return per JSON type)
    """The least instance of `schema` that holds every required property."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/definitions/")
        return minimal(root["definitions"][name], root, hint)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: minimal(properties[key], root, key) for key in schema.get("required", [])}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        count = min(count, schema.get("maxItems", count))
        return [minimal(schema["items"], root, hint) for _ in range(count)]
    if kind == "string":
        if schema.get("format") == "date-time":
            return TIMESTAMP
        text = hint[: schema.get("maxLength", len(hint))]
        return text.ljust(schema.get("minLength", 0), "x")
    if kind in ("integer", "number"):
        value = 1
        value = max(value, schema.get("minimum", value))
        return min(value, schema.get("maximum", value))
    if kind == "boolean":
        return False
    raise ValueError(f"{hint}: no minimal instance for {schema}")


def frame_for(stem: str, schema: Schema, version: str) -> list[object]:
    payload = minimal(schema, schema, stem)
    Draft6Validator(schema).validate(payload)
    message_id = str(uuid.uuid5(NAMESPACE, f"{version}/{stem}"))
    if stem.endswith("Request"):
        action = stem.removesuffix("Request")
        messages._validate_payload(messages.Call(message_id, action, payload), version)
        return [2, message_id, action, payload]
    if stem.endswith("Response"):
        action = stem.removesuffix("Response")
        messages._validate_payload(messages.CallResult(message_id, payload, action), version)
        return [3, message_id, payload]
    return [6, message_id, stem, payload]  # SEND-only (2.1): never answered


def write_valid(version: str, folder: str) -> int:
    out = FRAMES / folder / "valid"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    paths = sorted(schema_dir(folder).glob("*.json"))
    for path in paths:
        schema = json.loads(path.read_text(encoding="utf-8"))
        frame = frame_for(path.stem, schema, version)
        (out / path.name).write_text(json.dumps(frame, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(paths)


def row(name: str, frame: str, code: str, message_id: str | None, **extra: object) -> dict[str, object]:
    return {"name": name, "frame": frame, "code": code, "message_id": message_id, **extra}


BOOT = '{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}'
TX_UPDATED = (
    '{"eventType":"Updated","timestamp":"2026-12-07T05:40:00Z","triggerReason":"MeterValuePeriodic",'
    '"seqNo":3,"transactionInfo":{"transactionId":"tx-1"}'
)


def invalid_rows(version: str) -> list[dict[str, object]]:
    """Frames that every 2.x decoder must refuse: envelope, JSON, then payload rules."""
    rows = [
        # Not JSON: FormatViolation; the id still read from a frame cut short.
        row("empty frame", "", "FormatViolation", None),
        row("not JSON at all", "hello station", "FormatViolation", None),
        row(
            "truncated CALL, id still readable",
            '[2,"m-1","Heartbeat",{',
            "FormatViolation",
            "m-1",
            message_type=2,
        ),
        row("NaN literal", '[2,"m-2","Heartbeat",{"x":NaN}]', "FormatViolation", "m-2", message_type=2),
        row(
            "duplicate key",
            f'[2,"m-3","BootNotification",{BOOT[:-1]},"reason":"Watchdog"}}]',
            "FormatViolation",
            "m-3",
        ),
        row("trailing content", '[2,"m-4","Heartbeat",{}] []', "FormatViolation", "m-4", message_type=2),
        row("single quotes", "[2,'m-5','Heartbeat',{}]", "FormatViolation", None),
        row(
            "number beyond f64 range",
            '[2,"m-6","Heartbeat",{"x":1e400}]',
            "FormatViolation",
            "m-6",
            message_type=2,
        ),
        # Not an RPC frame: RpcFrameworkError.
        row("JSON object, not an array", '{"messageTypeId":2}', "RpcFrameworkError", None),
        row("JSON string", '"Heartbeat"', "RpcFrameworkError", None),
        row("empty array", "[]", "RpcFrameworkError", None),
        row("MessageTypeId as a string", '["2","m-7","Heartbeat",{}]', "RpcFrameworkError", "m-7"),
        row("MessageTypeId as a float", '[2.0,"m-8","Heartbeat",{}]', "RpcFrameworkError", "m-8"),
        row("CALL with three elements", '[2,"m-9","Heartbeat"]', "RpcFrameworkError", "m-9", message_type=2),
        row(
            "CALL with five elements",
            '[2,"m-10","Heartbeat",{},{}]',
            "RpcFrameworkError",
            "m-10",
            message_type=2,
        ),
        row("message id is a number", '[2,17,"Heartbeat",{}]', "RpcFrameworkError", None, message_type=2),
        row("message id is empty", '[2,"","Heartbeat",{}]', "RpcFrameworkError", None, message_type=2),
        row("message id of 37 characters", f'[2,"{"x" * 37}","Heartbeat",{{}}]', "RpcFrameworkError", None),
        row("action is a number", '[2,"m-11",7,{}]', "RpcFrameworkError", "m-11", message_type=2),
        row("CALLERROR without details", '[4,"m-12","GenericError","boom"]', "RpcFrameworkError", "m-12"),
        row(
            "CALLERROR with an empty code",
            '[4,"m-13","","boom",{}]',
            "RpcFrameworkError",
            "m-13",
            message_type=4,
        ),
        row(
            "CALLERROR details not an object", '[4,"m-14","GenericError","x",[]]', "RpcFrameworkError", "m-14"
        ),
        # A MessageTypeId the version does not have.
        row("MessageTypeId 7", '[7,"m-15","Heartbeat",{}]', "MessageTypeNotSupported", "m-15"),
        row("MessageTypeId 0", '[0,"m-16"]', "MessageTypeNotSupported", "m-16"),
        row("MessageTypeId -2", '[-2,"m-17","Heartbeat",{}]', "MessageTypeNotSupported", "m-17"),
        # Actions.
        row("unknown action", '[2,"m-18","Teleport",{}]', "NotImplemented", "m-18"),
        row("a 1.6-only action", '[2,"m-19","StartTransaction",{"connectorId":1}]', "NotImplemented", "m-19"),
        row("action in the wrong case", '[2,"m-20","heartbeat",{}]', "NotImplemented", "m-20"),
        # Payloads.
        row(
            "payload is an array", '[2,"m-21","Heartbeat",[]]', "FormatViolation", "m-21", action="Heartbeat"
        ),
        row("payload is null", '[2,"m-22","Heartbeat",null]', "FormatViolation", "m-22", action="Heartbeat"),
        row(
            "unexpected property",
            '[2,"m-23","Heartbeat",{"beat":1}]',
            "FormatViolation",
            "m-23",
            action="Heartbeat",
        ),
        row(
            "required property missing",
            '[2,"m-24","BootNotification",{"reason":"PowerUp"}]',
            "OccurrenceConstraintViolation",
            "m-24",
            action="BootNotification",
        ),
        row(
            "nested required property missing",
            '[2,"m-25","BootNotification",{"chargingStation":{"model":"M"},"reason":"PowerUp"}]',
            "OccurrenceConstraintViolation",
            "m-25",
            action="BootNotification",
        ),
        row(
            "enum value out of range",
            '[2,"m-26","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"Bored"}]',
            "PropertyConstraintViolation",
            "m-26",
            action="BootNotification",
        ),
        row(
            "string too long",
            '[2,"m-27","BootNotification",{"chargingStation":{"model":"' + "M" * 21 + '","vendorName":"V"},'
            '"reason":"PowerUp"}]',
            "TypeConstraintViolation",
            "m-27",
            action="BootNotification",
        ),
        row(
            "integer where a string belongs",
            '[2,"m-28","BootNotification",{"chargingStation":{"model":5,"vendorName":"V"},"reason":"PowerUp"}]',
            "TypeConstraintViolation",
            "m-28",
            action="BootNotification",
        ),
        row(
            "string where an integer belongs",
            '[2,"m-29","StatusNotification",{"timestamp":"2026-12-07T05:40:00Z","connectorStatus":"Available",'
            '"evseId":"1","connectorId":1}]',
            "TypeConstraintViolation",
            "m-29",
            action="StatusNotification",
        ),
        row(
            "bad date-time",
            '[2,"m-30","StatusNotification",{"timestamp":"yesterday","connectorStatus":"Available",'
            '"evseId":1,"connectorId":1}]',
            "PropertyConstraintViolation",
            "m-30",
            action="StatusNotification",
        ),
        row(
            "empty array below minItems",
            '[2,"m-31","MeterValues",{"evseId":1,"meterValue":[]}]',
            "OccurrenceConstraintViolation",
            "m-31",
            action="MeterValues",
        ),
        row(
            "sampledValue missing",
            '[2,"m-32","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-12-07T05:40:00Z"}]}]',
            "OccurrenceConstraintViolation",
            "m-32",
            action="MeterValues",
        ),
        row(
            "TransactionEvent with an unknown eventType",
            '[2,"m-33","TransactionEvent",' + TX_UPDATED.replace('"Updated"', '"Paused"') + "}]",
            "PropertyConstraintViolation",
            "m-33",
            action="TransactionEvent",
        ),
        row(
            "TransactionEvent with a numeric transactionId",
            '[2,"m-34","TransactionEvent",' + TX_UPDATED.replace('"tx-1"', "1") + "}]",
            "TypeConstraintViolation",
            "m-34",
            action="TransactionEvent",
        ),
        row(
            "TransactionEvent without seqNo",
            '[2,"m-35","TransactionEvent",' + TX_UPDATED.replace('"seqNo":3,', "") + "}]",
            "OccurrenceConstraintViolation",
            "m-35",
            action="TransactionEvent",
        ),
        row(
            "customData without vendorId",
            '[2,"m-36","Heartbeat",{"customData":{}}]',
            "OccurrenceConstraintViolation",
            "m-36",
            action="Heartbeat",
        ),
        row(
            "a 1.6 field beside the 2.x one",
            '[2,"m-37","Authorize",{"idToken":{"idToken":"ABC","type":"ISO14443"},"idTag":"ABC"}]',
            "FormatViolation",
            "m-37",
            action="Authorize",
        ),
        # CALLRESULTs checked against the action they answer.
        row(
            "CALLRESULT missing a required property",
            '[3,"m-38",{"interval":300,"status":"Accepted"}]',
            "OccurrenceConstraintViolation",
            "m-38",
            answers="BootNotification",
            action="BootNotification",
            message_type=3,
        ),
        row(
            "CALLRESULT with an unknown status",
            '[3,"m-39",{"currentTime":"2026-12-07T05:40:00Z","interval":300,"status":"Maybe"}]',
            "PropertyConstraintViolation",
            "m-39",
            answers="BootNotification",
            action="BootNotification",
            message_type=3,
        ),
        row(
            "CALLRESULT payload is a string",
            '[3,"m-40","ok"]',
            "FormatViolation",
            "m-40",
            answers="Heartbeat",
            action="Heartbeat",
            message_type=3,
        ),
        row("CALLRESULT with two elements", '[3,"m-41"]', "RpcFrameworkError", "m-41", message_type=3),
    ]
    if version == "2.0.1":
        rows += [
            row(
                "CALLRESULTERROR is 2.1 only",
                '[5,"m-50","GenericError","x",{}]',
                "MessageTypeNotSupported",
                "m-50",
            ),
            row(
                "SEND is 2.1 only",
                '[6,"m-51","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2026-12-07T05:40:00Z",'
                '"data":[{"t":0,"v":"1"}]}]',
                "MessageTypeNotSupported",
                "m-51",
            ),
            row("broken SEND: id still read", '[6,"m-52","X",{', "FormatViolation", "m-52"),
            row("a 2.1-only action", '[2,"m-53","NotifyDERAlarm",{}]', "NotImplemented", "m-53"),
        ]
    else:
        rows += [
            row(
                "CALLRESULTERROR with four elements",
                '[5,"m-50","GenericError","x"]',
                "RpcFrameworkError",
                "m-50",
                message_type=5,
            ),
            row(
                "CALLRESULTERROR code not a string",
                '[5,"m-51",3,"x",{}]',
                "RpcFrameworkError",
                "m-51",
                message_type=5,
            ),
            row(
                "SEND of an unknown action",
                '[6,"m-52","Teleport",{}]',
                "NotImplemented",
                "m-52",
                message_type=6,
            ),
            row(
                "SEND of a CALL action",
                '[6,"m-53","Heartbeat",{}]',
                "NotSupported",
                "m-53",
                action="Heartbeat",
                message_type=6,
            ),
            row(
                "CALL of a SEND-only action",
                '[2,"m-54","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2026-12-07T05:40:00Z",'
                '"data":[{"t":0,"v":"1"}]}]',
                "NotSupported",
                "m-54",
                action="NotifyPeriodicEventStream",
                message_type=2,
            ),
            row(
                "SEND payload missing data",
                '[6,"m-55","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2026-12-07T05:40:00Z"}]',
                "OccurrenceConstraintViolation",
                "m-55",
                action="NotifyPeriodicEventStream",
                message_type=6,
            ),
            row(
                "SEND with five elements", '[6,"m-56","X",{},{}]', "RpcFrameworkError", "m-56", message_type=6
            ),
            row("broken SEND: id still read", '[6,"m-57","X",{', "FormatViolation", "m-57", message_type=6),
            row("MessageTypeId 8", '[8,"m-58"]', "MessageTypeNotSupported", "m-58"),
        ]
    return rows


def main() -> int:
    for version, folder in VERSIONS.items():
        count = write_valid(version, folder)
        rows = invalid_rows(version)
        (FRAMES / folder / "invalid.json").write_text(
            json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        where = (FRAMES / folder).relative_to(ROOT)
        print(f"{version}: {count} valid frames, {len(rows)} invalid frames -> {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
