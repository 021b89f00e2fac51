"""Device routing, presence and heartbeat end to end, with Python `websockets` as the client."""
import asyncio
import json
import socket

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from devices import connect, expect_silence, presence, recv_json, recv_until, run
from rawws import RawClient, masked_frame
from test_http import request


@pytest.fixture(scope="module")
def server():
    from conftest import RunningServer
    s = RunningServer()
    yield s
    s.stop()


@pytest.mark.parametrize("form,device", [("query", "box-q1"), ("path", "box-p1")])
def test_connect_by_query_or_path_and_see_own_online(server, form, device):
    async def go():
        async with await connect(server, device, form=form) as ws:
            assert await recv_json(ws) == presence(device, "online")
    run(go())


def test_deviceid_alias_is_accepted(server):
    async def go():
        async with websockets.connect(server.url + "/?deviceid=alias-1") as ws:
            assert await recv_json(ws) == presence("alias-1", "online")
    run(go())


@pytest.mark.parametrize("path,why", [
    ("/", "missing device id"), ("/?device_id=", "empty"), ("/?device_id=all", "reserved"),
    ("/?device_id=server", "reserved"), ("/?device_id=" + "x" * 129, "longer than 128"),
    ("/?device_id=bad%20id", "may only contain"), ("/a/b", "may only contain"),
])
def test_bad_ids_get_400_json_before_upgrade(server, path, why):
    async def go():
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.url + path)
        response = refused.value.response
        assert response.status_code == 400
        body = json.loads(response.body)
        assert body["status"] == 2 and why in body["message"]
    run(go())


def test_query_status_at_connect(server):
    async def go():
        async with await connect(server, "qs-box") as box:
            await recv_json(box)
            async with await connect(server, "qs-phone", query="queryStatus=qs-box,qs-none") as phone:
                assert await recv_json(phone) == {"status": 0, "message": "ok",
                                                  "data": {"qs-box": "online", "qs-none": "offline"}}
    run(go())


def test_messages_are_delivered_byte_for_byte(server):
    async def go():
        async with await connect(server, "bb-box") as box, await connect(server, "bb-phone") as phone:
            await recv_until(box, lambda m: m == presence("bb-phone", "online"))
            raw = '{ "from":"bb-phone" , "to":"bb-box","msg":{"key":"OK","n":[1,2.5e3,null]},"x":"é\\u00e9"}'
            await phone.send(raw)
            assert await asyncio.wait_for(box.recv(), 5) == raw
    run(go())


def test_error_replies_keep_the_connection_open(start_server):
    server = start_server()

    async def go():
        async with await connect(server, "er-phone") as phone, await connect(server, "er-box") as box:
            await recv_until(phone, lambda m: m == presence("er-box", "online"))
            cases = [
                ('{"id":"a1","from":"er-phone","to":"er-none","msg":1}',
                 {"status": 1, "message": "target offline", "data": {"er-none": "offline"}, "id": "a1"}),
                ('{"id":2,"from":"er-phone","to":"er-box"}', 2),
                ('not json', 2),
                ('[1,2]', 2),
                ('{"from":"er-phone","to":"er-box","msg":' + "[" * 65 + "]" * 65 + '}', 2),
                ('{"from":"er-box","to":"er-box","msg":1}', 4),
                ('{"from":"er-phone","to":"all","msg":1}', 4),
                ('{"id":9,"from":"er-phone","to":"server","msg":"reboot"}', 2),
            ]
            for sent, expected in cases:
                await phone.send(sent)
                reply = await recv_json(phone)
                if isinstance(expected, dict):
                    assert reply == expected
                else:
                    assert reply["status"] == expected, (sent, reply)
            assert reply["id"] == 9
            await phone.send(b"\x01\x02")
            assert (await recv_json(phone))["status"] == 3
            await phone.send('{"from":"er-phone","to":"er-box","msg":"still here"}')
            assert await recv_until(box, lambda m: m.get("msg") == "still here") == {"from": "er-phone", "to": "er-box", "msg": "still here"}
    run(go())


def test_server_query_status_command(server):
    async def go():
        async with await connect(server, "cmd-phone") as phone:
            await recv_json(phone)
            await phone.send('{"id":"q","from":"cmd-phone","to":"server","msg":"queryStatus","data":["cmd-phone","cmd-x"]}')
            assert await recv_json(phone) == {"status": 0, "message": "ok",
                                              "data": {"cmd-phone": "online", "cmd-x": "offline"}, "id": "q"}
    run(go())


def test_client_broadcast_when_allowed(start_server):
    server = start_server("--allow-client-broadcast")

    async def go():
        async with await connect(server, "bc-a") as a, await connect(server, "bc-b") as b:
            await recv_until(a, lambda m: m == presence("bc-b", "online"))
            await recv_until(b, lambda m: m == presence("bc-b", "online"))
            await a.send('{"from":"bc-a","to":"all","msg":"hello all"}')
            assert await recv_json(b) == {"from": "bc-a", "to": "all", "msg": "hello all"}
            await expect_silence(a, 0.3)
    run(go())


def test_replacement_closes_old_with_4001_and_announces_nothing(start_server):
    server = start_server()

    async def go():
        async with await connect(server, "rp-watch") as watcher:
            await recv_json(watcher)
            old = await connect(server, "rp-box")
            await recv_until(watcher, lambda m: m == presence("rp-box", "online"))
            new = await connect(server, "rp-box")
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(old.recv(), 5)
            assert closed.value.rcvd.code == 4001 and closed.value.rcvd.reason == "replaced"
            await expect_silence(watcher, 0.5)
            await watcher.send('{"from":"rp-watch","to":"rp-box","msg":"to the new one"}')
            assert await recv_until(new, lambda m: m.get("msg") == "to the new one")
            await new.close()
            assert await recv_json(watcher) == presence("rp-box", "offline")
    run(go())


@pytest.mark.parametrize("how", ["close", "eof"])
def test_offline_is_announced_when_a_connection_ends(start_server, how):
    server = start_server()

    async def go():
        async with await connect(server, "off-watch") as watcher:
            await recv_json(watcher)
            if how == "close":
                box = await connect(server, "off-box")
                await recv_until(watcher, lambda m: m == presence("off-box", "online"))
                await box.close()
            else:
                raw = RawClient(server.port, path="/?device_id=off-box")
                await recv_until(watcher, lambda m: m == presence("off-box", "online"))
                raw.sock.close()
            assert await recv_json(watcher) == presence("off-box", "offline")
    run(go())


def test_watchers_mode_sends_events_only_to_interested_devices(start_server):
    server = start_server("--presence", "watchers")

    async def go():
        async with await connect(server, "w-phone", query="queryStatus=w-box") as phone, \
                await connect(server, "w-other") as other:
            assert (await recv_json(phone))["data"] == {"w-box": "offline"}
            assert await recv_json(phone) == presence("w-phone", "online")
            assert await recv_json(other) == presence("w-other", "online")
            async with await connect(server, "w-box") as box:
                assert await recv_json(box) == presence("w-box", "online")
                assert await recv_json(phone) == presence("w-box", "online")
            assert await recv_json(phone) == presence("w-box", "offline")
            await expect_silence(other, 0.5)
    run(go())


def test_presence_off_sends_no_presence(start_server):
    server = start_server("--presence", "off")

    async def go():
        async with await connect(server, "po-a") as a:
            async with await connect(server, "po-b"):
                await expect_silence(a, 0.5)
    run(go())


def test_slow_consumer_gets_status_5_then_1008_and_offline(start_server):
    server = start_server("--max-queued-bytes", "65536", "--slow-consumer-seconds", "1")

    async def go():
        async with await connect(server, "sc-phone") as phone:
            await recv_json(phone)
            stuck = RawClient(server.port, path="/?device_id=sc-box")   # never reads again
            stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await recv_until(phone, lambda m: m == presence("sc-box", "online"))
            body = "x" * 60000
            busy = None
            for i in range(2000):
                await phone.send('{"id":%d,"from":"sc-phone","to":"sc-box","msg":"%s"}' % (i, body))
                try:
                    reply = json.loads(await asyncio.wait_for(phone.recv(), 0.05))
                except asyncio.TimeoutError:
                    continue
                if reply.get("status") == 5:
                    busy = reply
                    break
            assert busy is not None and busy["data"] == {"sc-box": "online"}
            assert await recv_until(phone, lambda m: m == presence("sc-box", "offline"), timeout=10)
            stuck.close()
    run(go())


def test_seed_story_box_phone_messages_and_dropped_network(start_server):
    """A box connects; a phone asks for it and sends three messages, received in order and
    byte-identical; the box's network drops without a close; the phone learns it is offline
    within ping interval + timeout (1 s + 1 s) plus one sweep of slack."""
    server = start_server("--ping-interval", "1", "--ping-timeout", "1")

    async def go():
        box = RawClient(server.port, path="/box-seed")
        async with await connect(server, "phone-seed", query="queryStatus=box-seed") as phone:
            assert (await recv_json(phone))["data"] == {"box-seed": "online"}
            sent = ['{"from":"phone-seed","to":"box-seed","msg":"up"}',
                    '{"from":"phone-seed","to":"box-seed","msg":{"key":"ok","at":1}}',
                    '{"from":"phone-seed","to":"box-seed","msg":"back" }']
            for text in sent:
                await phone.send(text)
            received = []
            while len(received) < 3:
                opcode, payload = box.read_frame()
                if opcode == 1 and b'"to":"all"' not in payload:
                    received.append(payload.decode())
            assert received == sent
            loop = asyncio.get_running_loop()
            dropped_at = loop.time()          # from now on the box neither reads nor answers pings
            await recv_until(phone, lambda m: m == presence("box-seed", "offline"), timeout=6)
            assert loop.time() - dropped_at <= 1 + 1 + 1.5
        box.close()
    run(go())


def test_online_status_http(start_server):
    server = start_server("--cors-origin", "https://tv.example")

    async def go():
        async with await connect(server, "hs-box") as box:
            await recv_json(box)
            reply = request(server.port, b"GET /online_status?deviceid=hs-box,hs-none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head, body = reply.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 200")
            assert b"Access-Control-Allow-Origin: https://tv.example" in head
            assert json.loads(body) == {"status": 0, "message": "ok", "data": {"hs-box": "online", "hs-none": "offline"}}
            alias = request(server.port, b"GET /online_status?device_id=hs-box HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert json.loads(alias.split(b"\r\n\r\n", 1)[1])["data"] == {"hs-box": "online"}
            missing = request(server.port, b"GET /online_status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert missing.startswith(b"HTTP/1.1 400") and b'"status":2' in missing
    run(go())


def test_sigterm_closes_devices_with_1001_without_offline_events(start_server):
    server = start_server()

    async def go():
        a = await connect(server, "gw-a")
        b = await connect(server, "gw-b")
        await recv_until(a, lambda m: m == presence("gw-b", "online"))
        server.process.terminate()
        received = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(json.loads(await asyncio.wait_for(a.recv(), 5)))
        assert closed.value.rcvd.code == 1001
        assert all(m.get("msg") != "offline" for m in received)
        await b.close()
    run(go())
    assert server.process.wait(timeout=10) == 0
