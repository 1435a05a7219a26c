"""The composition root: build the store, the domain services, the router and the gateway; run; stop cleanly.

`Appliance` owns the lifecycle. `serve` runs it until SIGINT or SIGTERM: then it stops accepting, closes
every charger connection and flushes the store before returning. A signal during start-up abandons the
start; a second SIGINT while stopping ends the process at once. Whatever fails at start (the data
directory, its lock, the store, a listener's address) raises one VoltyardError naming it, and what had
started is stopped, so that `voltyard serve` prints one line and exits instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from voltyard._native import Plan
from voltyard.api.app import ApiServices, create_app
from voltyard.api.tokens import ensure_tokens
from voltyard.can.config import CabinetConfig
from voltyard.config import Config
from voltyard.domain.authorization import Authorization
from voltyard.domain.boot_storm import BootStorm
from voltyard.domain.cabinet import CabinetBridge
from voltyard.domain.chargers import Chargers
from voltyard.domain.credentials import Credentials
from voltyard.domain.health import Health
from voltyard.domain.site import Site
from voltyard.domain.transactions import ClockSkew, Transactions
from voltyard.errors import StoreError, VoltyardError
from voltyard.events.bus import EventBus
from voltyard.events.kinds import PlanComputed, SiteLimitChanged, Warning
from voltyard.gateway.admission import AuthThrottle
from voltyard.gateway.authentication import Authenticator
from voltyard.gateway.server import Gateway
from voltyard.gateway.tls import server_context
from voltyard.gc_tuning import tune_garbage_collector
from voltyard.loop_monitor import LoopMonitor
from voltyard.loops import loop_factory
from voltyard.metrics import Metrics
from voltyard.ocpp.answers import register_answer_hooks
from voltyard.ocpp.codec import load_codec
from voltyard.ocpp.commands import Commands
from voltyard.ocpp.dispatch import Dispatcher
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.registry import Registry
from voltyard.ocpp.services import Services
from voltyard.ocpp.v16 import build_router
from voltyard.ocpp.v201 import build_lanes
from voltyard.power.cabinet_power import CabinetPower
from voltyard.power.manager import SiteManager
from voltyard.power.plan_view import plan_to_dict
from voltyard.power.ports import SystemClock
from voltyard.store.backends import open_backend
from voltyard.store.connection import Connection
from voltyard.store.data_dir import DataDir
from voltyard.store.db import DB_FILENAME
from voltyard.store.message_log import MessageLog
from voltyard.store.retention import Retention
from voltyard.store.writer import StoreWriter
from voltyard.uplink.service import Uplink

if TYPE_CHECKING:
    from voltyard.sim.plc import SimulatedCabinet, SimulatorThread

__all__ = ["Appliance", "serve"]

log = logging.getLogger("voltyard")

_PRUNE_EVERY_S = 60.0
_SEEN_FLUSH_EVERY_S = 5.0
_STORE_WATCH_EVERY_S = 1.0


class Appliance:
    """One running Voltyard: see the module docstring."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db_path: Path = config.server.data_dir / DB_FILENAME
        self.data_dir = DataDir(config.server.data_dir)
        self.store = StoreWriter(
            open_backend(config.store, config.server.data_dir),
            commit_interval=config.store.telemetry_commit_interval,
            min_free_bytes=config.store.min_free_disk_mb * 2**20,
        )
        self.services: Services | None = None
        self.gateway: Gateway | None = None
        self.commands: Commands | None = None
        self.ocpp_port = 0
        self.tls_port: int | None = None
        self.loop_monitor = LoopMonitor()
        self.registry = Registry()
        self.started_at = time.monotonic()
        self.api_port: int | None = None
        self._api_runner: web.AppRunner | None = None
        self._site: Site | None = None
        self.cabinet: CabinetBridge | None = None
        self.power: SiteManager | None = None
        self.cabinet_power: CabinetPower | None = None
        self.simulated_cabinet: SimulatedCabinet | None = None
        self._plc_simulation: SimulatorThread[SimulatedCabinet] | None = None
        self.uplink: Uplink | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        config = self.config
        where = str(config.source or "<defaults>")
        tls = server_context(config.security, where) if config.security.cert_file is not None else None
        self.data_dir.open()
        await self.store.start()
        events = EventBus(self.store, asyncio.get_running_loop())
        # The store cannot record this alert any more: it goes to live listeners; /health says degraded.
        self.store.when_stopped(
            lambda error: events.notify(
                Warning(None, "StoreWriterStopped", error=f"{type(error).__name__}: {error}")
            )
        )
        chargers = Chargers(config.ocpp, self.store, events)
        authorization = Authorization(config.ocpp, self.store)
        credentials = Credentials(self.store)
        transactions = Transactions(self.store, events, ClockSkew(config.health.clock_skew_tolerance))
        self._site = Site(self.store, events, transactions)
        with contextlib.closing(self.store.backend.open_reader()) as conn:
            for part in (chargers, authorization, credentials, transactions, self._site):
                part.load(conn)
        registry = self.registry
        admission = config.admission
        health = Health(config.health, config.ocpp, chargers, events, registry.last_heard)
        boot_storm = BootStorm(
            admission.boot_storm_rate, admission.pending_interval_min, admission.pending_interval_max
        )
        self.services = Services(
            config, self.store, events, chargers, transactions, authorization, credentials, health, boot_storm
        )
        codec = load_codec()
        message_log = MessageLog(
            self.store,
            max_rows=config.store.message_log_max_rows,
            max_age_days=config.store.message_log_max_age_days,
        )
        throttle = AuthThrottle(config.security.auth_failure_limit, config.security.auth_failure_window)
        metrics = Metrics()
        self.commands = Commands(
            registry, codec, events, message_log, metrics, default_timeout=config.ocpp.call_timeout
        )
        dispatcher = Dispatcher(
            codec,
            build_router(self.services),
            Leniency(config.leniency, chargers, codec),
            self.commands,
            registry,
            chargers,
            events,
            message_log,
            metrics,
            validate_outgoing=config.ocpp.validate_outgoing,
            unknown_accepted=config.ocpp.unknown_charger == "accept",
            lanes=build_lanes(self.services, config.ocpp.versions),
        )
        self.gateway = Gateway(
            config,
            dispatcher,
            Authenticator(
                credentials,
                throttle,
                events,
                config.security.default_profile,
                # Under "reject", unknown ids are refused at the handshake and leave nothing behind.
                known=chargers.records.__contains__ if config.ocpp.unknown_charger == "reject" else None,
            ),
            chargers.max_frame_size,
            self.loop_monitor,
        )
        health.call = self.commands.call
        register_answer_hooks(self.commands, self.services)
        if config.cabinet is not None:
            self.cabinet = CabinetBridge(
                config.cabinet, chargers, transactions, authorization, events, health=health
            )
            self.commands.add_local(config.cabinet.charge_point_id, self.cabinet.call)
            if config.cabinet.simulate_plcs:  # before the drivers, so that the PLCs answer their first frames
                await self._start_simulated_plcs(config.cabinet)
            await self.cabinet.start()
            self.cabinet_power = self._start_cabinet_power(self.cabinet, events)
        if config.power_enabled:
            self.power = SiteManager(
                self._site,
                events,
                self.commands.call,
                transactions,
                SystemClock(),
                # The cabinet's guns' demands, each gun a claimant; its share goes to the planner once the
                # planner drives the modules (until then the guns draw what their EVs ask, and count
                # against the site).
                cabinet_demand_kw=self.cabinet_power.gun_demands_kw if self.cabinet_power else (lambda: 0.0),
                set_cabinet_share=self.cabinet_power.set_cabinet_share
                if self.cabinet_power
                else (lambda kw: None),
                config=config.power,
                # Each charger's profiles in its own OCPP version's shapes (the one it is connected with).
                charger_version=registry.version_of,
                own_charge_points=[config.cabinet.charge_point_id] if config.cabinet else [],
            )
            self.power.start()
        try:
            ports = await self.gateway.start(
                config.server.host, config.server.port, tls, config.security.tls_port
            )
        except OSError as exc:
            raise _listener_error(exc, config, tls is not None) from exc
        if config.uplink.enabled:
            self.uplink = Uplink(
                config.uplink, self.store, events, chargers, self.commands.call, self.read_connection,
                self._site_share_kw, (config.cabinet.charge_point_id,) if config.cabinet else (),
                version_of=self.registry.version_of,
            )  # fmt: skip
            await self.uplink.start()
            authorization.upstream = self.uplink.authorize
        self.ocpp_port = ports[0]
        self.tls_port = ports[1] if len(ports) > 1 else None
        self._tasks = [
            asyncio.create_task(
                self._housekeeping(message_log, Retention(self.store, config.store), chargers)
            ),
            asyncio.create_task(self._watch_store(events)),
            asyncio.create_task(health.run()),
            asyncio.create_task(self.loop_monitor.run()),
        ]
        self.loop_monitor.gc_pauses.install()

    async def start_api(self, host: str, port: int) -> int:
        """Serve the control API (docs/api.md) on host:port; returns the bound port."""
        tokens = ensure_tokens(self.config.server.data_dir)
        self._api_runner = web.AppRunner(create_app(self.api_services(), tokens), access_log=None)
        await self._api_runner.setup()
        site = web.TCPSite(self._api_runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise VoltyardError(f"control API listener http://{host}:{port}: {_bind_reason(exc)}") from exc
        self.api_port = self._api_runner.addresses[0][1]
        return self.api_port

    def api_services(self) -> ApiServices:
        """What the control API uses of this (started) appliance, each service by itself."""
        services, gateway, commands = self.services, self.gateway, self.commands
        assert services is not None, "the appliance is not started"
        assert gateway is not None
        assert commands is not None
        dispatcher = gateway.dispatcher
        return ApiServices(
            chargers=services.chargers,
            transactions=services.transactions,
            authorization=services.authorization,
            credentials=services.credentials,
            site=self.site,
            events=services.events,
            store=self.store,
            commands=commands,
            sessions=self.registry,
            leniency=dispatcher.leniency,
            ocpp_metrics=dispatcher.metrics,
            refused=_Refused(dispatcher, gateway),
            loop_monitor=self.loop_monitor,
            reader=self.read_connection,
            cabinet=self.cabinet_view,
            started_at=self.started_at,
            uplink=self.uplink_view,
            stream_max_buffer=self.config.server.stream_max_buffer,
        )

    @property
    def events(self) -> EventBus:
        assert self.services is not None, "the appliance is not started"
        return self.services.events

    @property
    def site(self) -> Site:
        assert self._site is not None, "the appliance is not started"
        return self._site

    def cabinet_view(self) -> dict[str, object]:
        """The DC cabinet for the API: its guns with their live state, or `configured: false`."""
        if self.cabinet is None:
            return {"configured": False, "guns": [], "slots": [], "modules": [], "plan": None}
        view = self.cabinet.view()
        if self.cabinet_power is not None:
            view.update(self.cabinet_power.view())
        return view

    def uplink_view(self) -> dict[str, object]:
        """The uplink for /health, or `enabled: false`."""
        if self.uplink is None:
            return {"enabled": False, "url": None, "state": "off", "queued": 0, "last_sync": None,
                    "charge_points": {}}  # fmt: skip
        return self.uplink.view()

    def _site_share_kw(self, charger_id: str, connector_id: int) -> float:
        """What a charge point's connector may draw of the site limit: its session's planned share when the
        power manager runs, else the whole limit (the cap of a profile from upstream)."""
        if self.power is not None:
            session = self.power.sessions.get((charger_id, connector_id))
            if session is not None and session.target_kw is not None:
                return session.target_kw
        return self.site.limit_kw

    async def _start_simulated_plcs(self, cabinet: CabinetConfig) -> None:
        """`[cabinet] simulate_plcs`: the cabinet's PLCs simulated in this process (a `virtual` bus is per
        process), on a thread and loop of their own as real PLCs are: a stall of this loop must not stall
        them. The composition root starts them: the domain knows nothing of the simulator."""
        # Imported only when asked for: the simulator is no part of a cabinet with real PLCs.
        from voltyard.sim.plc import SimulatedCabinet, SimulatorThread  # noqa: PLC0415

        self.simulated_cabinet = SimulatedCabinet(cabinet.bus, [gun.plc_id for gun in cabinet.guns])
        name = f"plc-sim {cabinet.charge_point_id}"
        self._plc_simulation = SimulatorThread(self.simulated_cabinet, name=name)
        await self._plc_simulation.start()
        log.warning("cabinet %s: simulated PLCs on %s", cabinet.charge_point_id, cabinet.bus.channel)

    def _start_cabinet_power(self, cabinet: CabinetBridge, events: EventBus) -> CabinetPower:
        """The 100 ms planner over the cabinet: its share comes from the site power manager, or is the whole
        site limit when the manager is off."""

        def publish_plan(plan: Plan) -> None:
            if events.want_live:  # ten a second: built only while a stream client listens
                events.live(PlanComputed(None, **plan_to_dict(plan)))

        share = 0.0 if self.config.power_enabled else self.site.limit_kw
        cabinet_power = CabinetPower(cabinet.link, publish_plan, cabinet_share_kw=share)
        self.site.cabinet_kw = cabinet_power.measured_kw
        self.site.own_charge_points = frozenset({cabinet.charger_id})
        if not self.config.power_enabled:
            events.subscribe(
                lambda event: (
                    cabinet_power.set_cabinet_share(event.limit_kw)
                    if isinstance(event, SiteLimitChanged)
                    else None
                )
            )
        cabinet_power.start()
        return cabinet_power

    async def stop(self) -> None:
        if self.uplink is not None:
            await self.uplink.stop()
            self.uplink = None
        if self._api_runner is not None:
            await self._api_runner.cleanup()
            self._api_runner = None
        if self.cabinet_power is not None:
            self.cabinet_power.stop()
        if self.cabinet is not None:
            await self.cabinet.stop()
        if self._plc_simulation is not None:
            await self._plc_simulation.stop()  # joins its thread
            self._plc_simulation = self.simulated_cabinet = None
        if self.power is not None:
            await self.power.stop()
        self.loop_monitor.gc_pauses.uninstall()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.gateway is not None:
            await self.gateway.stop()
        if self.services is not None:
            self.services.chargers.flush_seen()
        await self.store.close()
        self.data_dir.close()

    def read_connection(self) -> Connection:
        """A read-only connection for queries (beside the writer: SQLite's WAL, PostgreSQL's MVCC)."""
        return self.store.backend.open_reader()

    @property
    def ocpp_url(self) -> str:
        return f"ws://{self.config.server.host}:{self.ocpp_port}/ocpp/{{chargePointId}}"

    @property
    def urls(self) -> str:
        """The listeners, for the ready line."""
        urls = f"OCPP {self.ocpp_url}"
        if self.tls_port is not None:
            urls += f", wss://{self.config.server.host}:{self.tls_port}/ocpp/{{chargePointId}}"
        return urls

    async def _watch_store(self, events: EventBus) -> None:
        """Tell the operator when the store's health changes (voltyard.store.health): one log line and one
        alert (`Warning StoreDegraded`, or `StoreRecovered`) per change, not one per failed commit. The
        writer's stop is told at once by its own callback; this catches failing commits and a filling
        disk within `_STORE_WATCH_EVERY_S`."""
        told: tuple[str, ...] = ()
        while True:
            health = self.store.health()
            if not health.running:
                return  # final until a restart, and told at once by the writer's own callback
            problems = health.problems
            if problems != told:
                if problems:
                    log.error("store degraded: %s; /api/v1/health says so", "; ".join(problems))
                    events.publish(Warning(None, "StoreDegraded", error="; ".join(problems)))
                else:
                    log.warning("store ok again: commits succeed and the volume has room")
                    # On record once the store takes writes again, with what it recovered from (the
                    # StoreDegraded alert may have reached only live listeners).
                    events.publish(Warning(None, "StoreRecovered", error="was: " + "; ".join(told)))
                told = problems
            await asyncio.sleep(_STORE_WATCH_EVERY_S)

    async def _housekeeping(self, message_log: MessageLog, retention: Retention, chargers: Chargers) -> None:
        """Write last-seen times behind every few seconds; prune the message log and the other growing
        tables (voltyard.store.retention) every minute."""
        since_prune = 0.0
        while True:
            await asyncio.sleep(_SEEN_FLUSH_EVERY_S)
            chargers.flush_seen()
            since_prune += _SEEN_FLUSH_EVERY_S
            if since_prune < _PRUNE_EVERY_S:
                continue
            since_prune = 0.0
            try:
                deleted = await message_log.prune()
            except StoreError:
                log.exception("message log pruning failed")
                continue
            if deleted:
                log.info("message log pruned: %d rows", deleted)
            try:
                pruned = await retention.prune()
            except StoreError:
                log.exception("pruning failed")
                continue
            if pruned:
                log.info("pruned: %s", ", ".join(f"{table} {rows} rows" for table, rows in pruned.items()))


async def _serve(config: Config) -> None:
    appliance = Appliance(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if not stop.is_set():
            stop.set()
            return
        if signum != signal.SIGINT:
            # A supervisor repeating SIGTERM gets the clean stop already under way (it ends: nothing in
            # it waits without bound); SIGKILL is its tool for "now".
            log.info("voltyard: %s again, already stopping", signum.name)
            return
        # Ctrl-C twice: the operator will not wait for the clean stop. The default action of SIGINT
        # (restored here) ends the process; what was acknowledged to chargers is already on disk.
        log.warning("voltyard: second SIGINT, stopping at once without flushing telemetry")
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        starting = asyncio.create_task(_start(appliance, config))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # a signal during start-up: abandon it and stop what had started
            log.info("voltyard: signal during start-up, stopping")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            stopped.cancel()
            return
        starting.result()  # a failure to start is raised here
        tune_garbage_collector()
        await stopped
        log.info("voltyard stopping: closing connections and flushing the store")
    finally:
        await appliance.stop()
    log.info("voltyard stopped")


async def _start(appliance: Appliance, config: Config) -> None:
    await appliance.start()
    api_port = await appliance.start_api(config.server.api_host, config.server.api_port)
    log.info(
        "voltyard ready: %s (also /{chargePointId}), control API http://%s:%d/api/v1 (token in %s), "
        "data %s",
        appliance.urls, config.server.api_host, api_port, config.server.data_dir / "api-token-operator",
        appliance.store.where,
    )  # fmt: skip


def _bind_reason(exc: OSError) -> str:
    """What went wrong binding a listener, in words (asyncio's message repeats the address)."""
    if exc.errno == errno.EADDRINUSE:
        return "address already in use (another process listens there)"
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "cannot assign the address (not an address of this host)"
    return os.strerror(exc.errno) if exc.errno else str(exc)


class _Refused:
    """The API's count of refused frames (the dispatcher's) and handshakes (the listeners')."""

    __slots__ = ("_dispatcher", "_gateway")

    def __init__(self, dispatcher: Dispatcher, gateway: Gateway) -> None:
        self._dispatcher = dispatcher
        self._gateway = gateway

    @property
    def frames(self) -> int:
        return self._dispatcher.refused_frames

    @property
    def handshakes(self) -> int:
        return self._gateway.refused_handshakes

    @property
    def unknown_chargers(self) -> int:
        return self._gateway.authenticator.unknown_refused


def _listener_error(exc: OSError, config: Config, with_tls: bool) -> VoltyardError:
    """Which OCPP listener failed: the plain one unless the TLS one is configured and its port is named."""
    host, port, tls_port = config.server.host, config.server.port, config.security.tls_port
    if with_tls and tls_port and f", {tls_port})" in str(exc) and tls_port != port:
        return VoltyardError(f"OCPP TLS listener wss://{host}:{tls_port}: {_bind_reason(exc)}")
    return VoltyardError(f"OCPP listener ws://{host}:{port}: {_bind_reason(exc)}")


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one (each charger is a socket); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def serve(config: Config, loop: str = "uvloop") -> None:
    """Run the appliance until SIGINT/SIGTERM."""
    # Whatever the process creates (the store, its -wal and -shm, tokens) is private to its user.
    os.umask(0o077)
    raise_open_file_limit()
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        runner.run(_serve(config))
