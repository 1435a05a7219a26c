"""What the charger's answers to CSMS-initiated calls change in the domain.

Each hook runs after a valid answer: an accepted ChangeAvailability sets the connectors' availability, an
accepted SendLocalList stores the list and its version (durably), a ReserveNow answer records the
reservation with its outcome, and so on.

What a hook stores passes the same integer check as a charger's CALL (`voltyard.ocpp.router`): a request
with an integer beyond the store's signed 64-bit range is refused before it is sent, and such an answer
(GetLocalListVersion's listVersion 2^63) is refused as invalid before it changes anything.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from voltyard.domain.credentials import check_key_length
from voltyard.errors import InvalidCommandError, OcppError
from voltyard.events.kinds import SecurityEvent
from voltyard.ocpp.commands import AnswerHook, Commands
from voltyard.ocpp.router import check_integers, integer_paths
from voltyard.ocpp.services import Services
from voltyard.store import chargers as charger_rows
from voltyard.store import charging_profiles, configuration, device_model, id_tags, reservations

__all__ = ["register_answer_hooks"]

Payload = dict[str, Any]


def _register_configuration_hooks(commands: Commands, services: Services) -> None:
    """ChangeConfiguration (including AuthorizationKey rotation) and GetConfiguration snapshots."""
    store = services.store
    events = services.events
    credentials = services.credentials

    def check_new_key(charger_id: str, request: Payload) -> None:
        if request["key"] != "AuthorizationKey":
            return
        try:
            check_key_length(request["value"].encode())
        except ValueError as exc:
            raise InvalidCommandError(f"ChangeConfiguration AuthorizationKey: {exc}") from exc

    commands.on_request("ChangeConfiguration", check_new_key)

    async def change_configuration(charger_id: str, request: Payload, answer: Payload) -> None:
        if request["key"] == "AuthorizationKey":
            # The new key counts only once the charger took it; after Rejected the old one stays valid.
            if answer["status"] == "Accepted":
                await credentials.rotate(charger_id, request["value"].encode())
                events.publish(SecurityEvent(charger_id, "AuthorizationKeyRotated"))
            return
        if answer["status"] in ("Accepted", "RebootRequired"):
            store.append(
                configuration.SET_VALUE,
                configuration.set_value_params(charger_id, request["key"], request["value"], time.time()),
            )

    async def get_configuration(charger_id: str, request: Payload, answer: Payload) -> None:
        rows = [
            (charger_id, item["key"], item.get("value"), int(item.get("readonly", False)), time.time())
            for item in answer.get("configurationKey", [])
        ]
        full = not request.get("key")  # a full read replaces the snapshot
        await store.durable(lambda conn: configuration.replace_snapshot(conn, charger_id, rows, full=full))

    commands.on_answer("ChangeConfiguration", change_configuration)
    commands.on_answer("GetConfiguration", get_configuration)


def _register_device_model_hooks(commands: Commands, services: Services) -> None:
    """OCPP 2.x: what GetVariables read and SetVariables set (Accepted) updates the charger's device model."""
    store = services.store

    def rows(charger_id: str, results: list[Payload], value_of: Callable[[Payload], object]) -> None:
        now = time.time()
        updated: list[device_model.VariableRow] = []
        for result in results:
            value = value_of(result)
            if result["attributeStatus"] != "Accepted" or not isinstance(value, str):
                continue
            component, variable = result["component"], result["variable"]
            evse = component.get("evse", {})
            updated.append(
                (charger_id, component["name"], component.get("instance", ""), evse.get("id", 0),
                 evse.get("connectorId", 0), variable["name"], variable.get("instance", ""),
                 result.get("attributeType", "Actual"), value, None, now)
            )  # fmt: skip
        device_model.append_report(store, updated)

    def get_variables(charger_id: str, request: Payload, answer: Payload) -> None:
        rows(charger_id, answer["getVariableResult"], lambda result: result.get("attributeValue"))

    def set_variables(charger_id: str, request: Payload, answer: Payload) -> None:
        # The answer does not repeat the value: it is the request's item of the same attribute.
        asked = {
            _attribute_key(item): item["attributeValue"] for item in request["setVariableData"]
        }  # fmt: skip
        rows(charger_id, answer["setVariableResult"], lambda result: asked.get(_attribute_key(result)))

    for version in ("2.0.1", "2.1"):
        commands.on_answer("GetVariables", get_variables, version=version)
        commands.on_answer("SetVariables", set_variables, version=version)


def _attribute_key(item: Payload) -> str:
    """Which attribute a Set/GetVariables item names (component, its instance and EVSE, variable, type)."""
    component, variable = item["component"], item["variable"]
    return repr((component["name"], component.get("instance"), component.get("evse"), variable["name"],
                 variable.get("instance"), item.get("attributeType", "Actual")))  # fmt: skip


def register_answer_hooks(commands: Commands, services: Services) -> None:
    _register_configuration_hooks(commands, services)
    _register_device_model_hooks(commands, services)
    chargers = services.chargers
    store = services.store

    def change_availability(charger_id: str, request: Payload, answer: Payload) -> None:
        if answer["status"] in ("Accepted", "Scheduled"):
            chargers.set_availability(charger_id, request["connectorId"], request["type"])

    async def send_local_list(charger_id: str, request: Payload, answer: Payload) -> None:
        if answer["status"] != "Accepted":
            return
        await store.durable(lambda conn: id_tags.apply_local_list(conn, charger_id, request))
        chargers.get(charger_id).local_list_version = request["listVersion"]

    def get_local_list_version(charger_id: str, request: Payload, answer: Payload) -> None:
        chargers.get(charger_id).local_list_version = answer["listVersion"]
        charger_rows.append_local_list_version(store, charger_id, answer["listVersion"])

    async def reserve_now(charger_id: str, request: Payload, answer: Payload) -> None:
        row = (
            request["reservationId"], charger_id, request["connectorId"], request["idTag"],
            request.get("parentIdTag"), request["expiryDate"], answer["status"], time.time(),
        )  # fmt: skip
        await store.durable(lambda conn: reservations.record(conn, row))

    def cancel_reservation(charger_id: str, request: Payload, answer: Payload) -> None:
        if answer["status"] == "Accepted":
            reservations.append_cancelled(store, charger_id, request["reservationId"], time.time())

    def set_charging_profile(charger_id: str, request: Payload, answer: Payload) -> None:
        if answer["status"] != "Accepted":
            return
        profile = request["csChargingProfiles"]
        charging_profiles.append_installed(store, charger_id, request["connectorId"], profile, time.time())

    def clear_charging_profile(charger_id: str, request: Payload, answer: Payload) -> None:
        if answer["status"] != "Accepted":
            return
        charging_profiles.append_cleared(store, charger_id, request)

    hooks = {
        "ChangeAvailability": change_availability,
        "SendLocalList": send_local_list,
        "GetLocalListVersion": get_local_list_version,
        "ReserveNow": reserve_now,
        "CancelReservation": cancel_reservation,
        "SetChargingProfile": set_charging_profile,
        "ClearChargingProfile": clear_charging_profile,
    }
    for action, hook in hooks.items():
        if integer_paths(action):
            commands.on_request(action, _request_check(action))
        commands.on_answer(
            action, _checked_answer(action, hook) if integer_paths(f"{action}Response") else hook
        )
    # The answers of every command are recorded by Commands itself (CommandAnswered), hooks or not.


def _request_check(action: str) -> Callable[[str, Payload], None]:
    """Refuse a request whose answer hook would store an integer the store cannot hold."""

    def check(charger_id: str, request: Payload) -> None:
        try:
            check_integers(action, request)
        except OcppError as exc:
            raise InvalidCommandError(f"{action} request: {exc.description}") from None

    return check


def _checked_answer(action: str, hook: AnswerHook) -> AnswerHook:
    """`hook` behind the integer check of the answer to `action`."""

    def checked(charger_id: str, request: Payload, answer: Payload) -> Awaitable[None] | None:
        try:
            check_integers(f"{action}Response", answer)
        except OcppError as exc:
            raise InvalidCommandError(f"{action} answer from {charger_id}: {exc.description}") from None
        return hook(charger_id, request, answer)

    return checked
