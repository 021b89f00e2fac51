"""Helpers for the operator console's tests: a server with an API key, its session API over
plain HTTP, and devices on the synchronous websockets client (so a browser test can drive both)."""
import json
import os
import threading
import urllib.error
import urllib.request

from websockets.sync.client import connect as ws_connect


def console_server(start_server, tmp_path, *more):
    """A server with an API key (so the console is on) and no per-address limits for 127/8: (server, key)."""
    key = os.urandom(24).hex()
    path = tmp_path / "api.key"
    path.write_text(key)
    return start_server("--api-key-file", str(path), "--limit-exempt", "127.0.0.0/8", *more), key


def call(port, method, path, body=None, cookie=None, headers=None):
    """(status, parsed JSON or None, response headers) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


def sign_in(port, key):
    """The session cookie ("tether_console=...") the console's sign-in gives for `key`."""
    status, _, headers = call(port, "POST", "/api/console/session", {"key": key})
    assert status == 200, status
    return headers["Set-Cookie"].split(";", 1)[0]


def device(port, device_id):
    """A connected device; entered at once, since a fleet outlives any one `with` block."""
    return ws_connect(f"ws://127.0.0.1:{port}/?device_id={device_id}", open_timeout=10, close_timeout=2, max_queue=None).__enter__()


class Load:
    """Device `a` sends to `b` in windows of 50 (b reads each window) on a thread, until stopped."""

    def __init__(self, port, a="load-a", b="load-b"):
        self.sender, self.receiver = device(port, a), device(port, b)
        self.a, self.b = a, b
        self.sent = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        frame = json.dumps({"from": self.a, "to": self.b, "msg": "tick"})
        while self.running:
            for _ in range(50):
                self.sender.send(frame)
            for _ in range(50):
                while json.loads(self.receiver.recv(timeout=10)).get("msg") != "tick":
                    pass   # presence of other devices
            self.sent += 50

    def stop(self):
        self.running = False
        self.thread.join(timeout=15)
        self.sender.close()
        self.receiver.close()
