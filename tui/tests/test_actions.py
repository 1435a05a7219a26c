"""The command forms' checks, and the action table against the `ocpp` library's OCPP 1.6 schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voltyard_tui.actions import ACTIONS, FieldKind, FormError, parse_form

KINDS = {
    "integer": {FieldKind.INTEGER},
    "string": {FieldKind.TEXT, FieldKind.CHOICE, FieldKind.DATETIME, FieldKind.URI},
    "object": {FieldKind.OBJECT},
    "array": {FieldKind.ARRAY, FieldKind.TEXT_LIST},
}


def schema(action: str) -> dict:
    ocpp = pytest.importorskip("ocpp")  # a dependency of the appliance, not of the console
    path = Path(ocpp.__file__).parent / "v16" / "schemas" / f"{action}.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_form_matches_the_request_schema(action):
    """Same fields, same required ones, compatible types, same limits and choices as the schema."""
    spec = ACTIONS[action]
    doc = schema(action)
    properties = doc.get("properties", {})
    assert {f.name for f in spec.fields} == set(properties)
    assert {f.name for f in spec.fields if f.required} == set(doc.get("required", []))
    definitions = doc.get("definitions", {})
    for field in spec.fields:
        prop = properties[field.name]
        if "$ref" in prop:
            prop = definitions[prop["$ref"].rsplit("/", 1)[-1]]
        assert field.kind in KINDS[prop["type"]], field.name
        assert field.max_length == prop.get("maxLength"), field.name
        if "enum" in prop:
            assert set(field.choices) == set(prop["enum"]), field.name
        if prop.get("format") == "date-time":
            assert field.kind is FieldKind.DATETIME, field.name
        if prop.get("format") == "uri":
            assert field.kind is FieldKind.URI, field.name


def test_parse_form_builds_typed_payloads_and_drops_empty_optionals():
    payload = parse_form(
        ACTIONS["RemoteStartTransaction"], {"connectorId": " 2 ", "idTag": "TAG", "chargingProfile": ""}
    )
    assert payload == {"connectorId": 2, "idTag": "TAG"}
    payload = parse_form(
        ACTIONS["GetConfiguration"], {"key": "HeartbeatInterval, , MeterValueSampleInterval"}
    )
    assert payload == {"key": ["HeartbeatInterval", "MeterValueSampleInterval"]}
    payload = parse_form(
        ACTIONS["ReserveNow"],
        {"connectorId": "1", "expiryDate": "2030-01-01T12:00:00+01:00", "idTag": "T", "reservationId": "9"},
    )
    assert payload["expiryDate"] == "2030-01-01T12:00:00+01:00"
    assert payload["reservationId"] == 9


@pytest.mark.parametrize(
    ("action", "values", "errors"),
    [
        ("UnlockConnector", {}, {"connectorId": "required"}),
        ("UnlockConnector", {"connectorId": "1.5"}, {"connectorId": "expected a whole number, got '1.5'"}),
        ("Reset", {"type": "Warm"}, {"type": "expected one of Hard, Soft"}),
        ("ChangeConfiguration", {"key": "K" * 51, "value": ""},
         {"key": "at most 50 characters, got 51", "value": "required"}),
        ("ReserveNow",
         {"connectorId": "1", "expiryDate": "2030-01-01T12:00:00", "idTag": "T", "reservationId": "1"},
         {"expiryDate": "add a time zone (Z or +hh:mm)"}),
        ("GetDiagnostics", {"location": "not a url"},
         {"location": "expected a URL such as ftp://host/path, got 'not a url'"}),
        ("SetChargingProfile", {"connectorId": "0", "csChargingProfiles": "[]"},
         {"csChargingProfiles": "expected a JSON object"}),
        ("SendLocalList", {"listVersion": "1", "updateType": "Full", "localAuthorizationList": "{}"},
         {"localAuthorizationList": "expected a JSON array"}),
    ],
)  # fmt: skip
def test_parse_form_refuses_with_a_reason_per_field(action, values, errors):
    with pytest.raises(FormError) as caught:
        parse_form(ACTIONS[action], values)
    assert caught.value.errors == errors


def test_every_example_passes_its_own_form():
    """The placeholders and pre-filled JSON are valid input, so an operator can start from them."""
    for spec in ACTIONS.values():
        values = {}
        for field in spec.fields:
            if field.kind is FieldKind.CHOICE:
                values[field.name] = field.choices[0]
            elif field.example:
                values[field.name] = field.example
            elif field.kind is FieldKind.INTEGER:
                values[field.name] = "1"
            else:
                values[field.name] = "x"
        parse_form(spec, values)
