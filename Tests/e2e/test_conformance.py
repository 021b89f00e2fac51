"""RFC 6455 conformance of the /echo endpoint, checked with an independent client
(Python `websockets`) and, for frames no proper library would send, a raw socket."""
import asyncio
import struct

import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from rawws import RawClient, masked_frame

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


@pytest.mark.parametrize("size", SIZES)
def test_5_6_text_and_binary_echo_unchanged(echo_server, size):
    async def go():
        async with websockets.connect(echo_server.url + "/echo", max_size=None) as ws:
            text = ("é" * (size // 2) + "a" * (size % 2))
            await ws.send(text)
            assert await ws.recv() == text
            data = bytes(i % 251 for i in range(size))
            await ws.send(data)
            assert await ws.recv() == data
    run(go())


def test_5_4_fragmented_message_with_interleaved_pings(echo_server):
    async def go():
        async with websockets.connect(echo_server.url + "/echo") as ws:
            pongs = []
            for i in range(3):
                pongs.append(await ws.ping(f"p{i}".encode()))
            await ws.send(["frag-one ", "frag-two ", "frag-three"])
            assert await ws.recv() == "frag-one frag-two frag-three"
            for pong in pongs:
                await asyncio.wait_for(pong, 5)
    run(go())


def test_5_4_control_frames_between_fragments_raw(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x1, b"Hello, ", fin=False))
    c.send(masked_frame(0x9, b"ping!"))
    c.send(masked_frame(0x0, b"World", fin=False))
    c.send(masked_frame(0x9, b""))
    c.send(masked_frame(0x0, b"!", fin=True))
    assert c.read_frame() == (0xA, b"ping!")
    assert c.read_frame() == (0xA, b"")
    assert c.read_frame() == (0x1, b"Hello, World!")
    c.close()


def test_5_6_invalid_utf8_in_one_fragment_closes_1007(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x1, "κόσμε".encode(), fin=False))
    c.send(masked_frame(0x0, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False))
    assert c.read_close_code() == 1007
    c.close()


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 65535])
def test_7_4_bad_close_codes_answered_1002(echo_server, code):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x8, struct.pack("!H", code)))
    assert c.read_close_code() == 1002
    c.close()


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_7_4_valid_close_codes_echoed_then_tcp_closed(echo_server, code):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x8, struct.pack("!H", code) + b"bye"))
    assert c.read_close_code() == code
    assert c.eof_after_close()
    c.close()


def test_7_4_close_with_one_byte_payload_is_1002(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x8, b"\x03"))
    assert c.read_close_code() == 1002
    c.close()


def test_7_4_close_reason_must_be_utf8(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x8, struct.pack("!H", 1000) + b"\xff"))
    assert c.read_close_code() == 1007
    c.close()


def test_oversize_message_closed_1009(start_server):
    server = start_server("--echo", "--max-message-bytes", "1000")

    async def go():
        async with websockets.connect(server.url + "/echo", max_size=None) as ws:
            await ws.send("x" * 1000)
            assert await ws.recv() == "x" * 1000
            await ws.send("x" * 1001)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1009
    run(go())


def test_5_1_unmasked_client_frame_closed_1002(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x1, b"plain", mask=False))
    assert c.read_close_code() == 1002
    c.close()


def test_5_2_reserved_bits_and_opcodes_closed_1002(echo_server):
    for frame in [masked_frame(0x1, b"x", rsv=4), masked_frame(0x3, b"x"), masked_frame(0xB, b"")]:
        c = RawClient(echo_server.port)
        c.send(frame)
        assert c.read_close_code() == 1002
        c.close()


def test_nothing_is_processed_after_a_close_frame(echo_server):
    c = RawClient(echo_server.port)
    c.send(masked_frame(0x8, struct.pack("!H", 1000)) + masked_frame(0x1, b"late"))
    assert c.read_frame()[0] == 0x8
    assert c.eof_after_close()
    c.close()


def test_4_2_handshake_rejects_wrong_version_with_426(echo_server):
    import socket
    s = socket.create_connection(("127.0.0.1", echo_server.port), timeout=5)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
    response = s.recv(4096)
    assert response.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13" in response
    s.close()
