"""Id tags and local lists: the idTagInfo answered to Authorize, StartTransaction and StopTransaction.

Tags are held in memory (loaded at start) because every transaction message needs one; the unknown-tag
policy decides for tags the store does not know. Local-list versions and entries change only after the
charger accepted a SendLocalList, and are durable before anything relies on them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voltyard.config import OcppConfig
from voltyard.store.writer import StoreWriter

__all__ = ["Authorization", "IdTag"]

_UPSERT_TAG = """
INSERT INTO id_tags (id_tag, status, expiry_date, parent_id_tag) VALUES (?, ?, ?, ?)
ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, expiry_date = excluded.expiry_date,
    parent_id_tag = excluded.parent_id_tag
"""


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

    def load(self, conn: sqlite3.Connection) -> None:
        for id_tag, status, expiry, parent in conn.execute(
            "SELECT id_tag, status, expiry_date, parent_id_tag FROM id_tags"
        ):
            self.tags[id_tag] = IdTag(id_tag, status, expiry, parent)

    def id_tag_info(self, id_tag: str) -> dict[str, str]:
        """idTagInfo for `id_tag`; unknown tags per the unknown-tag policy (Accepted or Invalid)."""
        tag = self.tags.get(id_tag)
        if tag is None:
            return {"status": "Accepted" if self.config.unknown_id_tag == "accept" else "Invalid"}
        return tag.info(datetime.now(UTC))

    async def put_tag(self, tag: IdTag) -> None:
        """Add or change a tag; durable before it takes effect."""
        await self._store.durable(
            lambda conn: conn.execute(
                _UPSERT_TAG, (tag.id_tag, tag.status, tag.expiry_date, tag.parent_id_tag)
            )
        )
        self.tags[tag.id_tag] = tag

    async def put_tags(self, tags: list[IdTag]) -> None:
        """Add or change many tags in one durable commit (an import): all of them or, on failure, none."""

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                _UPSERT_TAG, [(tag.id_tag, tag.status, tag.expiry_date, tag.parent_id_tag) for tag in tags]
            )

        await self._store.durable(work)
        self.tags.update((tag.id_tag, tag) for tag in tags)

    async def delete_tag(self, id_tag: str) -> bool:
        """Forget a tag (it then gets the unknown-tag policy); False when it was not known."""
        if id_tag not in self.tags:
            return False
        await self._store.durable(
            lambda conn: conn.execute("DELETE FROM id_tags WHERE id_tag = ?", (id_tag,))
        )
        self.tags.pop(id_tag, None)
        return True

    @staticmethod
    def apply_local_list(conn: sqlite3.Connection, charger_id: str, request: dict[str, Any]) -> None:
        """Record an accepted SendLocalList (writer thread): its version and entries, Full or Differential."""
        if request["updateType"] == "Full":
            conn.execute("DELETE FROM local_list WHERE charger_id = ?", (charger_id,))
        for entry in request.get("localAuthorizationList", []):
            info = entry.get("idTagInfo")
            if info is None:  # Differential update without idTagInfo removes the entry
                conn.execute(
                    "DELETE FROM local_list WHERE charger_id = ? AND id_tag = ?", (charger_id, entry["idTag"])
                )
                continue
            conn.execute(
                "INSERT OR REPLACE INTO local_list (charger_id, id_tag, status, expiry_date, parent_id_tag) "
                "VALUES (?, ?, ?, ?, ?)",
                (charger_id, entry["idTag"], info["status"], info.get("expiryDate"), info.get("parentIdTag")),
            )
        conn.execute(
            "UPDATE chargers SET local_list_version = ? WHERE id = ?", (request["listVersion"], charger_id)
        )


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # an unreadable expiry must not expire a tag
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
