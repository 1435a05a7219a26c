"""The connector and EVSE ids a charger may name in its own calls.

The schemas say only "integer"; the specifications say more. OCPP 1.6: connector 0 is the charge point
itself (a StatusNotification of the whole charge point, MeterValues of its main meter), its connectors
count from 1, and a transaction is on a connector (StartTransaction: connectorId > 0). OCPP 2.x: EVSEs and
their connectors count from 1 (evseId 0 only for MeterValues of the station's main meter). A negative id
was stored as a connector and answered, down to an automatic ChangeAvailability naming connector -178.
"""

from __future__ import annotations

from voltyard.errors import PropertyConstraintViolationError

__all__ = ["CHARGE_POINT_OR_CONNECTOR", "CONNECTOR", "EVSE", "STATION_OR_EVSE", "check_id"]

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
