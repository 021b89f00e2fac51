"""A Tether cluster for end-to-end tests: one real redis-server (nothing saved) and N Tether nodes,
each on its own free port, plus the faults the cluster must survive (kill -9 of a node, a frozen or
restarted Redis, killed links, SIGTERM drain). Everything started is killed at teardown, and with
the test process if that dies first (PR_SET_PDEATHSIG)."""
import asyncio
import atexit
import collections
import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from conftest import RunningServer, free_port
from test_http import request

REDIS_SERVER = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "redis-server")
REDIS_CLI = os.environ.get("REDIS_CLI", shutil.which("redis-cli") or "redis-cli")

_libc = ctypes.CDLL(None, use_errno=True)   # loaded before any fork: the child only calls prctl
_PR_SET_PDEATHSIG = 1
_started = []                                # every process started here, for the last-resort sweep


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@atexit.register
def _kill_leftovers():
    for process in _started:
        if process.poll() is None:
            process.kill()
            process.wait()


def get(port, path):
    """(status, body) of GET path."""
    reply = request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


class Unsupported(Exception):
    """The binary has no cluster mode (it refused --cluster)."""


class Redis:
    """redis-server on a free loopback port; kill, freeze, thaw and restart (empty) on that port."""

    def __init__(self):
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="tether-redis-")
        self.process = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.folder, "--logfile", os.path.join(self.folder, "redis.log"), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        _started.append(self.process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.cli("PING", timeout=1) == "PONG":
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start: {self.log_tail()}")

    def cli(self, *args, timeout=5):
        """One redis-cli command; its output stripped, or None if it failed or timed out."""
        try:
            done = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    def kill(self):
        """kill -9: every link sees a reset."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def freeze(self):
        """SIGSTOP: sockets stay open, the kernel even accepts new ones, nothing is answered."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def restart_empty(self):
        """Killed and started again on the same port with nothing: what a restart without persistence is."""
        self.kill()
        self.start()

    def kill_client_links(self):
        """CLIENT KILL TYPE normal: every ordinary link of every node (not redis-cli's own); the count."""
        return int(self.cli("CLIENT", "KILL", "TYPE", "normal") or 0)

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.folder, "redis.log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


class Node:
    """One Tether process of the cluster; its output is read all along (a full pipe would stall it)."""

    def __init__(self, name, redis_url, *args, env=None, port=0, cluster_flag=True):
        self.name = name
        self.log = collections.deque(maxlen=4000)
        joins = ["--cluster", redis_url] if cluster_flag else []
        try:
            self.server = RunningServer(*joins, *args, env=env, port=port, preexec_fn=_die_with_parent)
        except RuntimeError as failure:
            if "--cluster" in str(failure) and "nknown option" in str(failure):
                raise Unsupported(str(failure)) from None
            raise
        self.process = self.server.process
        _started.append(self.process)
        self.port = self.server.port
        self.url = self.server.url
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=self._drain, args=(stream,), daemon=True).start()

    def _drain(self, stream):
        for line in stream:
            self.log.append(line.rstrip("\n"))

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def kill9(self):
        self.process.kill()
        self.process.wait()

    def terminate(self):
        """SIGTERM: the drain."""
        self.process.terminate()

    def freeze(self):
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def wait(self, timeout=15):
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def http(self, path):
        return get(self.port, path)

    def metrics(self):
        """Samples of GET /metrics without labels, name -> value."""
        _, body = self.http("/metrics")
        samples = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def tail(self, lines=40):
        return "\n".join(list(self.log)[-lines:])


class Cluster:
    """redis-server plus `nodes` Tether nodes, each with `args`, joined to `db` if given (and the
    fault helpers above)."""

    def __init__(self, nodes=3, args=(), lease=3, db=None):
        self.args = ["--limit-exempt", "127.0.0.0/8", "--cluster-lease-seconds", str(lease), *args]
        self.lease = lease
        self.nodes = []
        self.redis = Redis()
        self.url = self.redis.url + (f"/{db}" if db is not None else "")
        try:
            for _ in range(nodes):
                self.add_node()
            # A node listens before its first Redis link is up; a test starts from a joined fleet.
            asyncio.run(self.wait_ready())
        except BaseException:
            self.close()
            raise

    def add_node(self, *extra, port=0, env=None, cluster_flag=True):
        node = Node("ABCDEFGHIJ"[len(self.nodes)], self.url, *self.args, *extra, env=env, port=port,
                    cluster_flag=cluster_flag)
        self.nodes.append(node)
        return node

    def __getitem__(self, index):
        return self.nodes[index]

    async def wait_ready(self, nodes=None, timeout=20, status=200):
        """Until every node's /readyz answers `status` (a bound, not a timing assertion)."""
        nodes = [n for n in (nodes or self.nodes) if n.alive()]
        deadline = time.monotonic() + timeout
        while True:
            answers = {n.name: (await asyncio.to_thread(n.http, "/readyz"))[0] for n in nodes}
            if all(code == status for code in answers.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz not {status} within {timeout} s: {answers}\n{self.logs()}")
            await asyncio.sleep(0.1)

    def logs(self):
        parts = [f"--- node {n.name} (port {n.port}, pid {n.pid}, {'alive' if n.alive() else 'exited'})\n{n.tail()}"
                 for n in self.nodes]
        parts.append(f"--- redis (port {self.redis.port})\n{self.redis.log_tail()}")
        return "\n".join(parts)

    def close(self):
        for node in self.nodes:          # all drain at once, then each is waited for (or killed)
            if node.alive():
                node.process.send_signal(signal.SIGCONT)
                node.process.terminate()
        for node in self.nodes:
            node.stop()
        self.redis.stop()


class Peer:
    """A device connection whose every frame is recorded (arrival time, raw text, parsed) by a reader task."""

    def __init__(self, ws, device):
        self.ws = ws
        self.device = device
        self.frames = []           # (monotonic time, raw, parsed JSON or None)
        self.ended = False         # the connection is closed (the reader saw its end)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, node, device, query="", **kwargs):
        """Connects; with queryStatus in `query`, returns once its answer came (in a cluster the
        answer takes a round trip to Redis, and reflects what happened meanwhile)."""
        path = f"/?device_id={device}" + (f"&{query}" if query else "")
        ws = await websockets.connect(node.url + path, max_size=None, max_queue=None, **kwargs)
        peer = cls(ws, device)
        if "queryStatus=" in query:
            await peer.until(lambda: peer.replies(), what="the connect-time queryStatus answer")
        return peer

    async def _read(self):
        try:
            async for raw in self.ws:
                self.frames.append((time.monotonic(), raw, json.loads(raw) if isinstance(raw, str) else None))
        except ConnectionClosed:
            pass
        finally:
            self.ended = True

    def parsed(self):
        return [m for _, _, m in self.frames if m is not None]

    def presence_of(self, device):
        """The presence events heard about `device`, in order (`["online", "offline", ...]`)."""
        return [m["msg"] for m in self.parsed() if m.get("to") == "all" and m.get("from") == device]

    def messages(self):
        """Raw text of every routed message (frames with a `from` that are not presence)."""
        return [raw for _, raw, m in self.frames if m is not None and "from" in m and m.get("to") != "all"]

    def replies(self):
        return [m for m in self.parsed() if "from" not in m]

    def reply_to(self, message_id):
        return next((m for m in self.replies() if m.get("id") == message_id), None)

    @property
    def close_received(self):
        """(code, reason) of the server's close frame, or None (none came: a reset, a kill)."""
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code, rcvd.reason) if rcvd is not None else None

    async def until(self, predicate, timeout=10, what="the expected frames"):
        """Waits (bounded) until predicate() holds, looking every 20 ms; else fails showing the last frames."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                last = [raw for _, raw, _ in self.frames[-15:]]
                raise AssertionError(f"{self.device}: no {what} within {timeout} s; last frames: {last}")
            await asyncio.sleep(0.02)

    async def send(self, text):
        await self.ws.send(text)

    async def ask(self, message_id, command):
        """Sends a server command with an id and returns its reply."""
        await self.send(json.dumps({"id": message_id, "from": self.device, "to": "server", **command}))
        await self.until(lambda: self.reply_to(message_id) is not None, what=f"reply {message_id!r}")
        return self.reply_to(message_id)

    async def query_status(self, message_id, *devices):
        return await self.ask(message_id, {"msg": "queryStatus", "data": list(devices)})

    async def close(self):
        await self.ws.close()
        await asyncio.wait_for(self._reader, 5)


# --- fixtures shared by the cluster test modules (imported there by name) ------------------------

@pytest.fixture(scope="module", autouse=True)
def cluster_mode_supported():
    """Skips the module without redis-server, or with a tether that has no --cluster."""
    try:
        probe = Cluster(nodes=1)
    except FileNotFoundError:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    except Unsupported as refused:
        pytest.skip(f"this tether has no cluster mode yet: {refused}")
    probe.close()


@pytest.fixture
def make_cluster():
    """make(nodes, args, lease, db): a Cluster closed (its logs printed) after the test."""
    made = []

    def make(nodes=3, args=(), lease=3, db=None):
        cluster = Cluster(nodes=nodes, args=args, lease=lease, db=db)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        print(cluster.logs())       # shown by pytest only when the test failed
        cluster.close()
