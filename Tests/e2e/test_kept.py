"""Messages kept for offline devices (#18), with Python `websockets` over real sockets: status 8 and
receipts, order, expiry, the bounds, the ttl range, and nothing accepted lost to a kill -9, a drain
or a recipient whose connection dies before its socket took them."""
import asyncio
import json
import os
import signal
import socket

import pytest

from conftest import RunningServer
from devices import connect, expect_silence, presence, recv_json, recv_until, run
from test_metrics import scrape
from trust import Keys, http


def say(sender, to, msg, **more):
    return json.dumps({"from": sender, "to": to, "msg": msg, **more})


def is_reply(frame):
    return "from" not in frame


def queued(recipient, id=None):
    reply = {"status": 8, "message": "queued", "data": {recipient: "offline"}}
    return reply if id is None else {**reply, "id": id}


def delivered(recipient, id):
    return {"status": 0, "message": "delivered", "data": {recipient: "online"}, "id": id}


async def next_reply(ws, timeout=10):
    return await recv_until(ws, is_reply, timeout)


async def keep_all(ws, sender, to, count, ttl=60, first_id=0, **more):
    """Sends `count` kept messages numbered from `first_id`; returns their bytes once each got status 8."""
    sent = [say(sender, to, {"n": first_id + n}, id=first_id + n, ttl=ttl, **more) for n in range(count)]
    for text in sent:
        await ws.send(text)
    replies = [await next_reply(ws) for _ in sent]
    assert replies == [queued(to, first_id + n) for n in range(count)]
    return sent


async def frames(ws, count, timeout=10):
    return [await asyncio.wait_for(ws.recv(), timeout) for _ in range(count)]


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / "state")


def test_a_kept_message_gets_status_8_arrives_unchanged_after_the_recipients_online_and_both_receipts(start_server, state):
    server = start_server("--state-dir", state)

    async def go():
        async with await connect(server, "k-phone") as phone:
            await recv_json(phone)
            raw = '{ "from":"k-phone", "to":"k-box" ,"msg":{"key":"up","x":"\\u00e9"},"id":17,"ttl":60}'
            await phone.send(raw)
            assert await recv_json(phone) == queued("k-box", 17)
            await phone.send(say("k-phone", "k-box", "no id", ttl=60))
            assert await recv_json(phone) == queued("k-box")
            async with await connect(server, "k-box", query="queryStatus=k-phone") as box:
                assert await recv_json(box) == {"status": 0, "message": "ok", "data": {"k-phone": "online"}}
                assert await recv_json(box) == presence("k-box", "online")
                assert await asyncio.wait_for(box.recv(), 5) == raw   # byte for byte
                assert json.loads(await asyncio.wait_for(box.recv(), 5))["msg"] == "no id"
                assert await next_reply(phone) == delivered("k-box", 17)
                await expect_silence(box)
                # Only a message with an id has a receipt.
                assert [m for m in await drain(phone) if is_reply(m)] == []
    run(go())


async def drain(ws, seconds=0.5):
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    except asyncio.TimeoutError:
        return got


def test_kept_messages_come_in_order_before_live_ones_sent_the_moment_online_is_heard(start_server, state):
    server = start_server("--state-dir", state)

    async def go():
        async with await connect(server, "o-a") as a, await connect(server, "o-b") as b:
            await recv_until(a, lambda m: m == presence("o-b", "online"))
            sent = []
            for n in range(50):   # two senders, interleaved: 100 kept in all
                for ws, name in ((a, "o-a"), (b, "o-b")):
                    sent.append(say(name, "o-box", {"kept": n}, ttl=60))
                    await ws.send(sent[-1])
            for ws in (a, b):
                assert [await next_reply(ws) for _ in range(50)] == [queued("o-box")] * 50

            async def live_on_online(ws, name):
                await recv_until(ws, lambda m: m == presence("o-box", "online"))
                texts = [say(name, "o-box", {"live": n}) for n in range(20)]
                for text in texts:
                    await ws.send(text)
                return texts

            live_a = asyncio.create_task(live_on_online(a, "o-a"))
            live_b = asyncio.create_task(live_on_online(b, "o-b"))
            async with await connect(server, "o-box") as box:
                assert await recv_json(box) == presence("o-box", "online")
                got = await frames(box, 140)
                live = (await live_a) + (await live_b)
                assert sorted(got[:100]) == sorted(sent)      # the kept ones first, each once
                assert sorted(got[100:]) == sorted(live)      # then live traffic, each once
                for name in ("o-a", "o-b"):                   # from each sender in the order sent
                    mine = [json.loads(m) for m in got if json.loads(m)["from"] == name]
                    assert [m["msg"] for m in mine] == [{"kept": n} for n in range(50)] + [{"live": n} for n in range(20)]
                await expect_silence(box)
    run(go())


def test_a_message_whose_ttl_runs_out_is_not_delivered_and_its_sender_hears_expired(start_server, state):
    server = start_server("--state-dir", state)

    async def go():
        async with await connect(server, "e-phone") as phone:
            await recv_json(phone)
            await phone.send(say("e-phone", "e-box", "too late", id=5, ttl=2))
            assert await recv_json(phone) == queued("e-box", 5)
            assert await next_reply(phone, timeout=6) == {"status": 1, "message": "expired", "data": {"e-box": "offline"}, "id": 5}
            await asyncio.sleep(4 - 2)   # the recipient comes 4 s after the message
            async with await connect(server, "e-box") as box:
                assert await recv_json(box) == presence("e-box", "online")
                await expect_silence(box, 1)
        assert scrape(server.port)["tether_kept_expired_total"] == 1
    run(go())


ONE = len(say("b-phone", "b-box", {"n": 0}, id=0, ttl=60))   # the size of each message below (ids 100+: 4 more)


@pytest.mark.parametrize("bound,args", [
    ("recipient_messages", ("--offline-max-messages", "3")),
    ("recipient_bytes", ("--offline-max-bytes", str(3 * ONE + ONE // 2))),
    ("total_bytes", ("--offline-max-total-bytes", str(2 * (ONE + 4) + ONE // 2))),
])
def test_past_each_bound_the_message_is_status_5_and_not_kept_while_the_kept_ones_are_delivered(start_server, state, bound, args):
    server = start_server("--state-dir", state, *args)

    async def go():
        async with await connect(server, "b-phone") as phone:
            await recv_json(phone)
            target = "b-box" if bound != "total_bytes" else "b-other"
            if bound == "total_bytes":   # another recipient fills most of what the server keeps
                await keep_all(phone, "b-phone", "b-box", 2, first_id=100)
            else:
                await keep_all(phone, "b-phone", "b-box", 3)
            await phone.send(say("b-phone", target, {"n": 9}, id=9, ttl=60))
            assert await next_reply(phone) == {"status": 5, "message": "offline queue full", "data": {target: "offline"}, "id": 9}
            async with await connect(server, "b-box") as box:
                assert await recv_json(box) == presence("b-box", "online")
                got = [json.loads(m)["msg"]["n"] for m in await frames(box, 2 if bound == "total_bytes" else 3)]
                assert got == ([100, 101] if bound == "total_bytes" else [0, 1, 2])
                await expect_silence(box)
            async with await connect(server, target) as again:
                assert await recv_json(again) == presence(target, "online")
                await expect_silence(again)   # the refused one was not kept
        metrics = scrape(server.port)
        assert metrics[f'tether_kept_refused_total{{limit={bound}}}'] == 1
        assert metrics["tether_kept_messages"] == 0
    run(go())


@pytest.mark.parametrize("ttl", [0, 301, -1, 1.5, "5", None, True, [30]])
def test_a_ttl_that_is_not_whole_seconds_in_range_is_status_2_naming_the_range(start_server, state, ttl):
    server = start_server("--state-dir", state)

    async def go():
        async with await connect(server, "t-phone") as phone, await connect(server, "t-box") as box:
            await recv_until(phone, lambda m: m == presence("t-box", "online"))
            assert await recv_json(box) == presence("t-box", "online")
            for to in ("t-box", "t-nobody"):   # online or not
                await phone.send(say("t-phone", to, "x", id=3, ttl=ttl))
                assert await next_reply(phone) == {"status": 2, "message": '"ttl" must be whole seconds from 1 to 300', "data": {}, "id": 3}
            await expect_silence(box)
    run(go())


def test_the_ttl_range_and_a_default_ttl_follow_the_flags(start_server, state):
    server = start_server("--state-dir", state, "--max-offline-ttl", "10", "--offline-ttl", "5")

    async def go():
        async with await connect(server, "f-phone") as phone:
            await recv_json(phone)
            await phone.send(say("f-phone", "f-box", "x", ttl=11))
            assert (await next_reply(phone))["message"] == '"ttl" must be whole seconds from 1 to 10'
            await phone.send(say("f-phone", "f-box", "ten", ttl=10))
            assert await next_reply(phone) == queued("f-box")
            await phone.send(say("f-phone", "f-box", "default"))   # no ttl: --offline-ttl
            assert await next_reply(phone) == queued("f-box")
            async with await connect(server, "f-box") as box:
                await recv_json(box)
                assert [json.loads(m)["msg"] for m in await frames(box, 2)] == ["ten", "default"]
    run(go())


def test_without_a_ttl_an_offline_recipient_is_status_1_as_before(start_server, state):
    server = start_server("--state-dir", state)

    async def go():
        async with await connect(server, "n-phone") as phone:
            await recv_json(phone)
            await phone.send(say("n-phone", "n-box", "press", id=1))
            assert await next_reply(phone) == {"status": 1, "message": "target offline", "data": {"n-box": "offline"}, "id": 1}
            async with await connect(server, "n-box") as box:
                await recv_json(box)
                await expect_silence(box)
    run(go())


def test_after_kill_9_right_after_status_8_a_restart_delivers_every_message_once(state):
    first = RunningServer("--state-dir", state)
    try:
        async def keep():
            async with await connect(first, "c-phone") as phone:
                await recv_json(phone)
                return await keep_all(phone, "c-phone", "c-box", 20)
        sent = run(keep())
    finally:
        first.process.send_signal(signal.SIGKILL)   # no drain, no close: straight after the last status 8
        first.process.wait(timeout=10)
    again = RunningServer("--state-dir", state)
    try:
        async def deliver():
            async with await connect(again, "c-phone") as phone:
                await recv_json(phone)
                async with await connect(again, "c-box") as box:
                    assert await recv_json(box) == presence("c-box", "online")
                    assert await frames(box, 20) == sent
                    await expect_silence(box, 1)
                receipts = [await next_reply(phone) for _ in range(20)]
                assert receipts == [delivered("c-box", n) for n in range(20)]
        run(deliver())
    finally:
        assert again.stop() == 0


def test_a_sigterm_drain_keeps_what_is_kept_and_a_restart_redelivers_nothing_delivered(state):
    def serve():
        return RunningServer("--state-dir", state)

    server = serve()
    try:
        async def keep():
            async with await connect(server, "d-phone") as phone:
                await recv_json(phone)
                return await keep_all(phone, "d-phone", "d-box", 5)
        sent = run(keep())
    finally:
        assert server.stop() == 0
    server = serve()
    try:
        async def deliver():
            async with await connect(server, "d-box") as box:
                assert await recv_json(box) == presence("d-box", "online")
                assert await frames(box, 5) == sent
        run(deliver())
    finally:
        assert server.stop() == 0
    server = serve()
    try:
        async def nothing_again():
            async with await connect(server, "d-box") as box:
                assert await recv_json(box) == presence("d-box", "online")
                await expect_silence(box, 1)
        run(nothing_again())
        assert scrape(server.port)["tether_kept_messages"] == 0
    finally:
        assert server.stop() == 0


def test_the_memory_store_says_at_start_that_a_restart_loses_kept_messages(state):
    server = RunningServer("--state-dir", state, "--offline-store", "memory")
    try:
        async def keep():
            async with await connect(server, "m-phone") as phone:
                await recv_json(phone)
                await keep_all(phone, "m-phone", "m-box", 1)
        run(keep())
    finally:
        assert server.stop() == 0
    assert "a restart loses them" in server.process.stderr.read()
    assert not os.path.exists(os.path.join(state, "kept.sqlite3"))
    again = RunningServer("--state-dir", state, "--offline-store", "memory")
    try:
        async def gone():
            async with await connect(again, "m-box") as box:
                await recv_json(box)
                await expect_silence(box)
        run(gone())
    finally:
        again.stop()


def test_a_second_server_on_the_same_state_dir_is_refused(start_server, state):
    start_server("--state-dir", state)
    with pytest.raises(RuntimeError, match="in use by another process"):
        RunningServer("--state-dir", state)


def test_metrics_and_the_device_api_count_kept_messages(start_server, tmp_path, state):
    api_key = os.urandom(16).hex()
    (tmp_path / "api.key").write_text(api_key)
    server = start_server("--state-dir", state, "--api-key-file", str(tmp_path / "api.key"))

    async def go():
        async with await connect(server, "a-phone") as phone:
            await recv_json(phone)
            sent = await keep_all(phone, "a-phone", "a-box", 2)
            status, body = http(server.port, "GET", "/api/devices/a-box", key=api_key)
            assert status == 200
            assert body["data"] == {"id": "a-box", "online": False, "kept": 2, "kept_bytes": sum(len(s) for s in sent)}
            metrics = scrape(server.port)
            assert metrics["tether_kept_messages"] == 2 and metrics["tether_kept_bytes"] == sum(len(s) for s in sent)
            assert metrics["tether_kept_total"] == 2 and metrics["tether_kept_delivered_total"] == 0
            assert "tether_routing_errors_total{status=8}" not in metrics   # status 8 is no error
            async with await connect(server, "a-box") as box:
                await frames(box, 3)
                status, body = http(server.port, "GET", "/api/devices/a-box", key=api_key)
                assert body["data"]["online"] is True and body["data"]["kept"] == 0 and body["data"]["kept_bytes"] == 0
            metrics = scrape(server.port)
            assert metrics["tether_kept_messages"] == 0 and metrics["tether_kept_delivered_total"] == 2
    run(go())


def test_token_mode_keeps_only_for_allowed_senders_and_an_unpair_drops_what_was_kept(start_server, tmp_path):
    keys = Keys(str(tmp_path))
    server = start_server(*keys.server_args())

    def url(device, **claims):
        return f"{server.url}/?device_id={device}&token={keys.token(device, **claims)}"

    async def go():
        import websockets
        async with websockets.connect(url("tk-box", kind="box", peers=["tk-phone"])) as box, \
                websockets.connect(url("tk-stranger", kind="phone")) as stranger:
            await recv_json(box)
            await stranger.send(say("tk-stranger", "tk-phone", "hi", id=1, ttl=60))
            assert await next_reply(stranger) == {"status": 4, "message": "not paired with tk-phone", "data": {}, "id": 1}
            await box.send(say("tk-box", "tk-phone", "for later", id=2, ttl=60))
            assert await next_reply(box) == queued("tk-phone", 2)
            assert http(server.port, "GET", "/api/devices/tk-phone", key=keys.api_key)[1]["data"]["kept"] == 1
            await box.send(say("tk-box", "server", "unpair", data=["tk-phone"], id=3))
            assert await next_reply(box) == {"status": 0, "message": "unpaired", "data": {}, "id": 3}
            assert http(server.port, "GET", "/api/devices/tk-phone", key=keys.api_key)[1]["data"]["kept"] == 0
        async with websockets.connect(url("tk-phone", kind="phone", peers=["tk-box"])) as phone:
            assert await recv_json(phone) == presence("tk-phone", "online")
            await expect_silence(phone)
    run(go())


def test_kept_messages_written_to_a_connection_that_dies_unread_are_kept_again_in_order(start_server, state):
    # A recipient that connects, takes nothing from its socket and goes silent (a phone whose
    # network went): what its socket never took is kept again when the heartbeat gives it up.
    server = start_server("--state-dir", state, "--ping-interval", "1", "--ping-timeout", "1",
                          "--send-buffer-bytes", "4096", "--offline-max-bytes", "1048576")

    async def keep():
        async with await connect(server, "dead-phone") as phone:
            await recv_json(phone)
            sent = [say("dead-phone", "dead-box", "x" * 50_000, n=n, ttl=60) for n in range(10)]
            for text in sent:
                await phone.send(text)
            assert [await next_reply(phone) for _ in sent] == [queued("dead-box")] * 10
            return sent
    sent = run(keep())

    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # takes little: most stays with the server
    silent.connect(("127.0.0.1", server.port))
    silent.sendall(b"GET /?device_id=dead-box HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    try:
        async def after_the_heartbeat():
            for _ in range(100):   # the heartbeat closes it within interval + timeout (and a sweep)
                if scrape(server.port)["tether_heartbeat_timeouts_total"] == 1:
                    break
                await asyncio.sleep(0.1)
            assert scrape(server.port)["tether_heartbeat_timeouts_total"] == 1
            async with await connect(server, "dead-box") as box:
                assert await recv_json(box) == presence("dead-box", "online")
                got = [json.loads(m)["n"] for m in await frames(box, 10)]
                assert got == list(range(10))   # none lost, none twice, in order
                await expect_silence(box)
        run(after_the_heartbeat())
    finally:
        silent.close()


@pytest.mark.parametrize("args,why", [
    (("--offline-store", "disk"), "sqlite or memory"),
    (("--offline-sync", "sometimes"), "full or normal"),
    (("--max-offline-ttl", "0"), "--max-offline-ttl must be in 1...604800"),
    (("--offline-ttl", "400"), "longer than --max-offline-ttl 300"),
    (("--offline-max-messages", "2000000"), "--offline-max-messages must be in 0...1000000"),
])
def test_bad_keeping_flags_stop_the_start_with_one_line(args, why):
    import subprocess
    from conftest import BIN
    run = subprocess.run([BIN, "--port", "0", *args], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert why in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_offline_sync_normal_still_delivers_after_kill_9(state):
    first = RunningServer("--state-dir", state, "--offline-sync", "normal")
    try:
        async def keep():
            async with await connect(first, "s-phone") as phone:
                await recv_json(phone)
                return await keep_all(phone, "s-phone", "s-box", 3)
        sent = run(keep())
    finally:
        first.process.send_signal(signal.SIGKILL)   # the process dies; the operating system keeps its writes
        first.process.wait(timeout=10)
    again = RunningServer("--state-dir", state)
    try:
        async def deliver():
            async with await connect(again, "s-box") as box:
                await recv_json(box)
                assert await frames(box, 3) == sent
        run(deliver())
    finally:
        again.stop()
