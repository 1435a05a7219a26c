"""One simulated charge point: its connection, its outgoing calls, and the CSMS calls it answers.

The charger keeps at most one call of its own in flight, as OCPP 1.6 requires; the rest wait in a
queue. While it is offline, transaction messages (StartTransaction, StopTransaction and the meter
values of a transaction) stay queued and are replayed in order once it is back; everything else is
dropped and the current connector statuses are sent again after the reconnect. A StopTransaction or
transaction MeterValues queued behind a StartTransaction gets its transactionId when that start is
answered, as on a real charger. Each charger costs a few hundred bytes and timers, no task, except
while it dials.

What the charger does with answers and steps lives in `behaviour`; the CSMS-initiated actions it
answers live in `csms_actions`. A charger speaks OCPP 1.6, 2.0.1 or 2.1 (`version`, the subprotocol the
central system picked from those it offered): the queue and the offline replay are the same for every
version (2.x TransactionEvents are its transaction messages, carrying the id the charger made); the 2.x
messages are built in `v2_messages` and its answers come from `v2_actions`.
"""

from __future__ import annotations

import logging
from collections import deque
from time import perf_counter
from typing import Any

from picows import WSError

from voltyard._native import (
    Call,
    CallResult,
    OcppCodec,
    Send,
    encode_call,
    encode_call_error,
    encode_call_result,
)
from voltyard.errors import OcppError
from voltyard.sim import behaviour, csms_actions, v2_actions
from voltyard.sim.context import FleetContext
from voltyard.sim.evse import Session
from voltyard.sim.link import Link, backoff_delay, negotiated_version, open_link, open_versioned_link
from voltyard.sim.meter import Connector
from voltyard.sim.plan import Step
from voltyard.sim.protocols import DEFAULT_PROTOCOLS
from voltyard.sim.settings import Settings
from voltyard.sim.smart_charging import Profiles
from voltyard.sim.templates import StationTemplate

__all__ = ["TX_ACTIONS", "OutCall", "SimCharger"]

log = logging.getLogger(__name__)

TX_ACTIONS = frozenset({"StartTransaction", "StopTransaction"})
# Transaction messages that carry their own transaction id: 1.6's start (it gets one), 2.x events (the
# charger made it).
_NO_ATTACH = frozenset({"StartTransaction", "TransactionEvent"})


class OutCall:
    """A call of the charger's own, queued or in flight."""

    __slots__ = (
        "action",
        "attempts",
        "connector",
        "load",
        "message_id",
        "offline",
        "payload",
        "queued_at",
        "session",
    )

    def __init__(
        self,
        action: str,
        payload: dict[str, Any],
        queued_at: float,
        session: Session | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.action = action
        self.payload = payload
        self.queued_at = queued_at  # perf_counter(): uvloop's loop.time() ticks in whole milliseconds
        self.session = session  # set for transaction messages: survives offline periods, fills transactionId
        self.connector = connector
        self.message_id = ""
        self.attempts = 0
        self.offline = False  # queued while offline: replayed after the reconnect
        self.load = False  # issued by the load generator, which wants to know when it is done


class SimCharger:
    """See the module docstring."""

    __slots__ = (
        "boot_reason",
        "booted",
        "certificates",
        "charger_id",
        "codec",
        "connectors",
        "ctx",
        "down_until",
        "heartbeat_timer",
        "index",
        "inflight",
        "inflight_timer",
        "link",
        "local_list",
        "local_list_version",
        "needs_boot",
        "plan",
        "plan_pos",
        "plan_timer",
        "profiles",
        "protocols",
        "queue",
        "reconnect_attempt",
        "retry_timer",
        "sample_timer",
        "settings",
        "stopping",
        "template",
        "timer",
        "v2",
        "version",
    )

    def __init__(
        self,
        ctx: FleetContext,
        index: int,
        charger_id: str,
        connectors: int,
        ev_max_kw: float = 11.0,
        *,
        template: StationTemplate | None = None,
        protocols: tuple[str, ...] = DEFAULT_PROTOCOLS,
    ) -> None:
        self.ctx = ctx
        self.index = index
        # The OCPP versions it offers, preferred first; it speaks the one the central system picks
        # (`version`, with its `codec`), known for sure once connected.
        self.protocols = protocols
        self.version = protocols[0]
        self.v2 = self.version != "1.6"
        self.codec: OcppCodec[Any] = ctx.codec_for(self.version)
        self.boot_reason = "PowerUp"  # 2.x: why the next BootNotification is sent (a reset: RemoteReset)
        self.charger_id = charger_id
        self.template = template  # None: the plain simulated charger of `--chargers/--connectors`
        if template is None:
            self.connectors = tuple(Connector(n, ev_max_kw * 1000.0) for n in range(1, connectors + 1))
            self.settings = Settings(connectors, ctx.settings)
        else:
            self.connectors = tuple(
                Connector(
                    spec.connector_id,
                    ev_max_kw * 1000.0,
                    spec.max_kw * 1000.0,
                    phases=spec.phases,
                    measurands=template.measurands,
                    noise=template.noise,
                )
                for spec in template.connectors
            )
            # The station starts with its own configuration keys over the run's.
            self.settings = Settings(len(self.connectors), {**ctx.settings, **template.start_settings()})
        self.profiles: Profiles | None = None
        self.local_list: dict[str, dict[str, Any]] | None = None
        self.local_list_version = 0
        self.certificates: list[dict[str, Any]] | None = None
        self.link: Link | None = None
        self.needs_boot = True  # powered on: the first message on any connection is BootNotification
        self.booted = False
        self.inflight: OutCall | None = None
        self.inflight_timer: Any = None
        self.retry_timer: Any = None
        self.queue: deque[OutCall] | None = None
        self.heartbeat_timer: Any = None
        self.sample_timer: Any = None
        self.timer: Any = None  # reconnect or boot retry
        self.plan: tuple[Step, ...] = ()
        self.plan_pos = 0
        self.plan_timer: Any = None
        self.down_until = 0.0  # loop time until which the network is down (an "offline" step)
        self.reconnect_attempt = 0
        self.stopping = False

    @property
    def online(self) -> bool:
        return self.link is not None

    def connector(self, connector_id: int) -> Connector | None:
        if 1 <= connector_id <= len(self.connectors):
            return self.connectors[connector_id - 1]
        return None

    # --- connection ----------------------------------------------------------------------------

    def start(self) -> None:
        """Dial in (soon); reconnects follow by themselves until `shutdown`."""
        self.ctx.loop.create_task(self._dial())

    async def _dial(self) -> None:
        self.timer = None
        if self.stopping or self.link is not None:
            return
        ctx = self.ctx
        async with ctx.connect_slots:
            if self.stopping:
                return
            try:
                if self.protocols is DEFAULT_PROTOCOLS:
                    link = await open_link(self, ctx.options, self._password())
                else:
                    link = await open_versioned_link(self, ctx.options, self._password(), self.protocols)
            except (OSError, WSError, TimeoutError) as exc:
                ctx.stats.counters.connect_failures += 1
                log.debug("%s: connect failed: %s", self.charger_id, exc)
                ctx.on_connect_failed(self, exc)
                self._reconnect_later()
                return
        if self.stopping or self.ctx.loop.time() < self.down_until:
            link.close(graceful=True)
            return
        if self.protocols is not DEFAULT_PROTOCOLS and not self._negotiate(link):
            return
        self._link_up(link)

    def _negotiate(self, link: Link) -> bool:
        """Speak the version the central system picked; one it did not offer is a failed connection."""
        version = negotiated_version(link, self.protocols)
        if version is None:
            link.close(graceful=True)
            exc = OSError(f"the central system picked none of the subprotocols offered ({self.protocols})")
            self.ctx.stats.counters.connect_failures += 1
            self.ctx.on_connect_failed(self, exc)
            self._reconnect_later()
            return False
        if version != self.version:
            self.version = version
            self.v2 = version != "1.6"
            self.codec = self.ctx.codec_for(version)
        return True

    def _password(self) -> str | None:
        key = self.settings.get("AuthorizationKey")
        return key or self.ctx.options.password_for(self.charger_id)

    def _reconnect_later(self, delay: float | None = None) -> None:
        if self.stopping or self.timer is not None:
            return
        ctx = self.ctx
        if delay is None:
            options = ctx.options
            delay = backoff_delay(
                self.reconnect_attempt, options.backoff_base, options.backoff_cap, ctx.jitter
            )
            self.reconnect_attempt += 1
        self.timer = ctx.loop.call_later(max(delay, self.down_until - ctx.loop.time()), self._redial)

    def _redial(self) -> None:
        self.timer = None
        self.start()

    def _link_up(self, link: Link) -> None:
        self.link = link
        self.reconnect_attempt = 0
        ctx = self.ctx
        ctx.stats.counters.connects += 1
        ctx.on_connected(self)
        if self.needs_boot:
            self.booted = False
            self._transmit(OutCall("BootNotification", behaviour.boot_payload(self), perf_counter()))
        else:
            # Back after a network outage, still running: replay what queued up meanwhile, then show
            # the central system where things stand now.
            self._pump()
            behaviour.send_all_statuses(self)

    def link_down(self, link: Link) -> None:
        """picows reports the socket closed (by either side, or by the network)."""
        if link is not self.link:
            return
        self.link = None
        ctx = self.ctx
        ctx.stats.counters.disconnects += 1
        if ctx.frames is not None:
            ctx.frames.forget(self.charger_id)
        for name in ("heartbeat_timer", "inflight_timer"):
            handle = getattr(self, name)
            if handle is not None:
                handle.cancel()
                setattr(self, name, None)
        out = self.inflight
        self.inflight = None
        queue = self.queue
        lost_load = sum(1 for call in queue if call.load) if queue else 0
        if out is not None and out.load:
            lost_load += 1
        if queue:
            kept = deque(call for call in queue if call.session is not None)
            for call in kept:
                if not call.offline:
                    call.offline = True
                    ctx.stats.counters.offline_queued += 1
            self.queue = queue = kept
        if out is not None and out.session is not None:
            # No answer came: send it again after the reconnect (the central system deduplicates).
            out.offline = True
            if queue is None:
                queue = self.queue = deque()
            queue.appendleft(out)
        self._reconnect_later()
        for _ in range(lost_load):
            ctx.on_load_answered(self)  # a closed loop hands its slot to another charger

    def shutdown(self) -> None:
        """Stop for good: no reconnect, timers cancelled, socket closed."""
        self.stopping = True
        for name in (
            "heartbeat_timer",
            "sample_timer",
            "timer",
            "plan_timer",
            "retry_timer",
            "inflight_timer",
        ):
            handle = getattr(self, name)
            if handle is not None:
                handle.cancel()
                setattr(self, name, None)
        link = self.link
        if link is not None:
            self.link = None
            link.close(graceful=True)

    def drop(self, down_for: float = 0.0) -> None:
        """Lose the connection abruptly (no close handshake); the network stays down `down_for` seconds."""
        if down_for > 0:
            self.down_until = self.ctx.loop.time() + down_for
        link = self.link
        if link is not None:
            link.close(graceful=False)
            self.link_down(link)
        elif self.timer is not None and down_for > 0:
            self.timer.cancel()
            self.timer = None
            self._reconnect_later(down_for)

    # --- outgoing calls ------------------------------------------------------------------------

    def call(
        self,
        action: str,
        payload: dict[str, Any],
        session: Session | None = None,
        connector: Connector | None = None,
        *,
        front: bool = False,
        load: bool = False,
    ) -> None:
        """Send a call now, or queue it; see the module docstring for what offline does to it."""
        out = OutCall(action, payload, perf_counter(), session, connector)
        out.load = load
        online = self.link is not None
        if online and self.booted and self.inflight is None and self.retry_timer is None and not self.queue:
            if self._attach_transaction(out):
                self._transmit(out)
            return
        if not online:
            if session is None:
                return  # not kept while offline: statuses are sent afresh after the reconnect
            if action == "TransactionEvent":
                payload["offline"] = True  # 2.x: the event happened while the charger was offline
            out.offline = True
            self.ctx.stats.counters.offline_queued += 1
        queue = self.queue
        if queue is None:
            queue = self.queue = deque()
        if front:
            queue.appendleft(out)
        else:
            queue.append(out)

    def _pump(self) -> None:
        queue = self.queue
        while (
            queue
            and self.inflight is None
            and self.booted
            and self.link is not None
            and self.retry_timer is None
        ):
            out = queue.popleft()
            if self._attach_transaction(out):
                self._transmit(out)

    def _attach_transaction(self, out: OutCall) -> bool:
        """Fill a transaction message's transactionId from its session, sent at once or queued alike; False
        when its StartTransaction failed for good and there is nothing to attach it to."""
        if out.session is None or out.action in _NO_ATTACH:
            return True
        if out.session.transaction_id is None:
            self.ctx.stats.failed(out.action, "NoTransactionId")
            return False
        out.payload["transactionId"] = out.session.transaction_id
        return True

    def _transmit(self, out: OutCall) -> None:
        link = self.link
        if link is None:
            return
        ctx = self.ctx
        out.message_id = message_id = str(next(ctx.message_ids))
        out.attempts += 1
        if out.offline:
            out.queued_at = perf_counter()  # a replay's latency is its round trip, not the outage
        data = encode_call(message_id, out.action, out.payload)
        if not link.send(data):
            return
        if ctx.frames is not None:
            ctx.frames.sent(self.charger_id, data)
        self.inflight = out
        ctx.stats.counters.calls += 1
        self.inflight_timer = ctx.loop.call_later(ctx.options.call_timeout, self._timed_out, out)

    def _timed_out(self, out: OutCall) -> None:
        if self.inflight is out:
            self.inflight_timer = None
            self.ctx.stats.counters.timeouts += 1
            self._failed(out, "Timeout")

    def _failed(self, out: OutCall, code: str) -> None:
        self.inflight = None
        stats = self.ctx.stats
        stats.failed(out.action, code)
        stats.counters.call_errors += 1
        if out.session is not None and out.attempts < self.settings.integer("TransactionMessageAttempts"):
            # Transaction messages are retried in order: nothing else goes until this one has.
            delay = self.settings.integer("TransactionMessageRetryInterval") * out.attempts
            self.retry_timer = self.ctx.loop.call_later(delay, self._retry, out)
            return
        behaviour.failed(self, out, code)
        if out.load:
            self.ctx.on_load_answered(self)
        self._pump()

    def _retry(self, out: OutCall) -> None:
        self.retry_timer = None
        queue = self.queue
        if queue is None:
            queue = self.queue = deque()
        queue.appendleft(out)
        self._pump()

    # --- incoming frames -----------------------------------------------------------------------

    def receive(self, link: Link, data: bytes) -> None:
        if link is not self.link:
            return
        if self.ctx.frames is not None:
            self.ctx.frames.received(self.charger_id, data)
        inflight = self.inflight
        try:
            message = self.codec.decode(data, inflight.action if inflight is not None else None)
        except OcppError as exc:
            self._refused(exc)
            return
        if isinstance(message, CallResult):
            if inflight is not None and message.message_id == inflight.message_id:
                self._answered(inflight, message.payload)
        elif isinstance(message, Call):
            self._csms_call(message)
        elif isinstance(message, Send):
            self.ctx.stats.failed(f"server:{message.action}", "UnexpectedSend")  # a charger's message
        elif inflight is not None and message.message_id == inflight.message_id:
            self._cancel_inflight_timer()
            self._failed(inflight, message.code)

    def _refused(self, exc: OcppError) -> None:
        """A frame from the central system that is not valid OCPP-J 1.6: answered or counted, never fatal."""
        inflight = self.inflight
        if exc.message_type == 2 and exc.message_id is not None:
            self.ctx.stats.failed(f"server:{exc.action or '?'}", exc.code)
            self._send(encode_call_error(exc.message_id, exc.code, exc.description[:255], {}))
        elif exc.message_type == 3 and inflight is not None and exc.message_id == inflight.message_id:
            self._cancel_inflight_timer()
            self._failed(inflight, f"InvalidAnswer:{exc.code}")
        else:
            self.ctx.stats.failed("server:frame", exc.code)

    def _cancel_inflight_timer(self) -> None:
        if self.inflight_timer is not None:
            self.inflight_timer.cancel()
            self.inflight_timer = None

    def _answered(self, out: OutCall, payload: dict[str, Any]) -> None:
        self._cancel_inflight_timer()
        self.inflight = None
        ctx = self.ctx
        ctx.stats.answered(out.action, perf_counter() - out.queued_at)
        if out.offline:
            ctx.stats.counters.replayed_answered += 1
        behaviour.answered(self, out, payload)
        if out.load:
            ctx.on_load_answered(self)
        self._pump()

    def _csms_call(self, call: Call) -> None:
        action = call.action
        self.ctx.stats.csms_calls[action] += 1
        try:
            if self.v2:
                answer = v2_actions.answer(self, action, call.payload)
            else:
                answer = csms_actions.answer(self, action, call.payload)
        except OcppError as exc:
            self._send(encode_call_error(call.message_id, exc.code, exc.description[:255], {}))
            return
        self._send(encode_call_result(call.message_id, answer))

    def _send(self, data: bytes) -> None:
        if self.link is not None and self.link.send(data) and self.ctx.frames is not None:
            self.ctx.frames.sent(self.charger_id, data)

    # --- after boot ------------------------------------------------------------------------------

    def accepted(self, interval: int) -> None:
        """BootNotification Accepted: heartbeats at the given interval, statuses, then the queue."""
        self.needs_boot = False
        self.booted = True
        if interval > 0:
            self.settings.change("HeartbeatInterval", str(interval))
        self.schedule_heartbeat()
        self._pump()
        behaviour.send_all_statuses(self)
        self.ctx.on_booted(self)

    def schedule_heartbeat(self) -> None:
        if self.heartbeat_timer is not None:
            self.heartbeat_timer.cancel()
            self.heartbeat_timer = None
        interval = self.settings.integer("HeartbeatInterval")
        if interval > 0 and self.link is not None:
            self.heartbeat_timer = self.ctx.loop.call_later(interval, self._heartbeat)

    def _heartbeat(self) -> None:
        self.heartbeat_timer = None
        if self.link is not None and self.booted:
            self.call("Heartbeat", {})
            self.schedule_heartbeat()

    def retry_boot(self, interval: int) -> None:
        """Boot Pending or Rejected: nothing but a new BootNotification after `interval` seconds."""
        self.timer = self.ctx.loop.call_later(max(1, interval), self._boot_again)

    def _boot_again(self) -> None:
        self.timer = None
        if self.link is not None and not self.booted and self.inflight is None:
            self._transmit(OutCall("BootNotification", behaviour.boot_payload(self), perf_counter()))
