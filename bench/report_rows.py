"""The markdown sections of rows 7-10 (bench/report.py has their targets): sender pools,
small campaigns, event webhooks, the overhead of events and metrics."""

from typing import Any

__all__ = ["events", "overhead", "pool", "pool_over", "small"]


def _get(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    row = result.get(name)
    return row if isinstance(row, dict) and row else None


def pool_over(result: dict[str, Any]) -> int | None:
    """Sends over the limit in each account's busiest 1-s window, summed over the accounts."""
    r = _get(result, "pool")
    if r is None:
        return None
    return sum(max(0, a["max_in_any_1s"] - r["limit_per_s"]) for a in r["accounts"].values())


def pool(result: dict[str, Any]) -> list[str]:
    r = _get(result, "pool")
    if r is None:
        return []
    limit, seconds = r["limit_per_s"], r["seconds"]
    lines = [
        f"### 7. Sender pool ({r['senders']} senders on {len(r['accounts'])} accounts, each "
        f"throttled at {limit}/s by the sandbox, sliding window; {r['pool']}, {seconds:.0f} s)",
        "",
        f"The pool sent {r['sends_per_s']:.1f}/s ({r['times_limit']:.2f} x one account's "
        f"limit; launched pace {r['pace_per_s']:g}/s, window {r['window']}, "
        f"{r.get('send_batch', 8)} recipients per send task); "
        f"429s: {r['throttled_429']}; duplicates: {r['duplicates']}; {r['recipients']:,} "
        f"recipients, {r['state']}.",
        "",
        "| account | max sends in any 1-s window | utilisation |",
        "|---|---|---|",
    ]
    for name, a in r["accounts"].items():
        lines.append(
            f"| {name} ({limit}/s) | {a['max_in_any_1s']} | {a['utilisation']:.1%} "
            f"({a['sends_in_span']} of {limit * seconds:.0f}) |"
        )
    return [*lines, ""]


def small(result: dict[str, Any]) -> list[str]:
    r = _get(result, "small")
    if r is None:
        return []
    lines = [
        f"### 8. Small campaigns ({r['campaigns']} per size offered at {r['rate_per_s']:g}/s "
        f"through `enqueue_broadcast()`, sandbox at {r['latency_ms']} ms, {r['pool']})",
        "",
        "| recipients | first send p50 / p99 | last send p50 / p99 | call p50 / p99 "
        "| worker CPU per campaign | Redis per finished campaign | sent |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, s in r["sizes"].items():
        lines.append(
            f"| {size} | {s['first_p50_ms']:.0f} / {s['first_p99_ms']:.0f} ms "
            f"| {s['last_p50_ms']:.0f} / {s['last_p99_ms']:.0f} ms "
            f"| {s['call_p50_ms']:.1f} / {s['call_p99_ms']:.1f} ms "
            f"| {s['worker_cpu_ms_per_campaign']:.1f} ms | {s['keys_per_campaign']:.0f} keys, "
            f"{s['bytes_per_campaign']:,.0f} B | {s['sent']:,} of {s['expected']:,} |"
        )
    return [
        *lines,
        "",
        "Times from the call's return to the sandbox's arrival stamp of the campaign's first "
        "and last message.",
        "",
    ]


def events(result: dict[str, Any]) -> list[str]:
    r = _get(result, "events")
    if r is None:
        return []
    cost, backlog = r["cost"], r["backlog"]
    return [
        f"### 9. Event webhooks (a campaign of {r['recipients']:,} with an `events_url`, "
        f"sandbox at {r['latency_ms']} ms, {r['pool']})",
        "",
        "| events delivered | events/s | sends/s | lag p50 | lag p99 "
        "| client CPU per event | Redis per waiting event |",
        "|---|---|---|---|---|---|---|",
        f"| {r['events']:,} of {r['expected_events']:,} | {r['events_per_s']} "
        f"| {r['sends_per_s']} | {r['lag_p50_ms']:,.0f} ms | {r['lag_p99_ms']:,.0f} ms "
        f"| {cost['client_cpu_ms_per_event']:.3f} ms | {backlog['bytes_per_event']:.0f} B |",
        "",
        "Lag: from the event's timestamp (the status change, on Redis's side) to its arrival "
        f"at the receiver. CPU: the delivery loop in one process, {cost['events']:,} events to "
        f"a keep-alive receiver. Redis: {backlog['events_waiting']:,} events waiting for a "
        f"subscriber that is down; the default cap of {backlog['default_cap']:,} holds "
        f"{backlog['cap_mb_per_subscription']:g} MB per subscription.",
        "",
    ]


def overhead(result: dict[str, Any]) -> list[str]:
    r = _get(result, "overhead")
    if r is None:
        return []
    med, secs = r["median_ms_per_send"], r["campaign_seconds"]
    pace = f" paced at {r['rate_per_s']:g}/s" if r.get("rate_per_s") else " flat out"
    lines = [
        f"### 10. Overhead of events and metrics (a campaign of {r['recipients']:,}"
        f"{pace}, sandbox at {r['latency_ms']} ms, {r['pool']}, {r['runs']} alternating "
        "run(s))",
        "",
        "| variant | worker CPU ms per send (median; runs) | campaign seconds (runs) |",
        "|---|---|---|",
    ]
    about = {"plain": "metrics off, no subscription", "full": "metrics on, events delivered",
             "down": "metrics on, subscriber down"}  # fmt: skip
    for variant, runs in r["cpu_ms_per_send"].items():
        each = ", ".join(f"{x:.2f}" for x in runs)
        took = ", ".join(f"{x:.1f}" for x in secs[variant])
        lines.append(
            f"| {variant} ({about.get(variant, '')}) | {med[variant]:.2f} ({each}) | {took} |"
        )
    m = r["metrics_us_per_send"]
    paired, of_medians = r.get("paired_pct"), r.get("of_medians_pct")
    if paired and of_medians:
        quartiles = r.get("paired_quartiles_pct") or {}
        said = []
        for v, runs in paired.items():
            median = r["overhead_pct"] if v == "full" else r[f"{v}_overhead_pct"]
            q = quartiles.get(v)
            spread = f"; quartiles {q[0]:+.1f} / {q[1]:+.1f} %" if q else ""
            said.append(
                f"`{v}` over `plain` in the same run: {median:+.1f} % (median{spread}; runs "
                f"{', '.join(f'{x:+.1f}' for x in runs)}; of the medians {of_medians[v]:+.1f} %)"
            )
        verdict = "; ".join(said) + "."
    else:  # a result written before the paired ratios
        verdict = (f"`full` over `plain`: {r['overhead_pct']:+.1f} %; `down` over `plain`: "
                   f"{r['down_overhead_pct']:+.1f} %.")  # fmt: skip
    parts = ""
    event_cpu = ((_get(result, "events") or {}).get("cost") or {}).get("client_cpu_ms_per_event")
    if event_cpu and med.get("plain"):
        parts = (
            f" The delivery loop's CPU per event (row 9, {event_cpu:.3f} ms) is "
            f"{event_cpu / med['plain'] * 100:.1f} % of `plain`'s CPU per send."
        )
    return [
        *lines,
        "",
        f"{verdict} Recording one send's metrics alone, in one thread: {m['recorder']:.1f} us "
        f"CPU with the Redis Recorder, {m['multiprocess']:.1f} us with prometheus-client's "
        f"multiprocess mode.{parts}",
        "",
    ]
