"""The JavaScript client library (clients/js) in Node against the real server: each test file
there starts the built binary itself (TETHER_BIN), since one of them restarts it on its port."""
import os
import pathlib
import subprocess
import urllib.request

import pytest

from conftest import BIN

CLIENT = pathlib.Path(__file__).resolve().parents[2] / "clients" / "js"
# Debian's node-ws installs the ws package here; Node 20 has no WebSocket of its own.
DEBIAN_NODE_MODULES = "/usr/share/nodejs"


@pytest.mark.parametrize("name", sorted(p.name for p in (CLIENT / "test").glob("*.test.js")))
def test_node_suite(name):
    paths = [p for p in (os.environ.get("NODE_PATH"), DEBIAN_NODE_MODULES) if p]
    env = dict(os.environ, TETHER_BIN=os.path.abspath(BIN), NODE_PATH=os.pathsep.join(paths))
    run = subprocess.run(["node", "--test", "--test-reporter=tap", str(CLIENT / "test" / name)],
                         capture_output=True, text=True, timeout=180, env=env)
    failures = [line for line in run.stdout.splitlines() if line.lstrip().startswith("not ok")]
    assert run.returncode == 0, "\n".join(failures) + "\n" + run.stdout[-4000:] + run.stderr[-2000:]


def test_server_serves_the_library_the_pages_import(start_server):
    """/tether-client.js is this folder's file, byte for byte, under the pages' CSP."""
    server = start_server()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/tether-client.js", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.read() == (CLIENT / "tether-client.js").read_bytes()
    for page in ("box", "remote"):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/static/{page}.js", timeout=10) as response:
            assert b'from "/tether-client.js"' in response.read()
