"""GET /metrics parses as Prometheus text and its counters move with traffic."""
import asyncio

from prometheus_client.parser import text_string_to_metric_families

from devices import connect, presence, recv_json, recv_until, run
from test_http import request


def scrape(port, source=None):
    reply = request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", source=source)
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


def test_metrics_parse_and_count_traffic(start_server):
    server = start_server()
    before = scrape(server.port)
    for name in ["tether_connections", "tether_messages_routed_total", "tether_open_fds", "tether_fd_limit",
                 "tether_resident_memory_bytes", "tether_loop_lag_p99_milliseconds", "tether_bytes_in_total"]:
        assert name in before, name

    async def go():
        async with await connect(server, "m-box") as box, await connect(server, "m-phone") as phone:
            await recv_until(box, lambda m: m == presence("m-phone", "online"))
            for i in range(3):
                await phone.send('{"from":"m-phone","to":"m-box","msg":%d}' % i)
                await recv_until(box, lambda m: m.get("msg") == i)
            await phone.send('{"from":"m-phone","to":"m-nobody","msg":1}')
            assert (await recv_until(phone, lambda m: "status" in m))["status"] == 1
            during = scrape(server.port)
            assert during["tether_connections"] >= 2
            assert during["tether_messages_routed_total"] - before["tether_messages_routed_total"] == 3
            assert during["tether_routing_errors_total{status=1}"] == 1
            assert during["tether_presence_events_total"] >= 2
            assert during["tether_bytes_in_total"] > before["tether_bytes_in_total"]
    run(go())
    request(server.port, b"GET /?device_id=bad%20id HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert scrape(server.port)["tether_handshakes_failed_total{status=400}"] == 1
