"""Every Redis key and channel the cluster uses, named in one place (docs/scale-out.md lists them).

All names start with a prefix (`voltyard` by default) so that one Redis can hold several clusters. The
cluster targets one Redis (or a Sentinel-managed primary): the Lua scripts touch several keys at once, which
Redis Cluster would only allow within one hash slot.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys"]


@dataclass(frozen=True, slots=True)
class Keys:
    """The names under one prefix."""

    prefix: str = "voltyard"

    def node(self, node_id: str) -> str:
        """String, leased (PX): the node is alive; its value is the node's JSON description."""
        return f"{self.prefix}:node:{node_id}"

    @property
    def nodes(self) -> str:
        """Set: the ids of the nodes that registered (an id whose `node` key expired is a dead node)."""
        return f"{self.prefix}:nodes"

    def inbox(self, node_id: str) -> str:
        """Pub/sub channel: calls, answers and "close this charger" messages for one node."""
        return f"{self.prefix}:inbox:{node_id}"

    def charger(self, charger_id: str) -> str:
        """String, leased (PX): the id of the node that holds the charger's socket."""
        return f"{self.prefix}:charger:{charger_id}"

    def call_lock(self, charger_id: str) -> str:
        """String, SET NX with a TTL: the one outstanding CSMS-initiated call of the charger, cluster-wide."""
        return f"{self.prefix}:call:{charger_id}"

    @property
    def events(self) -> str:
        """Stream: the fleet's events, entry id `<seq>-0`."""
        return f"{self.prefix}:events"

    @property
    def event_seq(self) -> str:
        """Integer: the last sequence number given to an event."""
        return f"{self.prefix}:events:seq"

    def lease(self, name: str) -> str:
        """String, leased (PX): `<node id>|<token>` of the singleton's owner."""
        return f"{self.prefix}:lease:{name}"

    def fence(self, name: str) -> str:
        """Integer: the singleton's last fencing token (INCR on every acquisition)."""
        return f"{self.prefix}:fence:{name}"
