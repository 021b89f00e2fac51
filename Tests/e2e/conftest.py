"""Starts the built `tether` binary on a free port for each test module."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

BIN = os.environ.get("TETHER_BIN", ".build/debug/tether")


class RunningServer:
    def __init__(self, *args, env=None, port=0, **popen):
        full_env = dict(os.environ, **(env or {}))
        # Each server keeps its messages in a state directory of its own (one process per
        # directory), unless the test names one (to restart on it).
        self.own_state = None
        if "--state-dir" not in args and "TETHER_STATE_DIR" not in full_env:
            self.own_state = tempfile.mkdtemp(prefix="tether-e2e-state-")
            args = (*args, "--state-dir", self.own_state)
        self.process = subprocess.Popen(
            [BIN, "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, text=True, **popen)
        line = self.process.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.process.stderr.read()}")
        self.port = int(match.group(1))
        self.url = f"ws://127.0.0.1:{self.port}"

    def stop(self):
        self.process.terminate()
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            if self.own_state:
                shutil.rmtree(self.own_state, ignore_errors=True)


def free_port():
    """A port free now (for a server that must know its own URL before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def echo_server():
    server = RunningServer("--echo")
    yield server
    assert server.stop() == 0


@pytest.fixture
def start_server():
    started = []

    def start(*args, env=None, port=0):
        server = RunningServer(*args, env=env, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
