"""One charge point's connection to the central system: connect, boot, send the queue, heartbeat, answer.

The connection is a charge point's: `{url}/{chargePointId}` with the `ocpp1.6` subprotocol, the charge
point's Basic auth key, the configured TLS material (the shared client, voltyard.ws_client). After each
connect it sends BootNotification (the charge point's stored boot data) until the central system accepts
it (a Pending or Rejected boot is retried at the interval it names), has the owner queue the charge
point's current connector states (a central system learns them after each boot), then sends what is
queued, oldest first, one call at a time, and a Heartbeat at the interval the boot answer named. A
connection that cannot be made, closes, answers garbage or too late is dropped and made again after a
backoff (exponential, with jitter, `uplink.backoff_min`..`backoff_max`); nothing queued is lost meanwhile.
Calls from the central system go to the owner (`UplinkOwner.command`), which answers them through the
local command service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from typing import Any, Protocol

from picows import WSError

from voltyard._native import (
    Call,
    CallError,
    CallResult,
    OcppCodec,
    encode_call,
    encode_call_error,
    encode_call_result,
)
from voltyard.errors import CallErrorReceivedError, CommandError, OcppError
from voltyard.ws_client import ConnectOptions, Link, backoff_delay, open_link

__all__ = ["LinkLostError", "UplinkOwner", "UpstreamLink", "UpstreamRefusedError"]

log = logging.getLogger(__name__)


class LinkLostError(Exception):
    """The connection went away, or its central system answered garbage or too late: connect again."""


class UpstreamRefusedError(Exception):
    """The central system answered a call with a CALLERROR (it got the message and refused it)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class NotSupportedError(Exception):
    """A call from the central system the uplink does not take (answered NotSupported)."""


class UplinkOwner(Protocol):
    """What a connection needs of the uplink that owns it."""

    def boot_request(self, charger_id: str) -> dict[str, Any]: ...

    async def booted(self, link: UpstreamLink) -> None: ...

    async def drain(self, link: UpstreamLink) -> None: ...

    async def command(self, charger_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def state_changed(self, charger_id: str, state: str, detail: str | None) -> None: ...


class UpstreamLink:
    """The connection of one charge point; see the module docstring."""

    def __init__(
        self,
        charger_id: str,
        owner: UplinkOwner,
        codec: OcppCodec,
        options: ConnectOptions,
        password: str | None,
        *,
        backoff: tuple[float, float],
        call_timeout: float,
    ) -> None:
        self.charger_id = charger_id
        self.state = "connecting"
        self.detail: str | None = None
        self._owner = owner
        self._codec = codec
        self._options = options
        self._password = password
        self._backoff = backoff
        self._call_timeout = call_timeout
        self._link: Link | None = None
        self._inflight: tuple[str, str, asyncio.Future[dict[str, Any]]] | None = None
        self._wake = asyncio.Event()
        self._down = asyncio.Event()
        self._heartbeat_s = 300.0
        self._rng = random.Random()
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        # One call at a time on the connection (OCPP-J): the queue's and an Authorize take turns.
        self._call_lock = asyncio.Lock()
        self._online_once = False  # this connection got its boot accepted (the next retry is quick again)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"uplink {self.charger_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._tasks):
            task.cancel()
        self._close()

    def wake(self) -> None:
        """Something was queued: send it now if online."""
        self._wake.set()

    # --- the connection's life --------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            if self.state != "offline":
                # A retry while offline stays offline (until the reason changes or it connects): an event and
                # a log line per attempt and charge point would bury the log during an outage.
                self._set_state("connecting", None)
            try:
                link = await open_link(self, self._options, self._password)
            except (OSError, WSError, TimeoutError) as exc:
                self._set_state("offline", _why(exc))
            else:
                self._link = link
                self._down.clear()
                try:
                    await self._session()
                except LinkLostError as exc:
                    self._set_state("offline", str(exc))
                finally:
                    self._close()
                if self._online_once:
                    attempt = 0  # it was up: the first retry is quick again
            delay = backoff_delay(attempt, self._backoff[0], self._backoff[1], self._rng)
            attempt += 1
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        self._online_once = False
        while True:
            answer = await self.call("BootNotification", self._owner.boot_request(self.charger_id))
            interval = float(answer.get("interval") or 0)
            if answer.get("status") == "Accepted":
                break
            self._set_state("pending", f"boot {answer.get('status')}")
            await self._sleep_or_down(max(interval, self._backoff[0]))
        self._heartbeat_s = interval if interval > 0 else 300.0
        self._online_once = True
        self._set_state("online", None)
        await self._owner.booted(self)
        beat_at = time.monotonic() + self._heartbeat_s
        while True:
            self._wake.clear()
            await self._owner.drain(self)
            if time.monotonic() >= beat_at:
                await self.call("Heartbeat", {})
                beat_at = time.monotonic() + self._heartbeat_s
            wake = asyncio.ensure_future(self._wake.wait())
            down = asyncio.ensure_future(self._down.wait())
            try:
                await asyncio.wait({wake, down}, timeout=max(0.0, beat_at - time.monotonic()),
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                wake.cancel()
                down.cancel()
            if self._down.is_set():
                raise LinkLostError("connection closed")

    async def _sleep_or_down(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._down.wait(), seconds)
        if self._down.is_set():
            raise LinkLostError("connection closed")

    def _set_state(self, state: str, detail: str | None) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        self._owner.state_changed(self.charger_id, state, detail)

    def _close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close(graceful=True)
        self._fail_inflight(LinkLostError("connection closed"))

    def _fail_inflight(self, error: Exception) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None and not inflight[2].done():
            inflight[2].set_exception(error)

    # --- calls to the central system ----------------------------------------------------------------------

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send `action` and return the central system's validated answer.

        Raises:
            LinkLostError: not connected, the connection went away, or no valid answer in time.
            UpstreamRefusedError: the central system answered with a CALLERROR.
        """
        async with self._call_lock:
            return await self._call(action, payload)

    async def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        link = self._link
        if link is None:
            raise LinkLostError("not connected")
        message_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._inflight = (message_id, action, future)
        if not link.send(encode_call(message_id, action, payload)):
            self._inflight = None
            raise LinkLostError("connection closed")
        try:
            return await asyncio.wait_for(future, self._call_timeout)
        except TimeoutError:
            raise LinkLostError(f"no answer to {action} within {self._call_timeout:g} s") from None
        finally:
            if self._inflight is not None and self._inflight[0] == message_id:
                self._inflight = None

    # --- LinkOwner: what the websocket reports --------------------------------------------------------------

    def receive(self, link: Link, data: bytes) -> None:
        if link is not self._link:
            return
        inflight = self._inflight
        try:
            message = self._codec.decode(data, inflight[1] if inflight is not None else None)
        except OcppError as exc:
            if exc.message_type == 2 and exc.message_id is not None:
                link.send(encode_call_error(exc.message_id, exc.code, exc.description[:255], {}))
            elif inflight is not None and exc.message_id == inflight[0]:
                self._fail_inflight(LinkLostError(f"garbage answer to {inflight[1]}: {exc.description}"))
            else:
                log.warning("uplink %s: frame refused: %s", self.charger_id, exc)
            return
        if type(message) is Call:
            task = asyncio.create_task(self._answer(link, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        assert isinstance(message, CallResult | CallError)
        if inflight is None or message.message_id != inflight[0]:
            log.warning(
                "uplink %s: answer to an unknown call %s dropped", self.charger_id, message.message_id
            )
            return
        self._inflight = None
        if type(message) is CallError:
            inflight[2].set_exception(UpstreamRefusedError(message.code, message.description))
        else:
            inflight[2].set_result(message.payload)

    def link_down(self, link: Link) -> None:
        if link is self._link:
            self._down.set()
            self._fail_inflight(LinkLostError("connection closed"))

    async def _answer(self, link: Link, call: Call) -> None:
        """A call from the central system: the local charge point's answer goes back, or a CALLERROR."""
        try:
            answer = await self._owner.command(self.charger_id, call.action, call.payload)
        except NotSupportedError as exc:
            frame = encode_call_error(call.message_id, "NotSupported", str(exc)[:255], {})
        except CallErrorReceivedError as exc:
            frame = encode_call_error(call.message_id, exc.code, exc.description[:255], {})
        except CommandError as exc:
            frame = encode_call_error(call.message_id, "GenericError", str(exc)[:255], {})
        except Exception:
            # The central system gets an answer whatever went wrong here, and the log says what.
            log.exception("uplink %s: %s from the central system failed", self.charger_id, call.action)
            frame = encode_call_error(
                call.message_id, "InternalError", f"{call.action} could not be handled", {}
            )
        else:
            frame = encode_call_result(call.message_id, answer)
        link.send(frame)


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "connect timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)
