"""The "TLS and deflate" section of docs/benchmarks.md (issue #16): Tether over TLS and with
permessage-deflate beside its plain rows of the same run. Imported by bench_report.py."""
import json
import os


def _load(out, server, row):
    path = os.path.join(out, f"{server}.{row}.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _fmt(v):
    return "-" if v is None else str(v)


def _rel(a, b):
    return "-" if a is None or b in (None, 0) else f"{a / b:.2f}"


def section(out):
    plain = {row: _load(out, "tether", row) for row in ("connect", "route-w1", "route-w64", "deflate-off", "deflate-on")}
    tls = {row: _load(out, "tether-tls", row) for row in ("tls-connect", "tls-idle-memory", "tls-route-w1", "tls-route-w64")}
    if not any(tls.values()) and not plain["deflate-on"]:
        return []
    lines = ["## TLS and deflate", "",
             "Tether only (the anchors are built without SSL and compression); commands and notes in",
             "[benchmarks-tls.md](benchmarks-tls.md). TLS: TLS 1.3, ECDSA P-256 certificate, X25519, a full",
             "handshake per connection. TLS / plain is the TLS figure over the plain one of this run.", "",
             "| measure | plain | TLS | TLS / plain |", "| --- | --- | --- | --- |"]
    cpu_plain, cpu_tls = plain["connect"].get("server_cpu_us_per_conn"), tls["tls-connect"].get("server_cpu_us_per_conn")
    rows = [
        ("handshakes/s (bench-bound)", plain["connect"].get("conns_per_s"), tls["tls-connect"].get("conns_per_s")),
        ("server CPU per handshake (us)", cpu_plain, cpu_tls),
        ("handshakes/s one server core could take (1e6 / CPU per handshake)",
         round(1e6 / cpu_plain) if cpu_plain else None, round(1e6 / cpu_tls) if cpu_tls else None),
        ("route w1 msg/s", plain["route-w1"].get("msgs_per_s"), tls["tls-route-w1"].get("msgs_per_s")),
        ("route w1 server CPU per msg (us)", plain["route-w1"].get("server_cpu_us_per_msg"), tls["tls-route-w1"].get("server_cpu_us_per_msg")),
        ("route w64 msg/s", plain["route-w64"].get("msgs_per_s"), tls["tls-route-w64"].get("msgs_per_s")),
        ("route w64 server CPU per msg (us)", plain["route-w64"].get("server_cpu_us_per_msg"), tls["tls-route-w64"].get("server_cpu_us_per_msg")),
        ("server RSS per idle connection (KiB)", plain["connect"].get("server_kib_per_conn"), tls["tls-idle-memory"].get("server_kib_per_conn")),
    ]
    lines += [f"| {label} | {_fmt(p)} | {_fmt(t)} | {_rel(t, p)} |" for label, p, t in rows]
    off, on = plain["deflate-off"], plain["deflate-on"]
    lines += ["", "permessage-deflate, route w16 with 1 KiB JSON messages (`--message-bytes 1024`); wire bytes are",
              "WebSocket frames in and out of the server per routed message (its /metrics byte counters).", "",
              "| measure | deflate off | deflate on | on / off |", "| --- | --- | --- | --- |"]
    for label, key in [("wire bytes per message (in + out)", "wire_bytes_per_msg"), ("server CPU per message (us)", "server_cpu_us_per_msg"),
                       ("msg/s", "msgs_per_s"), ("latency p99 (us)", "latency_p99_us")]:
        lines.append(f"| {label} | {_fmt(off.get(key))} | {_fmt(on.get(key))} | {_rel(on.get(key), off.get(key))} |")
    warnings = [f"{name}: {w}" for name, entry in list(tls.items()) + [("deflate-off", off), ("deflate-on", on)] for w in (entry.get("warnings") or [])]
    lines += [""] + [f"- warning, {w}" for w in warnings] + ([""] if warnings else [])
    return lines
