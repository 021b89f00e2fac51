"""A deliberately low-level client for sending frames that well-behaved libraries refuse to send
(bad close codes, invalid UTF-8 in one fragment, unmasked frames). Only used to break rules."""
import base64
import os
import socket
import struct


def masked_frame(opcode, payload, fin=True, rsv=0, mask=True):
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n <= 125:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    def __init__(self, port, path="/echo", timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "closed during handshake"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def send(self, data):
        self.sock.sendall(data)

    def _need(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def read_frame(self):
        """Returns (opcode, payload)."""
        self._need(2)
        b0, b1 = self.buffer[0], self.buffer[1]
        n = b1 & 0x7F
        offset = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buffer[2:4])[0]
            offset = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buffer[2:10])[0]
            offset = 10
        assert b1 & 0x80 == 0, "server frames must not be masked"
        self._need(offset + n)
        payload = self.buffer[offset:offset + n]
        self.buffer = self.buffer[offset + n:]
        return b0 & 0x0F, payload

    def read_close_code(self):
        """Reads frames until a close frame; returns its code (None if empty)."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def eof_after_close(self):
        """True when the server closes TCP after its close frame."""
        try:
            while self.sock.recv(4096):
                pass
            return True
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()
