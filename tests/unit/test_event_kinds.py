"""The conventions of the typed events (voltyard.events.kinds): the class name is the kind, payload keys
are the fields in camelCase (derived in one place), events are frozen and slotted, every kind has a
category."""

from __future__ import annotations

import dataclasses
import re

import orjson
import pytest
from voltyard.events import kinds
from voltyard.events.kinds import (
    COMMAND_KINDS,
    DEFAULT_KINDS,
    KIND_CATEGORIES,
    Alert,
    AlertAcknowledged,
    ClockSkew,
    CommandSent,
    ConnectorStatusChanged,
    Event,
    MessageIn,
    camel,
    category_of,
    event_classes,
)

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def test_there_are_kinds_to_check() -> None:
    assert len(event_classes()) >= 35, "event_classes() must find every kind, not an empty list"
    assert Alert in event_classes()
    assert MessageIn in event_classes()


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_the_kind_is_the_class_name(cls: type[Event]) -> None:
    assert cls.__name__ == getattr(kinds, cls.__name__).__name__, "a kind must be exported under its name"
    assert cls.__name__ in kinds.__all__


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_every_payload_key_is_its_field_in_camel_case(cls: type[Event]) -> None:
    for f in dataclasses.fields(cls):
        if f.name in ("charger_id", "time"):
            continue
        key = camel(f.name)
        assert CAMEL.match(key), f"{cls.__name__}.{f.name} gives the payload key {key!r}, not camelCase"


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_events_are_frozen_and_slotted(cls: type[Event]) -> None:
    assert cls.__dataclass_params__.frozen, f"{cls.__name__} is not frozen"  # type: ignore[attr-defined]
    assert "__slots__" in cls.__dict__, f"{cls.__name__} is not slotted"
    assert cls.__dictoffset__ == 0, f"{cls.__name__}'s instances have a __dict__"


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_every_kind_has_one_category(cls: type[Event]) -> None:
    places = [cls.__name__ in KIND_CATEGORIES, cls.__name__ in COMMAND_KINDS, cls.__name__ in DEFAULT_KINDS]
    assert places.count(True) == 1, (
        f"{cls.__name__} must be named once in the category table (KIND_CATEGORIES, the command kinds or "
        f"the default kinds), is in {places.count(True)}"
    )


def test_the_tables_name_no_kind_that_does_not_exist() -> None:
    names = {cls.__name__ for cls in event_classes()}
    assert set(KIND_CATEGORIES) | COMMAND_KINDS | DEFAULT_KINDS <= names


def test_camel_case_is_derived_from_the_field_names() -> None:
    assert camel("transaction_id") == "transactionId"
    assert camel("limit_kw") == "limitKw"
    assert camel("in_") == "in"
    assert camel("kind_") == "kind"
    assert camel("status") == "status"


def test_the_payload_holds_the_own_fields_under_their_camel_case_names() -> None:
    event = ConnectorStatusChanged("CP1", 2, "Faulted", "GroundFailure", None, time=12.5)
    assert event.kind == "ConnectorStatusChanged"
    assert event.data() == {
        "connectorId": 2,
        "status": "Faulted",
        "errorCode": "GroundFailure",
        "previous": None,
    }
    assert event.row() == (12.5, "ConnectorStatusChanged", "CP1", orjson.dumps(event.data()).decode())
    assert ClockSkew("CP1", "2020-01-01T00:00:00Z", "StartTransaction").data() == {
        "timestamp": "2020-01-01T00:00:00Z",
        "in": "StartTransaction",
    }
    assert AlertAcknowledged("CP1", 7, "ana").data() == {"alertSeq": 7, "operator": "ana"}


def test_an_optional_field_is_left_out_while_none() -> None:
    alert = Alert("CP1", "HeartbeatLost", silent_for=90)
    assert alert.data() == {"kind": "HeartbeatLost", "silentFor": 90}


def test_an_event_cannot_be_changed() -> None:
    event = Alert("CP1", "HeartbeatLost", silent_for=90)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.silent_for = 1  # type: ignore[misc]


def test_a_commands_category_is_its_origins() -> None:
    assert CommandSent("CP1", "Reset", "power", "m1").category() == "power"
    assert CommandSent("CP1", "Reset", "operator", "m1").category() == "operator"
    assert Alert("CP1", "HeartbeatLost").category() == "alert"
    assert MessageIn("CP1", "Heartbeat", "1", 2, "[]").category() == category_of("MessageIn", {}) == "charger"
