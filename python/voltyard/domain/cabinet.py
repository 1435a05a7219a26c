"""The DC cabinet as a charge point of the central system: its guns are the connectors of one charger
(`[cabinet] charge_point_id`, "CABINET" by default), whose sessions are transactions in the same store,
authorised by id tag or by the EV's own identities (its EMAID, EVCCID or MAC: `identity_tags`), and
visible through the same services and API as any networked charger's.

`CabinetBridge` receives what the PLC drivers report (`voltyard.can.listener.CabinetListener`) and turns
it into the domain's calls; `call` answers the CSMS-initiated actions that make sense for a gun
(RemoteStart/StopTransaction, ChangeAvailability, UnlockConnector) the way a networked charger would,
and Get/ChangeConfiguration with the PLCs' runtime parameters (`voltyard.can.params`: ConfigCmd,
confirmed by ConfigAck); Reset, UpdateFirmware and GetDiagnostics get the honest answers of a cabinet
whose PLCs can do none of them (docs/can.md, "The cabinet's charge point").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from voltyard.can.config import CabinetConfig, GunConfig
from voltyard.can.frames import ConfigOp, IdKind
from voltyard.can.link import CabinetLink
from voltyard.can.listener import (
    FaultCleared,
    FaultRaised,
    IdentityReceived,
    MeterSample,
    SessionStarted,
    SessionStopped,
    StatusChanged,
)
from voltyard.can.params import PARAMETERS, BadValueError, PlcParameter, parameter_for_key
from voltyard.domain.authorization import Authorization
from voltyard.domain.chargers import Chargers
from voltyard.domain.transactions import Transactions
from voltyard.errors import ActionNotSupportedError, CanCommTimeoutError, CanConfigRejectedError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import Alert, AutoCharge, GunFaultCleared

if TYPE_CHECKING:
    from voltyard.domain.health import Health

__all__ = ["CabinetBridge"]

# OCPP connector status -> the planner's session state, for the console's ring view.
_SESSIONS = {
    "Preparing": "preparing",
    "Charging": "charging",
    "SuspendedEV": "suspended",
    "SuspendedEVSE": "suspended",
    "Finishing": "finishing",
}

log = logging.getLogger(__name__)


# The EV's identities tried for authorization, in this order (docs/can.md, "Authorization"): a contract
# (EMAID, what a card's id tag names: who pays) before the vehicle (EVCCID, which the EV sends itself in
# ISO 15118, then the MAC its SLAC link layer shows: AutoCharge).
IDENTITY_ORDER = (IdKind.EMAID0, IdKind.EMAID1, IdKind.EVCCID, IdKind.EVMAC)
ID_TAG_MAX = 20  # OCPP 1.6 IdToken: CiString20


def identity_tag(kind: IdKind, value: bytes) -> str | None:
    """The id tag of one EV identity, or None when it cannot be one: an EMAID as its text (ISO 15118's
    hyphens dropped, upper case: `DE-ABC-C123456-7` is `DEABCC1234567`), an EVCCID as `EVCCID` and its
    hex, a MAC as `MAC` and its hex (AutoCharge)."""
    if kind in (IdKind.EMAID0, IdKind.EMAID1):
        text = value.rstrip(b"\0").decode("ascii", "replace").replace("-", "").upper()
        ok = 0 < len(text) <= ID_TAG_MAX and text.isascii() and text.isalnum()
        return text if ok else None
    if not value:
        return None
    prefix = "EVCCID" if kind is IdKind.EVCCID else "MAC"
    tag = prefix + value.hex().upper()
    return tag if len(tag) <= ID_TAG_MAX else None


def identity_tags(identities: dict[IdKind, bytes]) -> list[str]:
    """The id tags of an EV's identities, in the order they are tried (`IDENTITY_ORDER`)."""
    tags = [identity_tag(kind, identities[kind]) for kind in IDENTITY_ORDER if kind in identities]
    return list(dict.fromkeys(tag for tag in tags if tag is not None))


def _stamp(_at: float) -> str:
    # Driver events carry loop time; transactions want wall-clock UTC, and the event is handled at once.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CabinetBridge:
    """See the module docstring."""

    def __init__(
        self,
        config: CabinetConfig,
        chargers: Chargers,
        transactions: Transactions,
        authorization: Authorization,
        events: EventBus,
        *,
        health: Health | None = None,
    ) -> None:
        self.config = config
        self.charger_id = config.charge_point_id
        self.chargers = chargers
        self.transactions = transactions
        self.authorization = authorization
        self.events = events
        # Seed 000's responses to a stopped transaction (the EmergencyStop warning), as for a networked
        # charger's StopTransaction.
        self.health = health
        self.link = CabinetLink(config, self)
        self.power_kw: dict[int, float] = {}
        self.meters: dict[int, MeterSample] = {}
        self._transaction: dict[int, asyncio.Future[int]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    async def start(self) -> None:
        record = self.chargers.get(self.charger_id)
        record.registration = "Accepted"
        record.online = True
        record.boot = {"chargePointVendor": "Voltyard", "chargePointModel": "DC cabinet"}
        await self.link.start()

    async def stop(self) -> None:
        await self.link.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cabinet_kw(self) -> float:
        return sum(self.power_kw.values())

    def _background(self, future: asyncio.Future[Any], what: str) -> None:
        def done(finished: asyncio.Future[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("cabinet: %s failed", what, exc_info=finished.exception())

        self._tasks.add(future)
        future.add_done_callback(done)

    # --- CabinetListener ---------------------------------------------------------------------

    def status_changed(self, event: StatusChanged) -> None:
        self.chargers.status(
            self.charger_id,
            {
                "connectorId": event.connector_id,
                "status": str(event.status),
                "errorCode": str(event.error_code),
                "info": event.info or None,
                "timestamp": _stamp(event.at),
            },
        )

    def session_started(self, event: SessionStarted) -> None:
        payload = {
            "connectorId": event.connector_id,
            "idTag": event.id_tag[:20],
            "meterStart": event.meter_start_wh,
            "timestamp": _stamp(event.at),
        }
        started = self.transactions.start(self.charger_id, payload)
        self._transaction[event.connector_id] = started
        self._background(started, "StartTransaction")

    def session_stopped(self, event: SessionStopped) -> None:
        started = self._transaction.pop(event.connector_id, None)
        if started is None:
            log.warning("cabinet: gun %d stopped a session it never started", event.connector_id)
            return

        async def stop() -> None:
            transaction_id = await started
            payload = {
                "transactionId": transaction_id,
                "meterStop": event.meter_stop_wh,
                "timestamp": _stamp(event.at),
                "reason": str(event.reason),
                "idTag": event.id_tag[:20],
            }
            await self.transactions.stop(self.charger_id, payload)
            if self.health is not None:
                self.health.on_stop(self.charger_id, payload)

        self._background(asyncio.ensure_future(stop()), "StopTransaction")
        self.power_kw.pop(event.connector_id, None)

    def fault_raised(self, event: FaultRaised) -> None:
        self.events.publish(
            Alert(self.charger_id, "GunFault", event.connector_id, fault=str(event.kind), detail=event.detail)
        )

    def fault_cleared(self, event: FaultCleared) -> None:
        self.events.publish(GunFaultCleared(self.charger_id, event.connector_id, str(event.kind)))

    def identity_received(self, event: IdentityReceived) -> None:
        """An identity of the plugged EV is complete: it is tried (an AutoCharge event says with what
        status), and the gun is authorised with the first Accepted of the EV's identities in
        `IDENTITY_ORDER` known so far, unless a session runs or the gun was authorised otherwise (an
        operator's RemoteStart). Identities arrive one by one: a better one arriving before the session
        starts takes the place of a lesser one."""
        tag = identity_tag(event.kind, event.value)
        if tag is None:
            log.warning(
                "cabinet: gun %d: %s %r is no id tag; ignored",
                event.connector_id,
                event.kind.name,
                event.value,
            )
            return
        status = self.authorization.id_tag_info(tag)["status"]
        self.events.publish(AutoCharge(self.charger_id, event.connector_id, tag, status))
        driver = self.link.driver(event.connector_id)
        tags = identity_tags(driver.identity.completed)
        if driver.session is not None or (driver.authorized is not None and driver.authorized not in tags):
            return
        for candidate in tags:
            if candidate == driver.authorized:
                return  # already authorised with the best accepted one
            if self.authorization.id_tag_info(candidate)["status"] == "Accepted":
                driver.authorize(candidate)
                return

    def meter_sample(self, event: MeterSample) -> None:
        self.meters[event.connector_id] = event
        self.power_kw[event.connector_id] = event.power_kw
        started = self._transaction.get(event.connector_id)
        transaction_id = (
            started.result() if started is not None and started.done() and not started.exception() else None
        )
        self.transactions.meter_values(
            self.charger_id,
            {
                "connectorId": event.connector_id,
                "transactionId": transaction_id,
                "meterValue": [
                    {
                        "timestamp": _stamp(event.at),
                        "sampledValue": [
                            {
                                "value": str(event.energy_wh),
                                "unit": "Wh",
                                "measurand": "Energy.Active.Import.Register",
                            },
                            {
                                "value": f"{event.power_kw:.3f}",
                                "unit": "kW",
                                "measurand": "Power.Active.Import",
                            },
                            {"value": f"{event.voltage_v:.1f}", "unit": "V", "measurand": "Voltage"},
                            {"value": f"{event.current_a:.2f}", "unit": "A", "measurand": "Current.Import"},
                        ],
                    }
                ],
            },
        )

    # --- CSMS-initiated actions for the cabinet's charge point ---------------------------------

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 (per action)
        """Answer an action addressed to the cabinet as a networked charger would."""
        if action == "RemoteStartTransaction":
            connector = payload.get("connectorId") or self.config.guns[0].connector_id
            try:
                self.link.driver(connector).authorize(payload["idTag"])
            except KeyError:
                return {"status": "Rejected"}
            return {"status": "Accepted"}
        if action == "RemoteStopTransaction":
            for connector, started in list(self._transaction.items()):
                # A start may still be on its way to disk (its id is known to whoever asks only once it is).
                with contextlib.suppress(Exception):
                    if await asyncio.wait_for(asyncio.shield(started), 5.0) == payload["transactionId"]:
                        return {
                            "status": "Accepted" if self.link.driver(connector).remote_stop() else "Rejected"
                        }
            return {"status": "Rejected"}
        if action == "ChangeAvailability":
            available = payload["type"] == "Operative"
            guns = [g.connector_id for g in self.config.guns if payload["connectorId"] in (0, g.connector_id)]
            for connector in guns:
                self.link.driver(connector).set_available(available)
            return {"status": "Accepted" if guns else "Rejected"}
        if action == "UnlockConnector":
            return {"status": "NotSupported"}  # the gun's lock follows the session; there is no manual unlock
        if action in ("GetConfiguration", "ChangeConfiguration", "Reset", "GetDiagnostics"):
            return await self._device_call(action, payload)
        raise ActionNotSupportedError(f"{action} is not supported by the DC cabinet")

    async def _device_call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The actions about the cabinet itself rather than a gun (docs/can.md, "The cabinet's charge
        point"). UpdateFirmware is not among them: the contract has no firmware transfer to a PLC, and
        its empty answer could not say Rejected, so `call` answers it with a CALLERROR NotSupported."""
        if action == "GetConfiguration":
            return await self._get_configuration(payload.get("key"))
        if action == "ChangeConfiguration":
            return await self._change_configuration(payload["key"], payload["value"])
        if action == "Reset":
            # The PLCs have no reset in the contract (configs/plc.dbc) and the cabinet's software is this
            # appliance: restarting it is the operator's reset, not a charge point's.
            return {"status": "Rejected"}
        # GetDiagnostics without a fileName (OCPP 1.6: no diagnostics available): the cabinet has no
        # file to upload, so no DiagnosticsStatusNotification follows; /cabinet and the events are its
        # diagnostics.
        return {}

    async def _get_configuration(self, keys: list[str] | None) -> dict[str, Any]:
        """Every asked key's value as its PLC acknowledges it now (a ConfigCmd GET each); all keys
        when none is asked. A key whose PLC does not answer is listed without a value."""
        wanted: list[tuple[str, GunConfig, PlcParameter]] = []
        unknown: list[str] = []
        guns = {gun.connector_id: gun for gun in self.config.guns}
        if keys is None or not keys:
            wanted = [(f"Gun{g.connector_id}.{p.name}", g, p) for g in self.config.guns for p in PARAMETERS]
        for key in keys or ():
            found = parameter_for_key(key)
            if found is None or found[0] not in guns:
                unknown.append(key)
            else:  # named as the cabinet spells it (OCPP keys are case-insensitive)
                wanted.append((f"Gun{found[0]}.{found[1].name}", guns[found[0]], found[1]))

        async def read(key: str, gun: GunConfig, parameter: PlcParameter) -> dict[str, Any]:
            entry: dict[str, Any] = {"key": key, "readonly": parameter.read_only}
            driver = self.link.drivers.get(gun.plc_id)
            if driver is None:
                return entry
            try:
                entry["value"] = parameter.to_ocpp(await driver.configure(parameter.param))
            except (CanCommTimeoutError, CanConfigRejectedError) as exc:
                log.warning("cabinet: GetConfiguration %s: %s", key, exc)
            return entry

        # One PLC's parameters in turn (its acks are matched by parameter), the PLCs side by side.
        async def read_gun(entries: list[tuple[str, GunConfig, PlcParameter]]) -> list[dict[str, Any]]:
            return [await read(*entry) for entry in entries]

        by_plc: dict[int, list[tuple[str, GunConfig, PlcParameter]]] = {}
        for entry in wanted:
            by_plc.setdefault(entry[1].plc_id, []).append(entry)
        read_all = await asyncio.gather(*(read_gun(entries) for entries in by_plc.values()))
        answer: dict[str, Any] = {"configurationKey": [e for entries in read_all for e in entries]}
        if unknown:
            answer["unknownKey"] = unknown
        return answer

    async def _change_configuration(self, key: str, value: str) -> dict[str, Any]:
        """A ConfigCmd SET, Accepted once the PLC's ConfigAck confirms the value. OCPP 1.6's answers:
        NotSupported for a key the cabinet does not have, Rejected for a read-only key, a value out of
        the parameter's range (neither sent to the PLC) or one the PLC refuses or does not confirm."""
        found = parameter_for_key(key)
        guns = {gun.connector_id: gun for gun in self.config.guns}
        if found is None or found[0] not in guns:
            return {"status": "NotSupported"}
        connector_id, parameter = found
        try:
            if parameter.read_only:
                raise BadValueError(f"{parameter.name} is read-only")
            raw = parameter.from_ocpp(value)
        except BadValueError as exc:
            log.info("cabinet: ChangeConfiguration %s rejected: %s", key, exc)
            return {"status": "Rejected"}
        driver = self.link.drivers.get(guns[connector_id].plc_id)
        if driver is None:  # the link is not up (the bus would not open): nothing can confirm it
            return {"status": "Rejected"}
        try:
            confirmed = await driver.configure(parameter.param, ConfigOp.SET, raw)
        except (CanCommTimeoutError, CanConfigRejectedError) as exc:
            log.warning("cabinet: ChangeConfiguration %s: %s", key, exc)
            return {"status": "Rejected"}
        if confirmed != raw:
            log.warning("cabinet: ChangeConfiguration %s: the PLC confirmed %d, not %d", key, confirmed, raw)
            return {"status": "Rejected"}
        return {"status": "Accepted"}

    def view(self) -> dict[str, Any]:
        """Guns with their live state, for the API's /cabinet (docs/api.md, "Cabinet")."""
        guns = []
        for index, gun in enumerate(self.config.guns):
            driver = self.link.drivers.get(gun.plc_id)
            meter = self.meters.get(gun.connector_id)
            driver_faults = driver.faults if driver is not None else {}
            # The truth about the link: a PLC never heard from, or one the driver has a comm fault with,
            # is not "ok" (without it, safety cannot be known either).
            comm_ok = (
                driver is not None
                and driver.frames_received > 0
                and not any(kind.is_comm for kind in driver_faults)
            )
            guns.append(
                {
                    "index": index,
                    "name": gun.label or f"{self.charger_id}/{gun.connector_id}",
                    "connector_id": gun.connector_id,
                    "plc_id": gun.plc_id,
                    "status": str(driver.status) if driver is not None else "Unavailable",
                    "session": _SESSIONS.get(str(driver.status), "idle") if driver is not None else "idle",
                    "voltage_v": meter.voltage_v if meter else 0.0,
                    "current_a": meter.current_a if meter else 0.0,
                    "power_kw": meter.power_kw if meter else 0.0,
                    "energy_wh": meter.energy_wh if meter else 0,
                    "max_power_kw": gun.max_power_kw,
                    "safety_ok": comm_ok and not any(not kind.is_comm for kind in driver_faults),
                    "comm_ok": comm_ok,
                }
            )
        return {
            "configured": True,
            "charge_point_id": self.charger_id,
            "guns": guns,
            "slots": [],
            "modules": [],
            "plan": None,
            "updated": time.time(),
        }
