"""The control API: REST JSON under /api/v1, a msgpack event stream, Prometheus metrics (docs/api.md)."""
