"""Protection: request-head deadline (slowloris), connection cap, readiness."""
import socket
import time

from rawws import RawClient
from test_http import request


def test_slowloris_is_cut_at_the_handshake_timeout_while_others_work(start_server):
    server = start_server("--handshake-timeout", "1")
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    slow.sendall(b"GET /?device_id=slow HTTP/1.1\r\nHost: x\r\n")      # and never the blank line
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)   # sends nothing at all
    device = RawClient(server.port, path="/?device_id=fine")
    started = time.monotonic()
    reply = slow.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert idle.recv(4096) == b""                                     # closed without a word
    assert time.monotonic() - started < 5
    # The upgraded device is not subject to the request deadline.
    assert request(server.port, b"GET /online_status?deviceid=fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").endswith(b'{"fine":"online"}}')
    for s in (slow, idle):
        s.close()
    device.close()


def test_max_connections_refuses_the_101st_with_503(start_server):
    server = start_server("--max-connections", "100", "--limit-exempt", "127.0.0.1")
    held = [RawClient(server.port, path=f"/?device_id=cap-{i}") for i in range(100)]
    assert all(c.status == 101 for c in held)
    refused = RawClient(server.port, path="/?device_id=cap-100")
    assert refused.status == 503
    refused.close()
    held.pop().sock.close()
    time.sleep(0.3)
    again = RawClient(server.port, path="/?device_id=cap-100")
    assert again.status == 101
    again.close()
    for c in held:
        c.close()


def test_readyz_answers_ready(start_server):
    server = start_server()
    reply = request(server.port, b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b'{"status":"ready"}')


def test_disallowed_origin_gets_403(start_server):
    import asyncio
    import websockets
    from websockets.exceptions import InvalidStatus
    server = start_server("--allowed-origins", "https://tv.example,https://phone.example")

    async def go():
        async with websockets.connect(server.url + "/?device_id=o-ok", origin="https://tv.example"):
            pass
        try:
            await websockets.connect(server.url + "/?device_id=o-bad", origin="https://evil.example")
            raise AssertionError("should be refused")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
    asyncio.run(go())


def test_rate_limit_replies_status_6_then_closes_a_flood_with_1008(start_server):
    import asyncio
    import json
    import websockets
    from websockets.exceptions import ConnectionClosed
    server = start_server("--max-messages-per-second", "10")

    async def go():
        async with websockets.connect(server.url + "/?device_id=rl-box") as box, \
                websockets.connect(server.url + "/?device_id=rl-phone") as phone:
            statuses = []
            with_close = None
            try:
                for i in range(200):
                    await phone.send('{"from":"rl-phone","to":"rl-box","msg":%d}' % i)
                while True:
                    message = json.loads(await asyncio.wait_for(phone.recv(), 5))
                    if "status" in message:
                        statuses.append(message["status"])
            except ConnectionClosed as closed:
                with_close = closed.rcvd.code
            assert 6 in statuses
            assert with_close == 1008
            delivered = 0
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(box.recv(), 1))
                    if message.get("from") == "rl-phone" and message.get("to") == "rl-box":
                        delivered += 1
            except asyncio.TimeoutError:
                pass
            assert 1 <= delivered <= 25       # the burst allowance (2 x 10), not the flood
    asyncio.run(go())


def test_sigterm_drain_with_500_clients_all_get_1001_and_no_offline(start_server):
    import asyncio
    import base64
    import os
    import struct
    server = start_server("--limit-exempt", "127.0.0.1")

    async def device(i):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /?device_id=dr-{i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await reader.readuntil(b"\r\n\r\n")
        return reader, writer

    async def close_code(reader):
        offline = 0
        while True:
            b0, b1 = await reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            payload = await reader.readexactly(n)
            if b0 & 0x0F == 8:
                return struct.unpack("!H", payload[:2])[0], offline
            if b'"offline"' in payload:
                offline += 1

    async def go():
        clients = await asyncio.gather(*(device(i) for i in range(500)))
        await asyncio.sleep(0.5)
        server.process.terminate()
        results = await asyncio.wait_for(asyncio.gather(*(close_code(r) for r, _ in clients)), 20)
        assert all(code == 1001 for code, _ in results)
        assert sum(offline for _, offline in results) == 0
        for _, writer in clients:
            writer.close()
    asyncio.run(go())
    assert server.process.wait(timeout=15) == 0
