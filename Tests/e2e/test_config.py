"""Configuration: flags, TETHER_* environment variables (flags win), and bad values."""
import os
import subprocess

from conftest import BIN, RunningServer


def test_environment_sets_options_and_flags_win():
    server = RunningServer(env={"TETHER_PORT": "1", "TETHER_PRESENCE": "off", "TETHER_ECHO": "true"})
    try:
        # --port 0 from the fixture wins over TETHER_PORT=1; TETHER_ECHO enabled /echo.
        assert server.port != 1
        from rawws import RawClient
        client = RawClient(server.port, path="/echo")
        assert client.status == 101
        client.close()
    finally:
        server.stop()


def run_bad(args, env=None):
    result = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10,
                            env=dict(os.environ, **(env or {})))
    return result.returncode, result.stderr.strip().splitlines()


def test_bad_values_fail_with_one_line_and_exit_2():
    for args, env in [(["--port", "abc"], None), (["--port", "70000"], None), (["--presence", "loud"], None),
                      ([], {"TETHER_PORT": "many"}), ([], {"TETHER_PING_INTERVAL": "-1"}), ([], {"TETHER_ECHO": "maybe"})]:
        code, lines = run_bad(args, env)
        assert code == 2, (args, env, lines)
        assert len(lines) == 1 and lines[0].startswith("tether: "), lines
