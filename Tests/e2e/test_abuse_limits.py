"""Limits that stop one client from costing everyone: per-address connections and connect rate,
watch lists, and the rules about ids, origins, ordering and reply shape."""
import asyncio
import json
import socket

import websockets
from websockets.exceptions import InvalidStatus

from devices import connect, presence, recv_json, recv_until, run
from hostile import parse_frames, raw_device, text
from rawws import RawClient
from test_metrics import scrape

OPERATOR = ("--limit-exempt", "127.0.0.2")   # the metrics scrape comes from there, unlimited


def test_an_address_may_hold_only_so_many_connections_then_gets_503(start_server):
    server = start_server("--max-connections-per-ip", "3", "--max-connects-per-second-per-ip", "0", *OPERATOR)
    held = [RawClient(server.port, path=f"/?device_id=pa-{i}") for i in range(3)]
    assert [c.status for c in held] == [101, 101, 101]
    refused = RawClient(server.port, path="/?device_id=pa-3")
    assert refused.status == 503
    refused.close()
    assert scrape(server.port, source="127.0.0.2")["tether_address_refusals_total{limit=open}"] == 1
    for c in held:
        c.close()


def test_an_address_opening_connections_too_fast_gets_429(start_server):
    server = start_server("--max-connects-per-second-per-ip", "5", *OPERATOR)
    statuses = []
    for i in range(40):                                   # far past a burst of 10
        client = RawClient(server.port, path=f"/?device_id=pr-{i}")
        statuses.append(client.status)
        client.close()
    assert 429 in statuses and statuses[0] == 101
    assert scrape(server.port, source="127.0.0.2")["tether_address_refusals_total{limit=rate}"] >= 1


def test_exempt_ranges_skip_the_per_address_limits(start_server):
    server = start_server("--max-connections-per-ip", "2", "--limit-exempt", "127.0.0.0/8")
    held = [RawClient(server.port, path=f"/?device_id=ex-{i}") for i in range(5)]
    assert all(c.status == 101 for c in held)
    for c in held:
        c.close()


def test_a_connection_may_watch_only_max_watched_ids(start_server):
    server = start_server("--presence", "watchers", "--max-watched", "5")

    async def go():
        async with await connect(server, "mw-1") as ws:
            await recv_json(ws)                          # its own online
            ids = [f"mw-x{i}" for i in range(6)]
            await ws.send(json.dumps({"from": "mw-1", "to": "server", "msg": "queryStatus", "data": ids}))
            reply = await recv_json(ws)
            assert reply["status"] == 2 and "at most 5" in reply["message"] and reply["data"] == {}
            await ws.send(json.dumps({"from": "mw-1", "to": "server", "msg": "queryStatus", "data": ids[:5]}))
            assert (await recv_json(ws))["status"] == 0
            await ws.send(json.dumps({"from": "mw-1", "to": "server", "msg": "queryStatus", "data": ids[:5]}))
            assert (await recv_json(ws))["status"] == 0, "asking again about watched ids needs no room"
            await ws.send(json.dumps({"from": "mw-1", "to": "server", "msg": "queryStatus", "data": ["mw-y"]}))
            assert (await recv_json(ws))["status"] == 2
    run(go())


def test_a_devices_online_reaches_a_peer_before_its_first_message(start_server):
    server = start_server()

    async def go():
        async with await connect(server, "ord-box") as box:
            await recv_until(box, lambda m: m == presence("ord-box", "online"))
            first = text({"from": "ord-phone", "to": "ord-box", "msg": "hi"})
            s, _ = raw_device(server.port, "/?device_id=ord-phone", extra=first)   # handshake and message in one packet
            assert await recv_json(box) == presence("ord-phone", "online")
            assert await recv_json(box) == {"from": "ord-phone", "to": "ord-box", "msg": "hi"}
            s.close()
    run(go())


def test_ids_compare_as_bytes_not_by_unicode_equivalence(start_server):
    server = start_server()

    async def go():
        async with await connect(server, "Kiosk-1") as kiosk, await connect(server, "K1") as k1:
            await ws_send(k1, '{"from":"K1","to":"\\u212Aiosk-1","msg":"kelvin"}')
            reply = await recv_until(k1, lambda m: "status" in m)
            assert reply["status"] == 2
            await ws_send(k1, '{"from":"\\u212A1","to":"Kiosk-1","msg":"forged"}')
            reply = await recv_until(k1, lambda m: "status" in m)
            assert reply["status"] == 4
            await ws_send(k1, '{"from":"K1","to":"Kiosk-1","msg":"plain"}')
            assert (await recv_until(kiosk, lambda m: m.get("to") == "Kiosk-1"))["msg"] == "plain"
    run(go())


async def ws_send(ws, raw):
    await ws.send(raw)


def test_a_foreign_browser_origin_is_refused_and_the_own_one_allowed(start_server):
    server = start_server()

    async def go():
        try:
            await websockets.connect(server.url + "/?device_id=og-1", origin="https://evil.example")
            raise AssertionError("a foreign page must not connect")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
        async with websockets.connect(server.url + "/?device_id=og-2", origin=f"http://127.0.0.1:{server.port}"):
            pass
        async with websockets.connect(server.url + "/?device_id=og-3"):   # no Origin: a box or an app
            pass
    run(go())


def test_the_public_url_is_an_own_origin(start_server):
    server = start_server("--public-url", "https://tv.example")

    async def go():
        async with websockets.connect(server.url + "/?device_id=op-1", origin="https://tv.example"):
            pass
        try:
            await websockets.connect(server.url + "/?device_id=op-2", origin="http://tv.example")
            raise AssertionError("another scheme is another origin")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
    run(go())


def test_every_status_reply_has_status_message_data_and_the_id(start_server):
    server = start_server()
    s, data = raw_device(server.port, "/?device_id=shape-1")   # its online may come in the 101's read
    s.sendall(text(b'{"from":"shape-1","to":"nobody-here","msg":1,"id":"a"}'))
    s.sendall(text(b'not json'))
    s.sendall(text(b'{"from":"shape-1","to":"server","msg":"what","id":7}'))
    from rawws import masked_frame
    s.sendall(masked_frame(0x2, b"\x00"))
    while len(parse_frames(data)) < 5:
        data += s.recv(65536)
    replies = [json.loads(p) for _, p in parse_frames(data)][1:]     # after its own online
    assert [r["status"] for r in replies] == [1, 2, 2, 3]
    for reply in replies:
        assert set(reply) - {"id"} == {"status", "message", "data"} and isinstance(reply["data"], dict)
    assert replies[0]["id"] == "a" and replies[2]["id"] == 7
    s.close()
