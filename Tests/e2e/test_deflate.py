"""permessage-deflate (RFC 7692): negotiated with Python websockets (which offers it by default)
and checked on the wire with a raw client using Python's zlib."""
import asyncio
import base64
import json
import os
import socket
import struct
import zlib

import websockets

from devices import recv_until, run
from hostile import close_code, parse_frames, read_until_eof
from rawws import masked_frame


def raw_deflate_client(port, path, offer="permessage-deflate; client_max_window_bits"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    extension = f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else ""
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, rest = data.split(b"\r\n\r\n", 1)
    return s, head.decode(), rest


def deflate(payload):
    compressor = zlib.compressobj(wbits=-15)
    body = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert body.endswith(b"\x00\x00\xff\xff")
    return body[:-4]


def inflate(payload):
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def compressed_frame(payload):
    frame = bytearray(masked_frame(0x1, deflate(payload)))
    frame[0] |= 0x40                                    # RSV1: this message is compressed
    return bytes(frame)


def frames_with_rsv(data):
    """(rsv1, opcode, payload) of the server frames in `data`."""
    out, i = [], 0
    while i + 2 <= len(data):
        n, h = data[i + 1] & 0x7F, 2
        if n == 126:
            n, h = struct.unpack("!H", data[i + 2:i + 4])[0], 4
        elif n == 127:
            n, h = struct.unpack("!Q", data[i + 2:i + 10])[0], 10
        if i + h + n > len(data):
            break
        out.append((bool(data[i] & 0x40), data[i] & 0x0F, data[i + h:i + h + n]))
        i += h + n
    return out


def test_negotiation_answers_without_context_takeover(start_server):
    server = start_server()
    s, head, _ = raw_deflate_client(server.port, "/?device_id=df-neg")
    assert "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover" in head.lower()
    s.close()


def test_large_messages_travel_compressed_and_arrive_byte_for_byte(start_server):
    server = start_server()
    box, _, rest = raw_deflate_client(server.port, "/?device_id=df-box")
    body = json.dumps({"from": "df-phone", "to": "df-box", "msg": {"text": "x" * 5000 + "é" * 100}, "id": 1})

    async def phone():
        async with websockets.connect(server.url + "/?device_id=df-phone", compression="deflate") as ws:
            await ws.send(body)                                   # compressed by websockets
            await ws.send(json.dumps({"from": "df-phone", "to": "df-box", "msg": "hi"}))
            await asyncio.sleep(0.3)
    run(phone())
    data, routed = rest, []
    box.settimeout(0.5)
    for _ in range(10):
        routed = [(rsv1, inflate(payload) if rsv1 else payload) for rsv1, _, payload in frames_with_rsv(data)]
        routed = [(rsv1, text) for rsv1, text in routed if json.loads(text).get("to") == "df-box"]
        if len(routed) >= 2:
            break
        try:
            data += box.recv(65536)
        except socket.timeout:
            pass
    assert routed[0] == (True, body.encode())                     # large: compressed, same bytes inside
    assert routed[1][0] is False                                  # small: not worth compressing
    box.close()


def test_a_zip_bomb_closes_with_1009_at_the_limit(start_server):
    server = start_server("--max-message-bytes", "100000")
    s, _, _ = raw_deflate_client(server.port, "/?device_id=df-bomb")
    s.sendall(compressed_frame(b'{"from":"df-bomb","to":"x","msg":"' + b"0" * 10_000_000 + b'"}'))
    assert close_code(parse_frames(read_until_eof(s, seconds=10))) == 1009
    s.close()


def test_deflate_off_answers_without_the_extension(start_server):
    server = start_server("--deflate", "off")
    s, head, _ = raw_deflate_client(server.port, "/?device_id=df-off")
    assert "sec-websocket-extensions" not in head.lower()
    s.sendall(compressed_frame(b'{"from":"df-off","to":"x","msg":1}'))   # RSV1 without the extension
    assert close_code(parse_frames(read_until_eof(s, seconds=10))) == 1002
    s.close()
