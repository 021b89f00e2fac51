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
    server = start_server("--max-connections", "100")
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
