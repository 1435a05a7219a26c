"""StartTransaction, StopTransaction and MeterValues.

Start and stop are answered only once they are on disk; meter values are answered at once and committed
within the store's commit interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltyard._native import Call, read_meter_values
from voltyard.errors import PropertyConstraintViolationError
from voltyard.ocpp.connector_ids import CHARGE_POINT_OR_CONNECTOR, CONNECTOR, check_id
from voltyard.ocpp.router import Payload, Router, check_integers
from voltyard.ocpp.services import Services
from voltyard.ocpp.timefmt import charger_instant

if TYPE_CHECKING:
    from voltyard.ocpp.leniency import RepairedCall
    from voltyard.ocpp.session import Session

__all__ = ["register"]

_LOWEST_CONNECTOR = CHARGE_POINT_OR_CONNECTOR[0]


def register(router: Router, services: Services) -> None:
    transactions = services.transactions
    authorization = services.authorization
    health = services.health

    @router.on("StartTransaction")
    async def start_transaction(session: Session, payload: Payload) -> Payload:
        check_id(payload["connectorId"], "/connectorId", CONNECTOR)
        id_tag_info = authorization.id_tag_info(payload["idTag"])
        # Parsed once, here: the domain compares instants (the codec let only RFC 3339 date-times through).
        started_at = charger_instant(payload["timestamp"])
        transaction_id = await transactions.start(session.charger_id, payload, started_at)
        return {"transactionId": transaction_id, "idTagInfo": id_tag_info}

    @router.on("StopTransaction", wide_integers=True)  # a stop is recorded whatever its numbers
    async def stop_transaction(session: Session, payload: Payload) -> Payload:
        await transactions.stop(session.charger_id, payload)
        health.on_stop(session.charger_id, payload)
        id_tag = payload.get("idTag")
        return {"idTagInfo": authorization.id_tag_info(id_tag)} if id_tag is not None else {}

    @router.on("MeterValues", whole_call=True)
    def meter_values(session: Session, call: Call | RepairedCall) -> Payload:
        read = call.meter_values  # read by the decoder; not for a frame that leniency repaired
        if read is None:
            try:
                read = read_meter_values(call.payload)
            except ValueError as exc:  # valid by the schema, yet no reading (connectorId past 2^63)
                raise PropertyConstraintViolationError(f"MeterValues cannot be stored: {exc}") from exc
        if read.transaction_id is None:
            # The reader drops a transactionId past 2^63 (as if absent): refuse it as the router refuses
            # any integer the store cannot hold. Readings with an id, nearly all, skip this check.
            check_integers("MeterValues", call.payload)
        if read.connector_id < _LOWEST_CONNECTOR:  # `check_id`'s test first: nearly every frame passes it
            check_id(read.connector_id, "/connectorId", CHARGE_POINT_OR_CONNECTOR)
        transactions.record_meter_values(session.charger_id, read, session.last_message)  # when it came
        return {}
