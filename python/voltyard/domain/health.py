"""Fleet health: heartbeat loss and seed 000's automatic responses.

- A charger silent for `heartbeat_timeout_factor` x its heartbeat interval is marked offline and an alert
  event is raised; it is back online (and another event says so) when it talks again. Dead TCP peers are
  found earlier by the gateway's websocket pings.
- Faulted with a critical error code -> ChangeAvailability Inoperative for that connector. An OCPP 2.x
  StatusNotification carries no error code (a 2.x station details its faults with NotifyEvent), so a
  Faulted 2.x connector counts as critical; its ChangeAvailability is in the 2.x shape
  (`{operationalStatus, evse: {id, connectorId}}`).
- A transaction stopped with reason EmergencyStop -> a warning event.

Each response is switched on or off in [health] and happens at most once per `response_min_interval` per
charger and kind, so a flapping charger cannot flood itself or the operators.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from voltyard.config import HealthConfig, OcppConfig
from voltyard.domain.chargers import Chargers
from voltyard.errors import CommandError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import COMMAND_ORIGIN, Alert, AutomaticResponse, HeartbeatRestored, Warning

__all__ = ["Health", "LastHeard"]

log = logging.getLogger(__name__)

Call = Callable[[str, str, dict[str, Any]], Any]
# The port to the live sessions (the runtime wires the OCPP registry's `last_heard`): each connected charger
# with the time its last message came. The domain knows no sockets.
LastHeard = Callable[[], Iterable[tuple[str, float]]]


class Health:
    """See the module docstring."""

    def __init__(  # noqa: PLR0917 - the composition root passes each collaborator once
        self,
        config: HealthConfig,
        ocpp: OcppConfig,
        chargers: Chargers,
        events: EventBus,
        last_heard: LastHeard,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.ocpp = ocpp
        self.chargers = chargers
        self.events = events
        self.last_heard = last_heard
        self.clock = clock
        self.call: Call | None = None
        self.silent: dict[str, float] = {}
        self._last_response: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _allowed(self, charger_id: str, kind: str) -> bool:
        now = self.clock()
        last = self._last_response.get((charger_id, kind))
        if last is not None and now - last < self.config.response_min_interval:
            return False
        self._last_response[charger_id, kind] = now
        return True

    def on_status(self, charger_id: str, payload: dict[str, Any]) -> None:
        """Faulted with a critical error code -> ChangeAvailability Inoperative (in the background)."""
        if payload["status"] != "Faulted" or payload["errorCode"] not in self.config.critical_error_codes:
            return
        connector_id = payload["connectorId"]
        request = {"connectorId": connector_id, "type": "Inoperative"}
        self._faulted(charger_id, connector_id, payload["errorCode"], f"inoperative:{connector_id}", request)

    def on_evse_status(self, charger_id: str, evse_id: int, connector_id: int, status: str) -> None:
        """OCPP 2.x: a Faulted connector of an EVSE -> ChangeAvailability Inoperative for it, in the 2.x
        shape (no error code to judge by: see the module docstring). EVSE n is connector n of the model."""
        if status != "Faulted":
            return
        request = {"operationalStatus": "Inoperative", "evse": {"id": evse_id, "connectorId": connector_id}}
        self._faulted(charger_id, evse_id, None, f"inoperative:{evse_id}:{connector_id}", request)

    def _faulted(
        self, charger_id: str, connector_id: int, error_code: str | None, kind: str, request: dict[str, Any]
    ) -> None:
        self.events.publish(
            Alert(charger_id, "ConnectorFaulted", connector_id=connector_id, error_code=error_code)
        )
        if not self.config.faulted_inoperative or self.call is None:
            return
        if not self._allowed(charger_id, kind):
            return
        task = asyncio.ensure_future(self._make_inoperative(charger_id, request, error_code or "Faulted"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _make_inoperative(self, charger_id: str, request: dict[str, Any], trigger: str) -> None:
        assert self.call is not None
        COMMAND_ORIGIN.set(
            "health"
        )  # this task's own context: its command is the health check's, no operator's
        try:
            answer = await self.call(charger_id, "ChangeAvailability", request)
        except CommandError as exc:
            log.warning("%s: automatic ChangeAvailability failed: %s", charger_id, exc)
            answer = {"status": f"failed: {exc}"}
        self.events.publish(AutomaticResponse(charger_id, trigger, "ChangeAvailability", request, answer))

    def on_stop(self, charger_id: str, payload: dict[str, Any]) -> None:
        """An EmergencyStop stop reason -> a warning event."""
        if payload.get("reason") != "EmergencyStop" or not self.config.emergency_stop_warning:
            return
        if self._allowed(charger_id, "emergency_stop"):
            self.events.publish(Warning(charger_id, "EmergencyStop", payload["transactionId"]))

    def check_heartbeats(self) -> None:
        """One pass over the connected chargers: flag the silent ones, restore those that spoke again."""
        now = self.clock()
        limit = self.config.heartbeat_timeout_factor * self.ocpp.heartbeat_interval
        for charger_id, last_message in self.last_heard():
            silent_since = self.silent.get(charger_id)
            if silent_since is not None and last_message > silent_since:
                del self.silent[charger_id]
                self.chargers.set_online(charger_id, online=True)
                self.events.publish(HeartbeatRestored(charger_id))
            elif silent_since is None and now - last_message > limit:
                self.silent[charger_id] = now
                self.chargers.set_online(charger_id, online=False)
                if self.config.heartbeat_loss_alert and self._allowed(charger_id, "heartbeat"):
                    silent_for = round(now - last_message)
                    self.events.publish(Alert(charger_id, "HeartbeatLost", silent_for=silent_for))

    async def run(self) -> None:
        """Check heartbeats periodically (a tenth of the timeout, between 1 s and 60 s)."""
        period = min(60.0, max(1.0, self.config.heartbeat_timeout_factor * self.ocpp.heartbeat_interval / 10))
        while True:
            await asyncio.sleep(period)
            self.check_heartbeats()
