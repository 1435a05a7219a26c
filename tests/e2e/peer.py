"""The independent peer: the `ocpp` library's v16 ChargePoint over `websockets`, answering every
CSMS-initiated action with a canned, schema-valid answer and recording what it received."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

# action -> (request the CSMS sends, the peer's answer, the answer as the CSMS must return it)
CSMS_CASES: dict[str, tuple[dict[str, Any], Any, dict[str, Any]]] = {
    "CancelReservation": (
        {"reservationId": 7},
        call_result.CancelReservation("Accepted"),
        {"status": "Accepted"},
    ),
    "ChangeAvailability": (
        {"connectorId": 1, "type": "Inoperative"},
        call_result.ChangeAvailability("Accepted"),
        {"status": "Accepted"},
    ),
    "ChangeConfiguration": (
        {"key": "HeartbeatInterval", "value": "60"},
        call_result.ChangeConfiguration("Accepted"),
        {"status": "Accepted"},
    ),
    "ClearCache": ({}, call_result.ClearCache("Accepted"), {"status": "Accepted"}),
    "ClearChargingProfile": ({"id": 5}, call_result.ClearChargingProfile("Accepted"), {"status": "Accepted"}),
    "DataTransfer": (
        {"vendorId": "com.voltyard", "messageId": "ping", "data": "x"},
        call_result.DataTransfer("Accepted", data="pong"),
        {"status": "Accepted", "data": "pong"},
    ),
    "GetCompositeSchedule": (
        {"connectorId": 1, "duration": 3600},
        call_result.GetCompositeSchedule(
            "Accepted",
            connector_id=1,
            schedule_start="2030-01-01T00:00:00Z",
            charging_schedule={
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
            },
        ),
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": "2030-01-01T00:00:00Z",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
            },
        },
    ),
    "GetConfiguration": (
        {},
        call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]
        ),
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]},
    ),
    "GetDiagnostics": (
        {"location": "ftp://diag.example.invalid/upload"},
        call_result.GetDiagnostics(file_name="diag.zip"),
        {"fileName": "diag.zip"},
    ),
    "GetLocalListVersion": ({}, call_result.GetLocalListVersion(list_version=3), {"listVersion": 3}),
    "RemoteStartTransaction": (
        {"idTag": "TAG1", "connectorId": 1},
        call_result.RemoteStartTransaction("Accepted"),
        {"status": "Accepted"},
    ),
    "RemoteStopTransaction": (
        {"transactionId": 1},
        call_result.RemoteStopTransaction("Accepted"),
        {"status": "Accepted"},
    ),
    "ReserveNow": (
        {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG1", "reservationId": 7},
        call_result.ReserveNow("Accepted"),
        {"status": "Accepted"},
    ),
    "Reset": ({"type": "Soft"}, call_result.Reset("Accepted"), {"status": "Accepted"}),
    "SendLocalList": (
        {
            "listVersion": 4,
            "updateType": "Full",
            "localAuthorizationList": [{"idTag": "TAG1", "idTagInfo": {"status": "Accepted"}}],
        },
        call_result.SendLocalList("Accepted"),
        {"status": "Accepted"},
    ),
    "SetChargingProfile": (
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 5,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "startSchedule": "2030-01-01T00:00:00Z",
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400}],
                },
            },
        },
        call_result.SetChargingProfile("Accepted"),
        {"status": "Accepted"},
    ),
    "TriggerMessage": (
        {"requestedMessage": "Heartbeat"},
        call_result.TriggerMessage("Accepted"),
        {"status": "Accepted"},
    ),
    "UnlockConnector": ({"connectorId": 1}, call_result.UnlockConnector("Unlocked"), {"status": "Unlocked"}),
    "UpdateFirmware": (
        {"location": "https://fw.example.invalid/fw.bin", "retrieveDate": "2030-01-01T00:00:00Z"},
        call_result.UpdateFirmware(),
        {},
    ),
    "CertificateSigned": (
        {"certificateChain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
        call_result.CertificateSigned("Accepted"),
        {"status": "Accepted"},
    ),
    "DeleteCertificate": (
        {
            "certificateHashData": {
                "hashAlgorithm": "SHA256",
                "issuerNameHash": "aa11",
                "issuerKeyHash": "bb22",
                "serialNumber": "01",
            }
        },
        call_result.DeleteCertificate("Accepted"),
        {"status": "Accepted"},
    ),
    "ExtendedTriggerMessage": (
        {"requestedMessage": "StatusNotification", "connectorId": 1},
        call_result.ExtendedTriggerMessage("Accepted"),
        {"status": "Accepted"},
    ),
    "GetInstalledCertificateIds": (
        {"certificateType": "CentralSystemRootCertificate"},
        call_result.GetInstalledCertificateIds(
            "Accepted",
            certificate_hash_data=[
                {
                    "hashAlgorithm": "SHA256",
                    "issuerNameHash": "aa11",
                    "issuerKeyHash": "bb22",
                    "serialNumber": "01",
                }
            ],
        ),
        {
            "status": "Accepted",
            "certificateHashData": [
                {
                    "hashAlgorithm": "SHA256",
                    "issuerNameHash": "aa11",
                    "issuerKeyHash": "bb22",
                    "serialNumber": "01",
                }
            ],
        },
    ),
    "GetLog": (
        {
            "logType": "DiagnosticsLog",
            "requestId": 1,
            "log": {"remoteLocation": "https://logs.example.invalid/up"},
        },
        call_result.GetLog("Accepted", filename="log.txt"),
        {"status": "Accepted", "filename": "log.txt"},
    ),
    "InstallCertificate": (
        {
            "certificateType": "ManufacturerRootCertificate",
            "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        },
        call_result.InstallCertificate("Accepted"),
        {"status": "Accepted"},
    ),
    "SignedUpdateFirmware": (
        {
            "requestId": 1,
            "firmware": {
                "location": "https://fw.example.invalid/fw.bin",
                "retrieveDateTime": "2030-01-01T00:00:00Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "signature": "c2lnbmF0dXJl",
            },
        },
        call_result.SignedUpdateFirmware("Accepted"),
        {"status": "Accepted"},
    ),
}


def _handler(action: str) -> Any:
    def handle(self: PeerChargePoint, **kwargs: Any) -> Any:
        self.received.append((action, kwargs))
        return self.answers.get(action, CSMS_CASES[action][1])

    # The library routes by the attribute name recorded at decoration time, so name it first.
    handle.__name__ = f"on_{action}"
    return on(action)(handle)


class PeerChargePoint(ChargePoint):  # type: ignore[misc]
    """An `ocpp` library charge point that records the CSMS-initiated calls it answers."""

    def __init__(self, charger_id: str, connection: Any) -> None:
        super().__init__(charger_id, connection, response_timeout=10)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}  # per-test answers instead of CSMS_CASES


for _action in CSMS_CASES:
    setattr(PeerChargePoint, f"on_{_action}", _handler(_action))


async def open_websocket(port: int, charger_id: str, subprotocols: list[str] | None = None) -> Any:
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{charger_id}",
        subprotocols=subprotocols if subprotocols is not None else ["ocpp1.6"],  # type: ignore[arg-type]
        open_timeout=5,
    )


@contextlib.asynccontextmanager
async def connected_peer(port: int, charger_id: str, *, boot: bool = True) -> AsyncIterator[PeerChargePoint]:
    """A PeerChargePoint connected (and booted, unless told not to) for the duration of the block."""
    websocket = await open_websocket(port, charger_id)
    peer = PeerChargePoint(charger_id, websocket)
    runner = asyncio.create_task(peer.start())
    try:
        if boot:
            await peer.call(
                call.BootNotification(charge_point_model="Peer", charge_point_vendor="ocpp-library")
            )
        yield peer
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await runner
        await websocket.close()
