"""OCPP 2.0.1 (and 2.1, same shapes): BootNotification, Heartbeat, StatusNotification, Authorize,
TransactionEvent (stored durably, idempotent on transactionId and seqNo), MeterValues,
SecurityEventNotification, DataTransfer, over the domain services of 1.6.

A 2.x message is read into the one domain model: the boot's chargingStation into the charger's boot fields,
each EVSE's connector status into the one connector model (EVSE n is connector n, as a 1.6 charger numbers
its connectors; connector 0 is the station), an IdToken into the tag table's policy, a transaction into the
one transaction list (an integer id, and the charger's string transactionId beside it).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from voltyard.events.kinds import AuthorizeRejected, SecurityEvent
from voltyard.ocpp.connector_ids import CONNECTOR, EVSE, STATION_OR_EVSE, check_id
from voltyard.ocpp.router import Payload, Reply, Router
from voltyard.ocpp.services import Services
from voltyard.ocpp.timefmt import utc_now
from voltyard.store import device_model

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = ["boot_fields", "id_token_info", "register", "report_rows", "token_info_of"]

# 2.x AuthorizationStatusEnumType has every 1.6 status; the tag table's answer carries over as it is.
_NO_AUTHORIZATION = "NoAuthorization"


def boot_fields(payload: Payload) -> dict[str, Any]:
    """A 2.x BootNotification's chargingStation as the 1.6 fields the charger record keeps."""
    station = payload["chargingStation"]
    modem = station.get("modem", {})
    fields = {
        "chargePointVendor": station["vendorName"],
        "chargePointModel": station["model"],
        "chargePointSerialNumber": station.get("serialNumber"),
        "firmwareVersion": station.get("firmwareVersion"),
        "iccid": modem.get("iccid"),
        "imsi": modem.get("imsi"),
    }
    return {key: value for key, value in fields.items() if value is not None}


def id_token_info(services: Services, id_token: Payload) -> Payload:
    """The 2.x idTokenInfo of an IdToken: the tag table and the unknown-tag policy, as 1.6's idTagInfo."""
    if id_token["type"] == _NO_AUTHORIZATION:
        return {"status": "Accepted"}
    return token_info_of(services.authorization.id_tag_info(id_token["idToken"]))


def token_info_of(info: dict[str, str]) -> Payload:
    """A 1.6 idTagInfo (the tag table's, or an uplink's central system's) as 2.x's idTokenInfo."""
    answer: Payload = {"status": info["status"]}
    if "expiryDate" in info:
        answer["cacheExpiryDateTime"] = info["expiryDate"]
    if "parentIdTag" in info:
        answer["groupIdToken"] = {"idToken": info["parentIdTag"], "type": "Central"}
    return answer


def report_rows(charger_id: str, payload: Payload, at: float) -> list[device_model.VariableRow]:
    """A NotifyReport part's variable attributes as rows of the device model."""
    rows: list[device_model.VariableRow] = []
    for item in payload.get("reportData", []):
        component, variable = item["component"], item["variable"]
        evse = component.get("evse", {})
        for attribute in item["variableAttribute"]:
            rows.append(
                (charger_id, component["name"], component.get("instance", ""), evse.get("id", 0),
                 evse.get("connectorId", 0), variable["name"], variable.get("instance", ""),
                 attribute.get("type", "Actual"), attribute.get("value"), attribute.get("mutability"), at)
            )  # fmt: skip
    return rows


def _check_evse(evse: Payload | None) -> None:
    """A TransactionEvent's EVSE (given on its first event) names an EVSE, and a connector if any."""
    if evse is not None:
        check_id(evse["id"], "/evse/id", EVSE)
        if "connectorId" in evse:
            check_id(evse["connectorId"], "/evse/connectorId", CONNECTOR)


async def _once_stored(stored: Awaitable[int], answer: Payload) -> Payload:
    await stored
    return answer


def register(router: Router, services: Services) -> None:
    chargers = services.chargers
    boot_storm = services.boot_storm
    events = services.events
    vendors = services.vendors
    transactions = services.transactions
    store = services.store
    health = services.health

    @router.on("BootNotification")
    def boot_notification(session: Session, payload: Payload) -> Payload:
        status, interval = chargers.boot(session.charger_id, boot_fields(payload), boot_storm.defer())
        session.admitted = status == "Accepted"
        if session.admitted:
            session.mark_ready()
        return {"status": status, "currentTime": utc_now(), "interval": interval}

    @router.on("Heartbeat")
    def heartbeat(session: Session, payload: Payload) -> Payload:
        chargers.seen(session.charger_id, session.last_message)
        return {"currentTime": utc_now()}

    @router.on("StatusNotification")
    def status_notification(session: Session, payload: Payload) -> Payload:
        check_id(payload["evseId"], "/evseId", EVSE)
        check_id(payload["connectorId"], "/connectorId", CONNECTOR)
        chargers.status(
            session.charger_id,
            {
                "connectorId": payload["evseId"],
                "status": payload["connectorStatus"],
                "errorCode": "NoError",  # 2.x reports errors with NotifyEvent, not in the status
                "timestamp": payload["timestamp"],
                "info": f"EVSE {payload['evseId']} connector {payload['connectorId']}",
            },
        )
        health.on_evse_status(
            session.charger_id, payload["evseId"], payload["connectorId"], payload["connectorStatus"]
        )
        return {}

    def authorized(charger_id: str, id_token: Payload, info: Payload) -> Payload:
        if info["status"] != "Accepted":
            events.publish(AuthorizeRejected(charger_id, id_token["idToken"], info["status"]))
        return {"idTokenInfo": info}

    async def ask_upstream(
        charger_id: str, id_token: Payload, asked: Awaitable[dict[str, str] | None]
    ) -> Payload:
        upstream_info = await asked
        if upstream_info is None:  # it could not answer in time: the local answer
            return authorized(charger_id, id_token, id_token_info(services, id_token))
        return authorized(charger_id, id_token, token_info_of(upstream_info))

    @router.on("Authorize")
    def authorize(session: Session, payload: Payload) -> Reply:
        id_token = payload["idToken"]
        # As 1.6's (ocpp/v16/authorization.py): with an uplink online, the operator's central system
        # decides (docs/uplink.md); offline, or when it cannot answer in time, the local tag table does.
        upstream = services.authorization.upstream
        if upstream is not None and id_token["type"] != _NO_AUTHORIZATION:
            asked = upstream(session.charger_id, id_token["idToken"])
            if asked is not None:
                return ask_upstream(session.charger_id, id_token, asked)
        return authorized(session.charger_id, id_token, id_token_info(services, id_token))

    @router.on("TransactionEvent")
    def transaction_event(session: Session, payload: Payload) -> Reply:
        # Started and Ended (and any event not known to be new) are on disk before their answer; an Updated
        # of an open transaction, in order, is committed within the commit interval as 1.6's MeterValues
        # (Transactions.event). Each is stored once per (charger, transactionId, seqNo): a replay is
        # answered again, stored once.
        _check_evse(payload.get("evse"))
        stored = transactions.event(session.charger_id, payload, session.last_message)
        id_token = payload.get("idToken")
        answer = {} if id_token is None else {"idTokenInfo": id_token_info(services, id_token)}
        return answer if isinstance(stored, int) else _once_stored(stored, answer)

    @router.on("MeterValues")
    def meter_values(session: Session, payload: Payload) -> Payload:
        check_id(payload["evseId"], "/evseId", STATION_OR_EVSE)
        transactions.meter_values_2x(session.charger_id, payload, session.last_message)
        return {}

    @router.on("NotifyReport")
    def notify_report(session: Session, payload: Payload) -> Payload:
        # Each part (seqNo, tbc) as it comes: a report cut short keeps what arrived.
        device_model.append_report(store, report_rows(session.charger_id, payload, session.last_message))
        return {}

    @router.on("SecurityEventNotification")
    def security_event(session: Session, payload: Payload) -> Payload:
        events.publish(
            SecurityEvent(session.charger_id, payload["type"], payload["timestamp"], payload.get("techInfo"))
        )
        return {}

    @router.on("DataTransfer")
    def data_transfer(session: Session, payload: Payload) -> Payload:
        handler = vendors.get(payload["vendorId"])
        if handler is None:
            return {"status": "UnknownVendorId"}
        data = payload.get("data")
        return handler(session.charger_id, payload.get("messageId"), data if isinstance(data, str) else None)
