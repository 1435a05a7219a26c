"""The connector and EVSE ids a charger may name in its own calls.

The schemas say only "integer"; the specifications say more. OCPP 1.6: connector 0 is the charge point
itself (a StatusNotification of the whole charge point, MeterValues of its main meter), its connectors
count from 1, and a transaction is on a connector (StartTransaction: connectorId > 0). OCPP 2.x: EVSEs and
their connectors count from 1 (evseId 0 only for MeterValues of the station's main meter). A negative id
was stored as a connector and answered, down to an automatic ChangeAvailability naming connector -178.

The operator's commands are held to the same rules before they are sent (`check_command`): a reservation or
a charging profile for connector -1 that a charger accepted would be stored as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltyard.errors import PropertyConstraintViolationError

__all__ = ["CHARGE_POINT_OR_CONNECTOR", "CONNECTOR", "EVSE", "STATION_OR_EVSE", "check_command", "check_id"]

# (the lowest id allowed, what the field must name)
CHARGE_POINT_OR_CONNECTOR = (0, "0 (the charge point) or a connector from 1")
CONNECTOR = (1, "a connector from 1")
EVSE = (1, "an EVSE from 1")
STATION_OR_EVSE = (0, "0 (the charging station) or an EVSE from 1")


def check_id(value: int, pointer: str, allowed: tuple[int, str]) -> None:
    """Refuse an id below what the field may name.

    Raises:
        PropertyConstraintViolationError: naming the field (a JSON pointer), its value and what is allowed.
    """
    lowest, what = allowed
    if value < lowest:
        raise PropertyConstraintViolationError(f"{pointer}: {value} is not {what}")


# The ids a CSMS-initiated command names, by version and action: (path of keys, what it may name). A path
# that is absent from a request (an optional field) is not checked. 2.x's EVSEType objects (`evse`: an EVSE
# from 1 and its connector from 1) are checked wherever they appear, by `_check_evse_objects`.
_COMMAND_IDS_16: dict[str, tuple[tuple[tuple[str, ...], tuple[int, str]], ...]] = {
    "ChangeAvailability": ((("connectorId",), CHARGE_POINT_OR_CONNECTOR),),
    "ClearChargingProfile": ((("connectorId",), CHARGE_POINT_OR_CONNECTOR),),
    "GetCompositeSchedule": ((("connectorId",), CHARGE_POINT_OR_CONNECTOR),),
    "RemoteStartTransaction": ((("connectorId",), CONNECTOR),),
    "ReserveNow": ((("connectorId",), CHARGE_POINT_OR_CONNECTOR),),
    "SetChargingProfile": ((("connectorId",), CHARGE_POINT_OR_CONNECTOR),),
    "TriggerMessage": ((("connectorId",), CONNECTOR),),
    "UnlockConnector": ((("connectorId",), CONNECTOR),),
}
_COMMAND_IDS_2X: dict[str, tuple[tuple[tuple[str, ...], tuple[int, str]], ...]] = {
    "ClearChargingProfile": ((("chargingProfileCriteria", "evseId"), STATION_OR_EVSE),),
    "GetChargingProfiles": ((("evseId",), STATION_OR_EVSE),),
    "GetCompositeSchedule": ((("evseId",), STATION_OR_EVSE),),
    "RequestStartTransaction": ((("evseId",), EVSE),),
    "ReserveNow": ((("evseId",), EVSE),),
    "SetChargingProfile": ((("evseId",), STATION_OR_EVSE),),
    "UnlockConnector": ((("evseId",), EVSE), (("connectorId",), CONNECTOR)),
}


def check_command(version: str, action: str, request: Mapping[str, Any]) -> None:
    """Refuse an operator's command whose connector or EVSE ids name nothing (`check_id`'s rules).

    Raises:
        PropertyConstraintViolationError: naming the field, its value and what is allowed.
    """
    table = _COMMAND_IDS_16 if version == "1.6" else _COMMAND_IDS_2X
    for path, allowed in table.get(action, ()):
        value = _at(request, path)
        if isinstance(value, int) and not isinstance(value, bool):
            check_id(value, "/" + "/".join(path), allowed)
    if version != "1.6":
        _check_evse_objects(request, "")


def _at(payload: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = payload
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _check_evse_objects(value: object, pointer: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "evse" and isinstance(item, Mapping):
                for field, allowed in (("id", EVSE), ("connectorId", CONNECTOR)):
                    number = item.get(field)
                    if isinstance(number, int) and not isinstance(number, bool):
                        check_id(number, f"{pointer}/evse/{field}", allowed)
            _check_evse_objects(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_evse_objects(item, f"{pointer}/{index}")
