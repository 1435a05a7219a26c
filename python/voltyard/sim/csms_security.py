"""Answers to the CSMS-initiated actions of the OCPP 1.6 security extension.

The simulator keeps installed certificates as opaque PEM text with hash data derived from it (it
parses no X.509: the point is the message flow, not a PKI); uploads and signed firmware report the
progress a succeeding charger would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from voltyard.sim import behaviour
from voltyard.sim.triggers import send_triggered

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["SECURITY_HANDLERS"]

Payload = dict[str, Any]
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


def _later(charger: SimCharger, delay: float, callback: Callable[[], object]) -> None:
    charger.ctx.loop.call_later(delay, callback)


def _hash_data(certificate: str) -> dict[str, str]:
    digest = hashlib.sha256(certificate.encode()).hexdigest()
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": digest[:64],
        "issuerKeyHash": hashlib.sha256(digest.encode()).hexdigest(),
        "serialNumber": digest[:16],
    }


def certificate_signed(charger: SimCharger, payload: Payload) -> Payload:
    accepted = _PEM_CERTIFICATE in payload["certificateChain"]
    return {"status": "Accepted" if accepted else "Rejected"}


def install_certificate(charger: SimCharger, payload: Payload) -> Payload:
    certificate = payload["certificate"]
    if _PEM_CERTIFICATE not in certificate:
        return {"status": "Rejected"}
    store = charger.certificates if charger.certificates is not None else []
    if len(store) >= charger.settings.integer("CertificateStoreMaxLength"):
        return {"status": "Failed"}
    hash_data = _hash_data(certificate)
    if all(entry["hashData"] != hash_data for entry in store):
        store.append({"certificateType": payload["certificateType"], "hashData": hash_data})
    charger.certificates = store
    return {"status": "Accepted"}


def get_installed_certificate_ids(charger: SimCharger, payload: Payload) -> Payload:
    wanted = payload["certificateType"]
    found = [e["hashData"] for e in charger.certificates or () if e["certificateType"] == wanted]
    if not found:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashData": found}


def delete_certificate(charger: SimCharger, payload: Payload) -> Payload:
    wanted = payload["certificateHashData"]
    store = charger.certificates or []
    kept = [e for e in store if e["hashData"]["serialNumber"] != wanted["serialNumber"]]
    if len(kept) == len(store):
        return {"status": "NotFound"}
    charger.certificates = kept or None
    return {"status": "Accepted"}


def extended_trigger_message(charger: SimCharger, payload: Payload) -> Payload:
    connector_id = payload.get("connectorId")
    if connector_id is not None and connector_id != 0 and charger.connector(connector_id) is None:
        return {"status": "Rejected"}
    requested = payload["requestedMessage"]
    _later(charger, 0, lambda: send_triggered(charger, requested, connector_id))
    return {"status": "Accepted"}


def get_log(charger: SimCharger, payload: Payload) -> Payload:
    request_id = payload["requestId"]
    for delay, status in ((0.0, "Uploading"), (0.5, "Uploaded")):
        notification = {"status": status, "requestId": request_id}
        _later(charger, delay, partial(charger.call, "LogStatusNotification", notification))
    return {"status": "Accepted", "filename": f"{payload['logType']}-{charger.charger_id}.log"}


def signed_update_firmware(charger: SimCharger, payload: Payload) -> Payload:
    if _PEM_CERTIFICATE not in payload["firmware"]["signingCertificate"]:
        return {"status": "InvalidCertificate"}
    request_id = payload["requestId"]
    steps = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting")
    for number, status in enumerate(steps):
        notification = {"status": status, "requestId": request_id}
        _later(charger, 0.5 * number, partial(charger.call, "SignedFirmwareStatusNotification", notification))
    _later(charger, 0.5 * len(steps), lambda: behaviour.reboot(charger, "Reboot"))
    return {"status": "Accepted"}


SECURITY_HANDLERS: dict[str, Callable[[SimCharger, Payload], Payload]] = {
    "CertificateSigned": certificate_signed,
    "DeleteCertificate": delete_certificate,
    "ExtendedTriggerMessage": extended_trigger_message,
    "GetInstalledCertificateIds": get_installed_certificate_ids,
    "GetLog": get_log,
    "InstallCertificate": install_certificate,
    "SignedUpdateFirmware": signed_update_firmware,
}
