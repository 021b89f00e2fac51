"""Helpers for hostile-client tests: raw device sockets with small buffers, frame parsing."""
import base64
import json
import os
import socket
import struct
import time

from rawws import masked_frame


def raw_device(port, path, rcvbuf=None, extra=b""):
    """Opens a device connection by hand (optionally with a tiny receive buffer); returns
    (socket, bytes after the 101 head)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode() + extra)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, "closed during handshake"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, rest


def text(payload):
    return masked_frame(0x1, json.dumps(payload).encode() if not isinstance(payload, bytes) else payload)


def parse_frames(data):
    """Server frames in `data` as (opcode, payload); an unfinished tail is ignored."""
    frames, i = [], 0
    while i + 2 <= len(data):
        n = data[i + 1] & 0x7F
        h = 2
        if n == 126:
            if i + 4 > len(data):
                break
            n, h = struct.unpack("!H", data[i + 2:i + 4])[0], 4
        elif n == 127:
            if i + 10 > len(data):
                break
            n, h = struct.unpack("!Q", data[i + 2:i + 10])[0], 10
        if i + h + n > len(data):
            break
        frames.append((data[i] & 0x0F, data[i + h:i + h + n]))
        i += h + n
    return frames


def read_until_eof(s, seconds=15):
    """Everything the server sends until it closes (or `seconds` pass)."""
    s.settimeout(0.5)
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def close_code(frames):
    for opcode, payload in frames:
        if opcode == 0x8 and len(payload) >= 2:
            return struct.unpack("!H", payload[:2])[0]
    return None
