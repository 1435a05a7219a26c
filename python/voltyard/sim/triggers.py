"""The messages a TriggerMessage or ExtendedTriggerMessage makes a simulated charger send.

Sent after the trigger's answer has left (the handlers schedule this), through the charger's normal
queue, so a triggered message waits its turn behind a call in flight like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltyard.sim import behaviour
from voltyard.sim.meter import Connector, sampled_values

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["FAKE_CSR", "send_triggered"]

# A syntactically plausible PEM CSR: the central system stores it and hands it to whoever holds the CA.
FAKE_CSR = (
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "TUlJQ1dqQ0NBVUlDQVFBd0ZURVRNQkVHQTFVRUF3d0tVMGxOTFRBd01EQXhNSUlCSWpBTkJna3Foa2lHOXcwQkFR\n"
    "-----END CERTIFICATE REQUEST-----\n"
)


def send_triggered(charger: SimCharger, requested: str, connector_id: int | None) -> None:
    """Send the message that was asked for (connector 0 or None: the charger and every connector)."""
    targets = charger.connectors if not connector_id else (charger.connector(connector_id),)
    if requested == "StatusNotification":
        if not connector_id:
            behaviour.notify(charger, None)
        for connector in targets:
            behaviour.notify(charger, connector)
    elif requested == "MeterValues":
        for connector in targets:
            if connector is not None:
                _meter_values(charger, connector)
    elif requested == "BootNotification":
        charger.call("BootNotification", behaviour.boot_payload(charger))
    elif requested == "SignChargePointCertificate":
        charger.call("SignCertificate", {"csr": FAKE_CSR})
    elif requested in _IDLE_NOTIFICATIONS:
        charger.call(requested, {"status": "Idle"})
    else:  # Heartbeat
        charger.call(requested, {})


_IDLE_NOTIFICATIONS = frozenset(
    {"DiagnosticsStatusNotification", "FirmwareStatusNotification", "LogStatusNotification"}
)


def _meter_values(charger: SimCharger, connector: Connector) -> None:
    payload: dict[str, Any] = {
        "connectorId": connector.connector_id,
        "meterValue": sampled_values(connector, "Trigger"),
    }
    session = connector.session
    if session is not None and session.transaction_id is not None:
        payload["transactionId"] = session.transaction_id
    charger.call("MeterValues", payload)
