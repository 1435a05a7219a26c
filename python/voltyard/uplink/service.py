"""The uplink service: which charge points go upstream, what they queue, how commands come down.

It learns of local events from the event bus (a subscriber: nothing on the hot path waits on it) and puts
them, one at a time and in the order they came, on a worker that queues their messages durably in the store
(voltyard.store.uplink) and wakes the charge point's connection. Meter values are not per-frame events:
every `uplink.meter_interval` seconds, and before a transaction's stop, the readings stored since the last
queued one of each open transaction that goes upstream are queued as one MeterValues, each meterValue as its
charger sent it (so the central system gets the same energy).

Each connection sends its queue oldest first and deletes a message only once the central system answered it
(a StartTransaction's answer also puts the central system's transaction id into the durable map, which the
later messages of that transaction are sent with). A message the central system refuses with a CALLERROR is
logged and dropped: it got it, and sending it again would get the same answer. A message answered but not
yet deleted when the appliance stopped is sent again after the restart (StartTransaction and StopTransaction
are idempotent at an OCPP central system; a MeterValues could come twice).

Commands from the central system go down through the command service (origin "uplink"): every CSMS-initiated
OCPP 1.6 action, with the central system's transaction ids mapped to local ones. A charging profile
(SetChargingProfile, or the one of a RemoteStartTransaction) is capped to the site's share of the charge point
first, and a cap is recorded as the event UplinkProfileCapped: the site limit always wins.

A local charger of OCPP 2.0.1 or 2.1 is presented as a 1.6 charge point (voltyard.uplink.translate): its
statuses in 1.6's words (Occupied is Charging while a transaction is active on the connector, Preparing
otherwise: the uplink follows each connector's transactions in the order of the events, and says Charging or
Preparing again when a transaction starts or ends on an occupied connector), its readings in 1.6's shape; the
core set of the central system's calls is translated to 2.x and the answers back, anything else is refused
with NotSupported.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voltyard.config import UplinkConfig, read_password_file
from voltyard.domain.chargers import Chargers
from voltyard.events.bus import EventBus
from voltyard.events.kinds import (
    COMMAND_ORIGIN,
    ChargerBooted,
    ConnectorStatusChanged,
    Event,
    TransactionForceClosed,
    TransactionReconciled,
    TransactionStarted,
    TransactionStopped,
    UplinkProfileCapped,
    UplinkStateChanged,
    Warning,
)
from voltyard.ocpp.actions import CSMS_ACTIONS
from voltyard.ocpp.codec import load_codec
from voltyard.store import queries
from voltyard.store import uplink as uplink_store
from voltyard.store.connection import Connection
from voltyard.store.meter_log import meter_readings
from voltyard.store.writer import StoreWriter
from voltyard.uplink import messages, translate
from voltyard.uplink.connection import LinkLostError, NotSupportedError, UpstreamLink, UpstreamRefusedError
from voltyard.ws_client import ConnectOptions

__all__ = ["Uplink"]

log = logging.getLogger(__name__)

Call = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
ShareKw = Callable[[str, int], float]
VersionOf = Callable[[str], str]
_STOP_GRACE_S = 5.0
_STOPPED_FLAGS = frozenset({"Stopped", "StoppedAfterReconcile"})


class Uplink:
    """See the module docstring."""

    def __init__(  # noqa: PLR0917 - the services of the composition root, each once
        self,
        config: UplinkConfig,
        store: StoreWriter,
        events: EventBus,
        chargers: Chargers,
        call: Call,
        reader: Callable[[], Connection],
        share_kw: ShareKw,
        own_charge_points: tuple[str, ...] = (),
        *,
        version_of: VersionOf | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._events = events
        self._chargers = chargers
        self._call = call
        self._reader = reader
        self._share_kw = share_kw
        self._own = own_charge_points
        # The OCPP version of a local charger (of its session, or the one it last had: the registry's).
        self._version_of: VersionOf = version_of or (lambda charger_id: "1.6")
        self._remote_start_ids = itertools.count(int(time.time()) % 1_000_000_000)
        self._codec = load_codec()
        passwords = dict(config.passwords)
        if config.password_file is not None:
            passwords = {**read_password_file(config.password_file, "uplink.password_file"), **passwords}
        self._passwords = passwords
        self._options = ConnectOptions(
            url=config.url,
            security_profile=config.security_profile,
            ca_file=config.ca_file,
            cert_file=str(config.cert_file) if config.cert_file else None,
            key_file=str(config.key_file) if config.key_file else None,
            call_timeout=config.call_timeout,
            logger_name="voltyard.uplink",
        )
        self.links: dict[str, UpstreamLink] = {}
        self.queued: dict[str, int] = {}
        self.last_sync: dict[str, float] = {}
        # Local transaction id -> its map entry; central system's id -> local id.
        self._transactions: dict[int, uplink_store.TransactionLink] = {}
        # The meter poll and a stop both read a transaction's readings past its cursor, queue them and move
        # the cursor, with awaits between: one at a time, or a reading could be queued by both.
        self._meters_lock = asyncio.Lock()
        self._local_of: dict[tuple[str, int], int] = {}
        # Each (charger, connector)'s last status as stored and its active transactions, as of the last
        # event the worker handled (a 2.x Occupied is Charging or Preparing by them).
        self._status: dict[tuple[str, int], str] = {}
        self._open_on: dict[tuple[str, int], set[int]] = {}
        self._connector_of: dict[int, tuple[str, int]] = {}
        self._inbox: asyncio.Queue[Event | None] = asyncio.Queue()
        self._conn: Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    # --- life ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        conn = self._conn = self._reader()
        missed = await self._store.durable(uplink_store.unqueued_transactions)
        for link in uplink_store.linked_transactions(conn):
            self._remember(link)
        self.queued = uplink_store.queue_lengths(conn)
        self.last_sync = uplink_store.last_syncs(conn)
        for charger_id, record in self._chargers.records.items():
            for connector_id, state in record.connectors.items():
                self._status[charger_id, connector_id] = state.status
            for active in queries.active_transactions(conn, charger_id):
                self._opened(charger_id, active.connector_id, active.id)
        self._unsubscribe = self._events.subscribe(self._on_event)
        for transaction_id in missed:  # ahead of every new event: they happened before
            self._catch_up(conn, transaction_id)
        for link in [link for link in self._transactions.values() if not link.stopped]:
            row = queries.transaction(conn, link.transaction_id)
            if row is not None and not row.active and row.meter_stop is not None:  # stopped, stop not queued
                self._inbox.put_nowait(
                    TransactionStopped(row.charger_id, row.id, "Stopped", row.meter_stop, row.stop_reason)
                )
        for charger_id in [*self._own, *self._chargers.records]:
            self._ensure_link(charger_id)
        self._tasks = [
            asyncio.create_task(self._work(), name="uplink queue"),
            asyncio.create_task(self._poll_meters(), name="uplink meter values"),
        ]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        # What the local side did before the stop is queued before the store closes (bounded: a store that
        # does not answer must not hold the stop; what is left is caught up at the next start).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_STOP_GRACE_S):
                await self._inbox.join()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for link in self.links.values():
            await link.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _catch_up(self, conn: Connection, transaction_id: int) -> None:
        """A transaction committed, but not queued before the appliance ended: its start (and stop) queued."""
        row = queries.transaction(conn, transaction_id)
        if row is None or not self.config.goes_upstream(row.charger_id):
            return
        log.warning("uplink: transaction %d was not queued before the appliance stopped: queued now", row.id)
        started = TransactionStarted(
            row.charger_id, row.id, row.connector_id, row.id_tag, row.meter_start, row.start_time
        )
        self._inbox.put_nowait(started)
        if not row.active and row.meter_stop is not None:
            self._inbox.put_nowait(
                TransactionStopped(row.charger_id, row.id, "Stopped", row.meter_stop, row.stop_reason)
            )

    def _ensure_link(self, charger_id: str) -> None:
        if charger_id in self.links or not self.config.goes_upstream(charger_id):
            return
        password = self._passwords.get(charger_id, self._passwords.get("*"))
        link = UpstreamLink(
            charger_id,
            self,
            self._codec,
            self._options,
            password,
            backoff=(self.config.backoff_min, self.config.backoff_max),
            call_timeout=self.config.call_timeout,
        )
        self.links[charger_id] = link
        link.start()

    def _opened(self, charger_id: str, connector_id: int, transaction_id: int) -> bool:
        """Follow a transaction active on a connector; True when it is the connector's first."""
        active = self._open_on.setdefault((charger_id, connector_id), set())
        first = not active
        active.add(transaction_id)
        self._connector_of[transaction_id] = (charger_id, connector_id)
        return first

    def _closed(self, transaction_id: int) -> tuple[str, int] | None:
        """The connector whose last active transaction this was, if it was."""
        key = self._connector_of.pop(transaction_id, None)
        if key is None:
            return None
        active = self._open_on.get(key, set())
        active.discard(transaction_id)
        return None if active else key

    def _status_16(self, charger_id: str, connector_id: int, status: str) -> str | None:
        return translate.status_16(status, bool(self._open_on.get((charger_id, connector_id))))

    async def _occupied_status(self, key: tuple[str, int]) -> None:
        """A transaction started or ended on an occupied (2.x) connector: its 1.6 status changed with it."""
        if self._status.get(key) != "Occupied":
            return
        status = self._status_16(*key, "Occupied")
        assert status is not None
        payload = {"connectorId": key[1], "errorCode": "NoError", "status": status,
                   "timestamp": messages.iso(time.time())}  # fmt: skip
        await self._enqueue(key[0], "StatusNotification", payload, None)

    def _moved(self, transaction_id: int, cursor: float, *, stopped: bool) -> None:
        """The transaction's readings up to `cursor` are queued (and its stop, when `stopped`). The link is
        read again: the central system's answer to its start may have mapped its id meanwhile."""
        now = self._transactions[transaction_id]
        self._remember(
            uplink_store.TransactionLink(
                transaction_id,
                now.charger_id,
                now.upstream_id,
                max(cursor, now.meter_cursor),
                stopped or now.stopped,
            )
        )

    def _remember(self, link: uplink_store.TransactionLink) -> None:
        self._transactions[link.transaction_id] = link
        if link.upstream_id is not None:
            self._local_of[link.charger_id, link.upstream_id] = link.transaction_id

    # --- what the API shows ----------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """The uplink for /health: the state of each charge point's link, the queue, the last sync."""
        points = {
            charger_id: {
                "state": link.state,
                "detail": link.detail,
                "queued": self.queued.get(charger_id, 0),
                "last_sync": messages.iso(self.last_sync[charger_id])
                if charger_id in self.last_sync
                else None,
            }
            for charger_id, link in sorted(self.links.items())
        }
        states = {point["state"] for point in points.values()}
        state = "online" if states == {"online"} else "offline" if "online" not in states else "partial"
        last = max(self.last_sync.values(), default=None)
        return {
            "enabled": True,
            "url": self.config.url,
            "state": state if points else "idle",
            "queued": sum(self.queued.values()),
            "last_sync": messages.iso(last) if last is not None else None,
            "charge_points": points,
        }

    # --- local events -> the queue ---------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(
            event,
            ChargerBooted
            | ConnectorStatusChanged
            | TransactionStarted
            | TransactionStopped
            | TransactionReconciled
            | TransactionForceClosed,
        ) and self.config.goes_upstream(event.charger_id or ""):
            self._inbox.put_nowait(event)

    async def _work(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._handle(event)
            except Exception:
                # One event that cannot be queued must not end the uplink for every charge point.
                log.exception("uplink: %s not queued", event.kind if event else "meter values")
            finally:
                self._inbox.task_done()

    async def _handle(self, event: Event | None) -> None:
        if event is None:
            await self._queue_meter_values()
            return
        charger_id = event.charger_id
        assert charger_id is not None
        if isinstance(event, ChargerBooted):
            self._ensure_link(charger_id)
        elif isinstance(event, ConnectorStatusChanged):
            self._status[charger_id, event.connector_id] = event.status
            status = self._status_16(charger_id, event.connector_id, event.status)
            if status is not None:  # a status 1.6 has no word for is not sent
                request = messages.status_request(event, status)
                await self._enqueue(charger_id, "StatusNotification", request, None)
        elif isinstance(event, TransactionStarted):
            first = self._opened(charger_id, event.connector_id, event.transaction_id)
            await self._start(charger_id, event)
            if first:
                await self._occupied_status((charger_id, event.connector_id))
        elif isinstance(event, TransactionReconciled | TransactionForceClosed) or (
            isinstance(event, TransactionStopped) and event.flag in _STOPPED_FLAGS
        ):
            emptied = self._closed(event.transaction_id)
            await self._stop(charger_id, event.transaction_id)
            if emptied is not None:
                await self._occupied_status(emptied)

    async def _enqueue(
        self, charger_id: str, action: str, payload: dict[str, Any], transaction_id: int | None
    ) -> None:
        now = time.time()
        await self._store.durable(
            lambda conn: uplink_store.enqueue(conn, charger_id, action, payload, transaction_id, now)
        )
        self._queued(charger_id, 1)

    def _queued(self, charger_id: str, count: int) -> None:
        self.queued[charger_id] = self.queued.get(charger_id, 0) + count
        self._ensure_link(charger_id)
        self.links[charger_id].wake()

    async def _start(self, charger_id: str, event: TransactionStarted) -> None:
        transaction_id = event.transaction_id
        if transaction_id in self._transactions:  # a replayed start: the same transaction
            return
        payload = messages.start_request(event)
        now = time.time()

        def write(conn: Connection) -> None:
            uplink_store.link_transaction(conn, transaction_id, charger_id)
            uplink_store.enqueue(conn, charger_id, "StartTransaction", payload, transaction_id, now)

        await self._store.durable(write)
        self._remember(uplink_store.TransactionLink(transaction_id, charger_id, None, 0.0, False))
        self._queued(charger_id, 1)

    async def _stop(self, charger_id: str, transaction_id: int) -> None:
        async with self._meters_lock:
            await self._queue_stop(charger_id, transaction_id)

    async def _queue_stop(self, charger_id: str, transaction_id: int) -> None:
        link = self._transactions.get(transaction_id)
        if link is None or link.stopped:
            return  # not one that went upstream, or its stop is queued already
        await self._store.flush()  # the readings received before the stop are committed with it
        conn = self._reader_conn()
        readings = [
            r
            for r in meter_readings(conn, transaction_id=transaction_id)
            if r.received_at > link.meter_cursor
        ]
        row = queries.transaction(conn, transaction_id)
        if row is None or row.meter_stop is None:
            log.warning(
                "uplink: transaction %d stopped without a meter reading: stop not relayed", transaction_id
            )
            return
        stop = messages.stop_request(
            transaction_id, row.meter_stop, row.stop_time or messages.iso(time.time()), row.stop_reason, None
        )
        cursor = max((r.received_at for r in readings), default=link.meter_cursor)
        now = time.time()

        meter = messages.meter_values_request(transaction_id, readings) if readings else None

        def write(conn: Connection) -> None:
            if meter is not None:
                uplink_store.enqueue(conn, charger_id, "MeterValues", meter, transaction_id, now)
            uplink_store.enqueue(conn, charger_id, "StopTransaction", stop, transaction_id, now)
            uplink_store.set_meter_cursor(conn, transaction_id, cursor, True)

        await self._store.durable(write)
        self._moved(transaction_id, cursor, stopped=True)
        self._queued(charger_id, 2 if meter is not None else 1)

    async def _poll_meters(self) -> None:
        while True:
            await asyncio.sleep(self.config.meter_interval)
            self._inbox.put_nowait(None)  # in line with the events, so that a stop's readings come first

    async def _queue_meter_values(self) -> None:
        async with self._meters_lock:
            await self._queue_readings()

    async def _queue_readings(self) -> None:
        conn = self._reader_conn()
        for link in [link for link in self._transactions.values() if not link.stopped]:
            readings = [
                reading
                for reading in meter_readings(conn, transaction_id=link.transaction_id)
                if reading.received_at > link.meter_cursor
            ]
            if not readings:
                continue
            payload = messages.meter_values_request(link.transaction_id, readings)
            cursor = readings[-1].received_at
            now = time.time()
            transaction_id, charger_id = link.transaction_id, link.charger_id

            def write(conn: Connection) -> None:
                if payload is not None:  # noqa: B023 - none that 1.6 can carry: the cursor moves on all the same
                    uplink_store.enqueue(conn, charger_id, "MeterValues", payload, transaction_id, now)  # noqa: B023
                uplink_store.set_meter_cursor(conn, transaction_id, cursor, False)  # noqa: B023

            await self._store.durable(write)
            self._moved(transaction_id, cursor, stopped=False)
            if payload is not None:
                self._queued(charger_id, 1)

    def _reader_conn(self) -> Connection:
        assert self._conn is not None, "the uplink is not started"
        return self._conn

    # --- Authorize, asked of the central system while online --------------------------------------------

    def authorize(self, charger_id: str, id_tag: str) -> Awaitable[dict[str, str] | None] | None:
        """The central system's idTagInfo for a local Authorize (Authorization.upstream): None at once when
        the charge point's link is not online, else what resolves to it, or to None when it could not
        answer within `uplink.authorize_timeout` (the local answer is used then)."""
        link = self.links.get(charger_id)
        if link is None or link.state != "online" or self.config.authorize_timeout <= 0:
            return None
        return self._authorize(link, id_tag)

    async def _authorize(self, link: UpstreamLink, id_tag: str) -> dict[str, str] | None:
        try:
            async with asyncio.timeout(self.config.authorize_timeout):
                answer = await link.call("Authorize", {"idTag": translate.id_tag_16(id_tag)})
        except (LinkLostError, UpstreamRefusedError, TimeoutError) as exc:
            log.info("uplink %s: Authorize answered locally (%s)", link.charger_id, exc or "too late")
            return None
        info: dict[str, str] = answer["idTagInfo"]
        return info

    # --- UplinkOwner: what the connections ask ------------------------------------------------------------

    def boot_request(self, charger_id: str) -> dict[str, Any]:
        record = self._chargers.records.get(charger_id)
        return messages.boot_request(dict(record.boot) if record is not None else {}, charger_id)

    async def booted(self, link: UpstreamLink) -> None:
        """The central system accepted the charge point's boot: queue its connectors' current states, as a
        charge point reports them after a boot (a state that changed while the link was down is queued
        already; this one comes after it, so the last word is the current state)."""
        record = self._chargers.records.get(link.charger_id)
        if record is None or not record.connectors:
            return
        now = time.time()
        states = [
            {"connectorId": connector_id, "errorCode": state.error_code, "status": status,
             "timestamp": messages.iso(now)}
            for connector_id, state in sorted(record.connectors.items())
            if (status := self._status_16(link.charger_id, connector_id, state.status)) is not None
        ]  # fmt: skip
        if not states:
            return

        def write(conn: Connection) -> None:
            for payload in states:
                uplink_store.enqueue(conn, link.charger_id, "StatusNotification", payload, None, now)

        await self._store.durable(write)
        self._queued(link.charger_id, len(states))

    def state_changed(self, charger_id: str, state: str, detail: str | None) -> None:
        if state != "connecting":  # connecting is a moment; the log keeps what lasts
            self._events.publish(UplinkStateChanged(charger_id, state, detail))
        log.info("uplink %s: %s%s", charger_id, state, f" ({detail})" if detail else "")

    async def drain(self, link: UpstreamLink) -> None:
        """Send the charge point's queue, oldest first, until it is empty (or the link is lost: raised)."""
        charger_id = link.charger_id
        while True:
            batch = uplink_store.head(self._reader_conn(), charger_id)
            if not batch:
                return
            for queued in batch:
                payload = self._outgoing(queued)
                upstream_id: int | None = None
                try:
                    answer = await link.call(queued.action, payload)
                except UpstreamRefusedError as exc:
                    log.warning("uplink %s: %s #%d refused upstream (%s): dropped", charger_id, queued.action,
                                queued.seq, exc)  # fmt: skip
                    self._events.publish(Warning(charger_id, "UplinkMessageRefused", queued.transaction_id,
                                                 error=f"{queued.action}: {exc}"))  # fmt: skip
                else:
                    if queued.action == "StartTransaction" and queued.transaction_id is not None:
                        upstream_id = int(answer["transactionId"])
                await self._delivered(queued, upstream_id)

    async def _delivered(self, queued: uplink_store.Queued, upstream_id: int | None) -> None:
        now = time.time()
        transaction_id = queued.transaction_id

        def write(conn: Connection) -> None:
            if upstream_id is not None and transaction_id is not None:
                uplink_store.set_upstream_id(conn, transaction_id, upstream_id)
            uplink_store.delivered(conn, queued.seq, queued.charger_id, now)

        await self._store.durable(write)
        self.queued[queued.charger_id] = max(0, self.queued.get(queued.charger_id, 0) - 1)
        self.last_sync[queued.charger_id] = now
        if upstream_id is not None and transaction_id is not None:
            link = self._transactions.get(transaction_id)
            if link is not None:
                self._remember(
                    uplink_store.TransactionLink(
                        transaction_id, link.charger_id, upstream_id, link.meter_cursor, link.stopped
                    )
                )

    def _outgoing(self, queued: uplink_store.Queued) -> dict[str, Any]:
        """The payload as the central system knows it: its own transaction id for the local one."""
        payload = queued.payload
        if queued.transaction_id is None or "transactionId" not in payload:
            return payload
        link = self._transactions.get(queued.transaction_id)
        if link is None or link.upstream_id is None:
            if queued.action == "MeterValues":  # its start was refused upstream: readings without it
                return {key: value for key, value in payload.items() if key != "transactionId"}
            return payload
        return {**payload, "transactionId": link.upstream_id}

    async def command(self, charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A call from the central system to `charger_id`, down through the command service."""
        if action not in CSMS_ACTIONS:
            raise NotSupportedError(f"{action} is not a central system's OCPP 1.6 action")
        COMMAND_ORIGIN.set("uplink")  # this task's commands are the uplink's (a task of its own)
        version = self._version_of(charger_id)
        # Refused before anything is mapped or capped: nothing of it reaches the charger.
        if version != self.config.ocpp and action not in translate.DOWN_ACTIONS:
            raise NotSupportedError(
                f"{action} is not relayed to an OCPP {version} charger over the OCPP "
                f"{self.config.ocpp} uplink (translated: {', '.join(sorted(translate.DOWN_ACTIONS))})"
            )
        request = dict(payload)
        if action == "RemoteStopTransaction":
            request["transactionId"] = self._local_id(charger_id, int(payload["transactionId"]))
        elif action == "SetChargingProfile":
            profile = dict(request["csChargingProfiles"])
            if "transactionId" in profile:
                profile["transactionId"] = self._local_id(charger_id, int(profile["transactionId"]))
            request["csChargingProfiles"] = profile
            request = self._capped(charger_id, int(request["connectorId"]), request)
        elif action == "RemoteStartTransaction" and "chargingProfile" in request:
            request = self._capped(charger_id, int(request.get("connectorId") or 0), request)
        if version == self.config.ocpp:
            return await self._call(charger_id, action, request)
        try:
            translated = translate.down(
                action,
                request,
                version=version,
                charger_tx_id=lambda local_id: self._charger_tx_id(charger_id, local_id),
                remote_start_id=next(self._remote_start_ids),
            )
        except translate.NotSupportedDownError as exc:
            raise NotSupportedError(str(exc)) from exc
        answer = await self._call(charger_id, translated.action, translated.request)
        return translated.answer_16(answer)

    def _charger_tx_id(self, charger_id: str, local_id: int) -> str | None:
        """A 2.x charger's own transactionId of a local transaction (None: not one of its transactions)."""
        row = queries.transaction(self._reader_conn(), local_id)
        return row.charger_transaction_id if row is not None and row.charger_id == charger_id else None

    def _local_id(self, charger_id: str, upstream_id: int) -> int:
        # An id the map does not know goes down as it came: the charger answers for it (Rejected).
        return self._local_of.get((charger_id, upstream_id), upstream_id)

    def _capped(self, charger_id: str, connector_id: int, request: dict[str, Any]) -> dict[str, Any]:
        cap_kw = self._share_kw(charger_id, connector_id)
        capped = messages.cap_profile(request, cap_kw)
        if capped.changed:
            log.info("uplink %s: profile of %.1f kW capped to the site's share, %.1f kW", charger_id,
                     capped.requested_kw, cap_kw)  # fmt: skip
            self._events.publish(
                UplinkProfileCapped(charger_id, connector_id, capped.requested_kw, cap_kw, capped.unit)
            )
        return capped.request
