"""The cluster bus on Redis (ARCHITECTURE.md §3 "scale-out", docs/scale-out.md): several nodes share one
fleet. `bus` is the connection and each node's inbox channel, `presence` which node holds which charger,
`routing` commands to the holder node, `fanout` the fleet's events in one order, `leases` singletons under
a fenced lease, `node` one node composed of them, `keys` every Redis key and channel name.

Nothing here runs unless `[cluster] redis` is set: the embedded default needs no Redis. This package sits
beside events/ (it may import events/kinds, errors and config); the runtime wires it in.
"""
