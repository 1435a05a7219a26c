"""The connector ids a 1.6 charger may name in its own calls.

The 1.6 schemas say only "integer"; the specification says more: 0 is the charge point itself (a
StatusNotification of the whole charge point, MeterValues of its main meter), its connectors count from 1,
and a transaction is on a connector (StartTransaction: connectorId > 0). A negative id was stored as a
connector and answered, down to an automatic ChangeAvailability naming connector -178.
"""

from __future__ import annotations

from voltyard.errors import PropertyConstraintViolationError

__all__ = ["check_connector_id"]


def check_connector_id(connector_id: int, *, charge_point_allowed: bool) -> None:
    """Refuse an id that names no connector (and 0 where the charge point itself is not meant).

    Raises:
        PropertyConstraintViolationError: naming the field, its value and what is allowed.
    """
    lowest = 0 if charge_point_allowed else 1
    if connector_id < lowest:
        allowed = "a connector from 1"
        if charge_point_allowed:
            allowed = "0 (the charge point) or " + allowed
        raise PropertyConstraintViolationError(f"/connectorId: {connector_id} is not {allowed}")
