"""The console's only network code: the control API's REST routes and its msgpack event stream.

`ApiClient` turns each documented route (docs/api.md) into one typed method and every error body into an
`ApiError` carrying the API's status, code and message, so screens can show the appliance's own words
(a 422's schema complaint, a 502's CALLERROR code). `follow_stream` and `poll_health` are the long-running
loops the app runs as workers: they post `messages.py` messages and never touch a widget.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import msgpack
from textual.message import Message

from voltyard_tui.messages import HealthUpdated, StreamConnected, StreamEventReceived, StreamLost
from voltyard_tui.models import (
    Alert,
    Cabinet,
    Charger,
    ChargerDetail,
    Event,
    Exchange,
    Health,
    IdTag,
    Site,
    Transaction,
)

__all__ = [
    "API_PATH",
    "ApiClient",
    "ApiError",
    "ApiUnreachableError",
    "Backoff",
    "Export",
    "follow_stream",
    "poll_health",
]

API_PATH = "/api/v1"

Post = Callable[[Message], object]


def _segment(value: str) -> str:
    """`value` as one URL path segment: an id holding `/`, `?`, `#` or `%` (an id tag may hold any of
    them) once addressed another route or another record."""
    return quote(value, safe="")


class ApiError(Exception):
    """The API answered with an error body (`{"error": {status, code, message, details}}`)."""

    def __init__(
        self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class ApiUnreachableError(Exception):
    """No answer at all: the appliance is down, restarting, or the URL is wrong."""


@dataclass(frozen=True, slots=True)
class Export:
    """A downloaded message-log export."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: doubling from `base` up to `cap`, so a restarting appliance is not hammered."""

    base: float = 0.5
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0 ** max(0, attempt - 1))


def _filename(disposition: str, default: str) -> str:
    _, _, rest = disposition.partition("filename=")
    name = rest.split(";")[0].strip().strip('"')
    # Only a base name: the server does not get to choose where the console writes.
    return name.rsplit("/", 1)[-1] or default


def _params(**values: object) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value == "":
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class ApiClient:
    """A client of one appliance's control API, authenticated with one bearer token."""

    def __init__(self, base_url: str, token: str, *, request_timeout: float = 45.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        # Longer than the API's default command timeout (30 s) so the charger's timeout wins and shows as 504.
        self._timeout = aiohttp.ClientTimeout(total=request_timeout, sock_connect=5.0)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self._token}"}, timeout=self._timeout
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{API_PATH}{path}"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        text: str | None = None,
        content_type: str = "application/json",
    ) -> aiohttp.ClientResponse:
        try:
            if text is not None:
                response = await self.session.request(
                    method, self.url(path), params=params, data=text.encode(),
                    headers={"Content-Type": content_type},
                )  # fmt: skip
            else:
                response = await self.session.request(
                    method, self.url(path), params=params, json=body if body is not None else None
                )
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ApiUnreachableError(f"{self.base_url}: {exc or type(exc).__name__}") from exc
        if response.status >= 400:
            async with response:
                raise await self._error(response)
        return response

    @staticmethod
    async def _error(response: aiohttp.ClientResponse) -> ApiError:
        try:
            error = (await response.json(content_type=None))["error"]
            return ApiError(
                int(error.get("status", response.status)),
                str(error.get("code", "error")),
                str(error.get("message", "")),
                error.get("details") or {},
            )
        except (ValueError, KeyError, TypeError, AttributeError, aiohttp.ContentTypeError):
            # Not one of the API's error bodies (a proxy page, say): still an error, with its reason.
            return ApiError(response.status, "http_error", response.reason or f"HTTP {response.status}")

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        text: str | None = None,
        content_type: str = "application/json",
    ) -> Any:  # noqa: ANN401 - JSON is Any by nature; the typed methods below narrow it
        """One JSON request; raises `ApiError` for an error answer and `ApiUnreachableError` for none."""
        response = await self._send(
            method, path, params=params, body=body, text=text, content_type=content_type
        )
        async with response:
            if response.status == 204:
                return None
            try:
                return await response.json(content_type=None)
            except ValueError as exc:
                raise ApiError(response.status, "bad_response", f"not JSON: {exc}") from exc

    async def health(self) -> Health:
        return Health.from_json(await self.request("GET", "/health"))

    async def site(self) -> Site:
        return Site.from_json(await self.request("GET", "/site"))

    async def set_site_limit(self, limit_kw: float, operator: str) -> Site:
        """Change the shared limit; the appliance audits it as SiteLimitChanged with the operator's name."""
        body = {"limit_kw": limit_kw, "operator": operator}
        return Site.from_json(await self.request("PUT", "/site", body=body))

    async def chargers(
        self,
        *,
        q: str = "",
        status: str | None = None,
        registration: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[Charger], int]:
        params = _params(q=q, status=status, registration=registration, limit=limit, offset=offset)
        data = await self.request("GET", "/chargers", params=params)
        return [Charger.from_json(c) for c in data["items"]], int(data.get("total", len(data["items"])))

    async def all_chargers(self) -> list[Charger]:
        """Every charger, page by page (the API caps a page at 1000)."""
        found: list[Charger] = []
        while True:
            page, total = await self.chargers(offset=len(found))
            found.extend(page)
            if not page or len(found) >= total:
                return found

    async def charger(self, charger_id: str) -> ChargerDetail:
        return ChargerDetail.from_json(await self.request("GET", f"/chargers/{_segment(charger_id)}"))

    async def set_registration(self, charger_id: str, registration: str, operator: str) -> Charger:
        """Accept, reject or set pending a charger's registration (audited with the operator's name)."""
        body = {"registration": registration, "operator": operator}
        return Charger.from_json(
            await self.request("PUT", f"/chargers/{_segment(charger_id)}/registration", body=body)
        )

    async def set_security(
        self, charger_id: str, profile: int, password: str | None, operator: str
    ) -> dict[str, Any]:
        """Security profile 0-3 of a charger; profiles 1 and 2 take the Basic-auth password."""
        body: dict[str, Any] = {"profile": profile, "operator": operator}
        if password:
            body["password"] = password
        return dict(await self.request("PUT", f"/chargers/{_segment(charger_id)}/security", body=body))

    async def send_local_list(self, charger_id: str, update_type: str, operator: str) -> dict[str, Any]:
        """SendLocalList built by the appliance from its id tags; the charger's answer."""
        body = {"update_type": update_type, "operator": operator}
        data = await self.request("POST", f"/chargers/{_segment(charger_id)}/local-list/send", body=body)
        return dict(data.get("answer") or data)

    async def transactions(
        self,
        *,
        active: bool | None = None,
        charger_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
    ) -> list[Transaction]:
        params = _params(active=active, charger_id=charger_id, since=since, until=until, limit=limit)
        data = await self.request("GET", "/transactions", params=params)
        return [Transaction.from_json(t) for t in data["items"]]

    async def force_close(self, transaction_id: int, meter_stop: int, operator: str) -> Transaction:
        """Close an open transaction the charger never stopped (audited with the operator's name)."""
        body = {"meter_stop": meter_stop, "operator": operator}
        data = await self.request("POST", f"/transactions/{transaction_id}/force-close", body=body)
        return Transaction.from_json(data)

    async def id_tags(self) -> list[IdTag]:
        data = await self.request("GET", "/id-tags")
        return [IdTag.from_json(t) for t in data["items"]]

    async def put_id_tag(
        self,
        id_tag: str,
        *,
        status: str,
        expiry_date: str | None,
        parent_id_tag: str | None,
        operator: str,
    ) -> IdTag:
        """Add or change a tag (`expiry_date` ISO 8601 or None); audited with the operator's name."""
        body = {
            "status": status,
            "expiry_date": expiry_date,
            "parent_id_tag": parent_id_tag,
            "operator": operator,
        }
        return IdTag.from_json(await self.request("PUT", f"/id-tags/{_segment(id_tag)}", body=body))

    async def delete_id_tag(self, id_tag: str, operator: str) -> None:
        await self.request("DELETE", f"/id-tags/{_segment(id_tag)}", params=_params(operator=operator))

    async def import_id_tags(self, csv_text: str, operator: str) -> int:
        """Import a CSV (header id_tag,status,expiry_date,parent_id_tag); all rows or none."""
        data = await self.request(
            "POST",
            "/id-tags/import",
            params=_params(operator=operator),
            text=csv_text,
            content_type="text/csv",
        )
        return int(data.get("imported", 0))

    async def alerts(self, *, state: str = "open", limit: int = 200) -> list[Alert]:
        """Alerts newest first; `state` open | acknowledged | all."""
        data = await self.request("GET", "/alerts", params=_params(state=state, limit=limit))
        return [Alert.from_json(a) for a in data["items"]]

    async def ack_alert(self, seq: int, operator: str) -> Alert:
        data = await self.request("POST", f"/alerts/{seq}/ack", body={"operator": operator})
        return Alert.from_json(data)

    async def messages(
        self,
        *,
        charger_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
        limit: int = 100,
    ) -> list[Exchange]:
        """The message log, newest first."""
        params = _params(charger_id=charger_id, action=action, direction=direction, limit=limit)
        data = await self.request("GET", "/messages", params=params)
        return [Exchange.from_json(m) for m in data["items"]]

    async def export_messages(
        self,
        fmt: str,
        *,
        charger_id: str | None = None,
        action: str | None = None,
        direction: str | None = None,
    ) -> Export:
        params = _params(format=fmt, charger_id=charger_id, action=action, direction=direction)
        response = await self._send("GET", "/messages/export", params=params)
        async with response:
            content = await response.read()
            disposition = response.headers.get("Content-Disposition", "")
        return Export(_filename(disposition, f"voltyard-messages.{fmt}"), content)

    async def events(
        self, *, after: int = 0, limit: int = 500, category: Iterable[str] = ()
    ) -> tuple[list[Event], int]:
        params = _params(after=after, limit=limit, category=",".join(category))
        data = await self.request("GET", "/events", params=params)
        return [Event.from_json(e) for e in data["items"]], int(data.get("next", after))

    async def latest_events(self, count: int, *, category: Iterable[str] = ()) -> tuple[list[Event], int]:
        """The newest `count` events (oldest first) and the newest seq: recent history, not seq 0's."""
        params = _params(latest=count, category=",".join(category))
        data = await self.request("GET", "/events", params=params)
        return [Event.from_json(e) for e in data["items"]], int(data.get("next", 0))

    async def cabinet(self) -> Cabinet:
        return Cabinet.from_json(await self.request("GET", "/cabinet"))

    async def command(
        self, charger_id: str, action: str, payload: Mapping[str, Any], *, timeout: int | None = None
    ) -> dict[str, Any]:
        """Send a CSMS-initiated action; the charger's answer, or `ApiError` (422, 409, 502, 504, ...)."""
        params = _params(timeout=timeout)
        data = await self.request(
            "POST",
            f"/chargers/{_segment(charger_id)}/commands/{_segment(action)}",
            params=params,
            body=dict(payload),
        )
        return dict(data.get("answer") or {})

    async def raw(
        self, charger_id: str, action: str, payload: Mapping[str, Any], *, validate: bool
    ) -> dict[str, Any]:
        """Send any CALL, schema-checked by the appliance or (validate=False) deliberately not."""
        body = {"action": action, "payload": dict(payload), "validate": validate}
        data = await self.request("POST", f"/chargers/{_segment(charger_id)}/raw", body=body)
        return dict(data.get("answer") or {})

    @contextlib.asynccontextmanager
    async def stream(
        self, kinds: Iterable[str] = (), chargers: Iterable[str] = ()
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """Open the event stream; yields an iterator of its events that ends when the server closes it."""
        params = _params(kinds=",".join(kinds), chargers=",".join(chargers))
        try:
            ws = await self.session.ws_connect(self.url("/stream"), params=params, heartbeat=30.0)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise ApiError(401, "unauthorized", "the API refused the token") from exc
            raise ApiError(exc.status, "handshake_refused", exc.message or "stream refused") from exc
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ApiUnreachableError(f"{self.base_url}: {exc or type(exc).__name__}") from exc

        async def events() -> AsyncIterator[Event]:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.BINARY:
                    decoded = msgpack.unpackb(message.data)
                    if isinstance(decoded, dict):
                        yield Event.from_json(decoded)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    return

        try:
            yield events()
        finally:
            await ws.close()


async def follow_stream(
    client: ApiClient,
    post: Post,
    *,
    name: str = "events",
    kinds: Iterable[str] = (),
    on_connect: Callable[[], Awaitable[None]] | None = None,
    backoff: Backoff = Backoff(),
) -> None:
    """Keep the stream `name` open for ever, posting its events; on loss, say so and retry with backoff.

    The stream is opened before `on_connect` fetches the snapshot, so no event falls between the two:
    anything after the snapshot arrives on the stream (applying a status twice is harmless).
    """
    kinds = tuple(kinds)
    attempt = 0
    while True:
        try:
            async with client.stream(kinds) as events:
                attempt = 0
                post(StreamConnected(name))
                if on_connect is not None:
                    await on_connect()
                async for event in events:
                    post(StreamEventReceived(name, event))
            reason = "the appliance closed the stream"
        except (ApiError, ApiUnreachableError, aiohttp.ClientError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
        attempt += 1
        delay = backoff.delay(attempt)
        post(StreamLost(name, reason, delay, attempt))
        await asyncio.sleep(delay)


async def poll_health(client: ApiClient, post: Post, *, interval: float) -> None:
    """Fetch /health and /site every `interval` seconds (the sparkline's samples).

    Failures are dropped silently: the stream loop is the one that tells the operator the API is gone.
    """
    while True:
        with contextlib.suppress(ApiError, ApiUnreachableError, aiohttp.ClientError, ValueError, KeyError):
            health = await client.health()
            site = await client.site()
            post(HealthUpdated(health, site))
        await asyncio.sleep(interval)
