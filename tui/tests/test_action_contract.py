"""The console's OCPP action lists against the appliance's one action table.

The console is a separate distribution and cannot import the appliance, so it keeps its own lists (the
command forms, the inspector's filter); this test holds them to `voltyard.ocpp.actions` and to the OpenAPI
document's command route, as the fake API's list is held to the same route.
"""

from __future__ import annotations

from fake_api import CSMS_ACTIONS as FAKE_CSMS_ACTIONS
from voltyard.api.openapi import DOCUMENT
from voltyard.ocpp import actions
from voltyard.ocpp.actions import OCPP16, Direction

from voltyard_tui.actions import ACTIONS, CHARGER_ACTIONS


def documented_command_actions() -> set[str]:
    """The `action` path parameter's enum of the route that sends a command to a charger."""
    for methods in DOCUMENT["paths"].values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "action" and parameter.get("in") == "path":
                    return set(parameter["schema"]["enum"])
    raise AssertionError("no route of the OpenAPI document takes an `action` path parameter")


def test_the_consoles_command_forms_are_the_appliances_16_csms_actions() -> None:
    # The forms are OCPP 1.6's; the route takes every version's actions (each checked against the charger's).
    assert set(ACTIONS) == OCPP16.sent_by(Direction.CSMS)
    assert documented_command_actions() == set(actions.ANY_CSMS_ACTIONS) > set(ACTIONS)


def test_the_inspectors_charger_actions_are_the_appliances() -> None:
    assert set(CHARGER_ACTIONS) == set(actions.CHARGER_ACTIONS)


def test_the_fake_apis_actions_are_the_documented_ones() -> None:
    assert set().union(*FAKE_CSMS_ACTIONS.values()) == documented_command_actions()
