"""Prometheus text exposition (format 0.0.4) of the appliance's counters and gauges."""

from __future__ import annotations

from aiohttp import web

from voltyard.api.keys import (
    CHARGERS,
    LOOP_MONITOR,
    OCPP_METRICS,
    REFUSED,
    SESSIONS,
    SITE,
    STORE,
    STREAM,
    TRANSACTIONS,
)
from voltyard.api.views import is_faulted
from voltyard.gc_tuning import GcPauses
from voltyard.loop_monitor import LAG_BUCKETS
from voltyard.metrics import HANDLING_BUCKETS

__all__ = ["metrics_handler", "render_metrics"]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(request: web.Request) -> str:
    app = request.app
    metrics, refused = app[OCPP_METRICS], app[REFUSED]
    records = app[CHARGERS].records.values()
    online = sum(1 for record in records if record.online)
    faulted = sum(1 for record in records if is_faulted(record))
    lines = [
        "# HELP voltyard_connections Charger websocket connections open now.",
        "# TYPE voltyard_connections gauge",
        f"voltyard_connections {len(app[SESSIONS])}",
        "# HELP voltyard_chargers Known chargers by state.",
        "# TYPE voltyard_chargers gauge",
        f'voltyard_chargers{{state="online"}} {online}',
        f'voltyard_chargers{{state="offline"}} {len(records) - online}',
        f'voltyard_chargers{{state="faulted"}} {faulted}',
        "# HELP voltyard_messages_total OCPP calls by action and direction (in: from chargers).",
        "# TYPE voltyard_messages_total counter",
    ]
    for (action, direction), count in sorted(metrics.messages.items()):
        lines.append(f'voltyard_messages_total{{action="{_label(action)}",direction="{direction}"}} {count}')
    lines += [
        "# HELP voltyard_frames_refused_total Frames the codec refused (answered with CALLERROR or dropped).",
        "# TYPE voltyard_frames_refused_total counter",
        f"voltyard_frames_refused_total {refused.frames}",
        "# HELP voltyard_handshakes_refused_total Handshakes refused (id, protocol, auth, admission).",
        "# TYPE voltyard_handshakes_refused_total counter",
        f"voltyard_handshakes_refused_total {refused.handshakes}",
        "# HELP voltyard_handshakes_refused_unknown_total Of those, unknown ids (unknown_charger = reject).",
        "# TYPE voltyard_handshakes_refused_unknown_total counter",
        f"voltyard_handshakes_refused_unknown_total {refused.unknown_chargers}",
        "# HELP voltyard_connections_paused_total Times a charger connection stopped being read, by reason"
        " (message_rate, control_frames: over its rate; unsent: not reading its answers).",
        "# TYPE voltyard_connections_paused_total counter",
    ]
    for reason, count in sorted(metrics.connections_paused.items()):
        lines.append(f'voltyard_connections_paused_total{{reason="{_label(reason)}"}} {count}')
    lines += [
        "# HELP voltyard_connections_closed_total Charger connections closed for what they sent or left"
        " unread, by reason.",
        "# TYPE voltyard_connections_closed_total counter",
    ]
    for reason, count in sorted(metrics.connections_closed.items()):
        lines.append(f'voltyard_connections_closed_total{{reason="{_label(reason)}"}} {count}')
    lines += [
        "# HELP voltyard_stream_clients_dropped_total Event-stream clients dropped for leaving too much"
        " unread.",
        "# TYPE voltyard_stream_clients_dropped_total counter",
        f"voltyard_stream_clients_dropped_total {app[STREAM].dropped_clients}",
        "# HELP voltyard_call_errors_total CALLERRORs sent, by code.",
        "# TYPE voltyard_call_errors_total counter",
    ]
    for code, count in sorted(metrics.call_errors.items()):
        lines.append(f'voltyard_call_errors_total{{code="{_label(code)}"}} {count}')
    lines += [
        "# HELP voltyard_handling_seconds Time from a CALL's arrival to its answer.",
        "# TYPE voltyard_handling_seconds histogram",
    ]
    cumulative = 0
    for bound, count in zip((*HANDLING_BUCKETS, float("inf")), metrics.handling_counts, strict=True):
        cumulative += count
        le = "+Inf" if bound == float("inf") else repr(bound)
        lines.append(f'voltyard_handling_seconds_bucket{{le="{le}"}} {cumulative}')
    lines += [
        f"voltyard_handling_seconds_sum {metrics.handling_sum}",
        f"voltyard_handling_seconds_count {cumulative}",
        "# HELP voltyard_transactions_active Transactions open now.",
        "# TYPE voltyard_transactions_active gauge",
        f"voltyard_transactions_active {sum(len(o) for o in app[TRANSACTIONS].open.values())}",
        "# HELP voltyard_site_power_kw Power drawn by the site now (chargers' meters plus the cabinet).",
        "# TYPE voltyard_site_power_kw gauge",
        f"voltyard_site_power_kw {app[SITE].power_kw()}",
        "# HELP voltyard_site_limit_kw The site's grid limit.",
        "# TYPE voltyard_site_limit_kw gauge",
        f"voltyard_site_limit_kw {app[SITE].limit_kw}",
        "# HELP voltyard_event_loop_lag_seconds Worst event-loop lag since the previous scrape.",
        "# TYPE voltyard_event_loop_lag_seconds gauge",
        f"voltyard_event_loop_lag_seconds {app[LOOP_MONITOR].take_max()}",
        "# HELP voltyard_store_commits_total Commits of the store's writer thread.",
        "# TYPE voltyard_store_commits_total counter",
        f"voltyard_store_commits_total {app[STORE].commits}",
    ]
    lines += _overload_lines(app)
    return "\n".join(lines) + "\n"


def _overload_lines(app: web.Application) -> list[str]:
    """Handshakes by outcome, messages held by the loop's budget, and the event loop's lag and stalls."""
    metrics, monitor = app[OCPP_METRICS], app[LOOP_MONITOR]
    lines = [
        "# HELP voltyard_handshakes_total Websocket handshakes by outcome (accepted, refused, timed_out).",
        "# TYPE voltyard_handshakes_total counter",
    ]
    for outcome in ("accepted", "refused", "timed_out"):
        lines.append(f'voltyard_handshakes_total{{outcome="{outcome}"}} {metrics.handshakes.get(outcome, 0)}')
    lines += [
        "# HELP voltyard_messages_deferred_total Chargers paused with a message held to a later turn of the "
        "event loop (its per-turn budget was spent).",
        "# TYPE voltyard_messages_deferred_total counter",
        f"voltyard_messages_deferred_total {metrics.messages_deferred}",
        "# HELP voltyard_event_loop_stalls_total Event-loop lag samples over the stall threshold (100 ms).",
        "# TYPE voltyard_event_loop_stalls_total counter",
        f"voltyard_event_loop_stalls_total {monitor.stalls}",
        "# HELP voltyard_event_loop_lag_samples_seconds The event loop's lag, sampled every 50 ms.",
        "# TYPE voltyard_event_loop_lag_samples_seconds histogram",
    ]
    cumulative = 0
    for bound, count in zip((*LAG_BUCKETS, float("inf")), monitor.lag_counts, strict=True):
        cumulative += count
        le = "+Inf" if bound == float("inf") else repr(bound)
        lines.append(f'voltyard_event_loop_lag_samples_seconds_bucket{{le="{le}"}} {cumulative}')
    lines += [
        f"voltyard_event_loop_lag_samples_seconds_sum {monitor.lag_sum}",
        f"voltyard_event_loop_lag_samples_seconds_count {cumulative}",
    ]
    return lines + _gc_lines(monitor.gc_pauses)


def _gc_lines(pauses: GcPauses) -> list[str]:
    """The garbage collector's runs and pauses by generation: a stall of the loop that lines up with one
    is the collector's."""
    worst = pauses.take_worst()
    return [
        "# HELP voltyard_gc_collections_total Runs of Python's cyclic garbage collector, by generation.",
        "# TYPE voltyard_gc_collections_total counter",
        *(f'voltyard_gc_collections_total{{generation="{g}"}} {n}' for g, n in enumerate(pauses.collections)),
        "# HELP voltyard_gc_pause_seconds_total Time the process stood in the collector, by generation.",
        "# TYPE voltyard_gc_pause_seconds_total counter",
        *(f'voltyard_gc_pause_seconds_total{{generation="{g}"}} {s}' for g, s in enumerate(pauses.seconds)),
        "# HELP voltyard_gc_pause_max_seconds Longest collection since the previous scrape, by generation.",
        "# TYPE voltyard_gc_pause_max_seconds gauge",
        *(f'voltyard_gc_pause_max_seconds{{generation="{g}"}} {s}' for g, s in enumerate(worst)),
    ]


async def metrics_handler(request: web.Request) -> web.Response:
    return web.Response(text=render_metrics(request), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})  # fmt: skip
