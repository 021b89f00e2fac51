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
                      ([], {"TETHER_PORT": "many"}), ([], {"TETHER_PING_INTERVAL": "-1"}), ([], {"TETHER_ECHO": "maybe"}),
                      (["--public-url", "ftp://tv"], None), ([], {"TETHER_PUBLIC_URL": "https://tv/?x=1"})]:
        code, lines = run_bad(args, env)
        assert code == 2, (args, env, lines)
        assert len(lines) == 1 and lines[0].startswith("tether: "), lines


def test_json_logs_are_one_object_per_line():
    import json
    server = RunningServer("--log-format", "json", "--log-level", "debug")
    try:
        from rawws import RawClient
        client = RawClient(server.port, path="/?device_id=log-box")
        client.close()
    finally:
        assert server.stop() == 0
    lines = [line for line in server.process.stdout.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all({"time", "level", "message"} <= set(r) for r in records)
    assert any(r["message"] == "device connected" and r.get("device") == "log-box" for r in records)


def test_bad_log_settings_exit_2():
    for args in (["--log-format", "xml"], ["--log-level", "loud"]):
        code, lines = run_bad(args)
        assert code == 2 and len(lines) == 1, (args, lines)
