"""Id tags and local lists: the idTagInfo answered to Authorize, StartTransaction and StopTransaction.

Tags are held in memory (loaded at start) because every transaction message needs one; the unknown-tag
policy decides for tags the store does not know. Local-list versions and entries change only after the
charger accepted a SendLocalList, and are durable before anything relies on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from voltyard.config import OcppConfig
from voltyard.store import id_tags
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["Authorization", "IdTag", "UpstreamAuthorize"]

UpstreamAuthorize = Callable[[str, str], Awaitable[dict[str, str] | None] | None]


@dataclass(frozen=True, slots=True)
class IdTag:
    """A known id tag."""

    id_tag: str
    status: str = "Accepted"
    expiry_date: str | None = None
    parent_id_tag: str | None = None

    def info(self, now: datetime) -> dict[str, str]:
        """The OCPP idTagInfo for this tag at `now` (an accepted tag past its expiry is Expired)."""
        status = self.status
        if status == "Accepted" and self.expiry_date is not None and _parse_time(self.expiry_date) <= now:
            status = "Expired"
        info = {"status": status}
        if self.expiry_date is not None:
            info["expiryDate"] = self.expiry_date
        if self.parent_id_tag is not None:
            info["parentIdTag"] = self.parent_id_tag
        return info


class Authorization:
    """Answers idTagInfo and keeps the tag table and the per-charger local lists."""

    def __init__(self, config: OcppConfig, store: StoreWriter) -> None:
        self.config = config
        self._store = store
        self.tags: dict[str, IdTag] = {}
        # The operator's central system, when an uplink is configured (voltyard.uplink): `upstream(charger_id,
        # id_tag)` is None while the charge point's link is not online, else what resolves to the central
        # system's idTagInfo, or to None when it could not answer (the local answer is used then).
        self.upstream: UpstreamAuthorize | None = None

    def load(self, conn: Connection) -> None:
        for id_tag, status, expiry, parent in id_tags.load_tags(conn):
            self.tags[id_tag] = IdTag(id_tag, status, expiry, parent)

    def id_tag_info(self, id_tag: str) -> dict[str, str]:
        """idTagInfo for `id_tag`; unknown tags per the unknown-tag policy (Accepted or Invalid)."""
        tag = self.tags.get(id_tag)
        if tag is None:
            return {"status": "Accepted" if self.config.unknown_id_tag == "accept" else "Invalid"}
        return tag.info(datetime.now(UTC))

    async def put_tag(self, tag: IdTag) -> None:
        """Add or change a tag; durable before it takes effect."""
        await self.put_tags([tag])

    async def put_tags(self, tags: list[IdTag]) -> None:
        """Add or change many tags in one durable commit (an import): all of them or, on failure, none."""
        rows = [(tag.id_tag, tag.status, tag.expiry_date, tag.parent_id_tag) for tag in tags]
        await self._store.durable(lambda conn: id_tags.upsert_tags(conn, rows))
        self.tags.update((tag.id_tag, tag) for tag in tags)

    async def delete_tag(self, id_tag: str) -> bool:
        """Forget a tag (it then gets the unknown-tag policy); False when it was not known."""
        if id_tag not in self.tags:
            return False
        await self._store.durable(lambda conn: id_tags.delete_tag(conn, id_tag))
        self.tags.pop(id_tag, None)
        return True


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # an unreadable expiry must not expire a tag
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
