"""Cluster mode (issue 13) end to end: several Tether nodes sharing one real redis-server behave as
one server, and survive a node killed with -9, a Redis frozen, killed or restarted empty, killed
links and a drained node. Each test gets its own Redis and nodes (cluster.py). Timeouts are bounds,
never timing assertions. Skipped as a whole while the binary has no --cluster."""
import asyncio
import base64
import collections
import json
import os
import resource
import time

import pytest

from cluster import Cluster, Peer, cluster_mode_supported, get, make_cluster  # noqa: F401 (fixtures)
from conftest import RunningServer, free_port
from devices import run
from rawws import masked_frame



def presence(device, state):
    return {"from": device, "to": "all", "msg": state}


def message(sender, recipient, body, message_id=None):
    fields = {} if message_id is None else {"id": message_id}
    return json.dumps({**fields, "from": sender, "to": recipient, "msg": body})


async def quiet(seconds):
    """Lets a duplicate or a late event arrive before events are counted."""
    await asyncio.sleep(seconds)


def online_everywhere(peer, devices):
    return lambda: all(peer.presence_of(d)[-1:] == ["online"] for d in devices)


# --- routing across nodes -----------------------------------------------------------------------

def test_a_message_to_a_device_on_another_node_arrives_byte_for_byte(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        box = await Peer.open(cluster[1], "bb-box")
        phone = await Peer.open(cluster[0], "bb-phone", query="queryStatus=bb-box")
        assert phone.replies()[0]["data"] == {"bb-box": "online"}
        raw = '{ "from":"bb-phone" , "to":"bb-box","msg":{"key":"OK","n":[1,2.5e3,null]},"x":"é\\u00e9\\ud83d\\ude00"}'
        await phone.send(raw)
        await box.until(lambda: box.messages(), what="the routed message")
        assert box.messages() == [raw]
        assert phone.replies()[1:] == []
        big = message("bb-phone", "bb-box", "x" * 200_000)     # larger than one socket read anywhere
        await phone.send(big)
        await box.until(lambda: len(box.messages()) == 2, what="the 200 kB message")
        assert box.messages()[1] == big
        await phone.close()
        await box.close()
    run(go())


def test_a_device_on_no_node_is_offline_with_status_1(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        phone = await Peer.open(cluster[0], "off-phone")
        await phone.send(message("off-phone", "off-nobody", "hello", "m1"))
        await phone.until(lambda: phone.reply_to("m1"), what="status 1")
        assert phone.reply_to("m1") == {"status": 1, "message": "target offline", "data": {"off-nobody": "offline"},
                                        "id": "m1"}
        gone = await Peer.open(cluster[1], "off-gone")    # was on node B, left: offline again
        await phone.until(online_everywhere(phone, ["off-gone"]), what="off-gone online")
        await gone.close()
        await phone.until(lambda: phone.presence_of("off-gone")[-1:] == ["offline"], what="off-gone offline")
        await phone.send(message("off-phone", "off-gone", "hello", "m2"))
        await phone.until(lambda: phone.reply_to("m2"), what="status 1")
        assert phone.reply_to("m2")["status"] == 1
        await phone.close()
    run(go())


def test_1000_numbered_messages_keep_their_order_per_sender_across_nodes(make_cluster):
    """Two senders on two other nodes send to one box, interleaved, without waiting: each sender's
    1,000 messages arrive complete, unchanged and in the order sent."""
    cluster = make_cluster(nodes=3)
    count = 1000

    async def go():
        box = await Peer.open(cluster[1], "ord-box")
        senders = [await Peer.open(cluster[0], "ord-a"), await Peer.open(cluster[2], "ord-c")]
        sent = {s.device: [message(s.device, "ord-box", {"n": i, "pad": "y" * (i % 7)}) for i in range(count)]
                for s in senders}
        for i in range(count):
            for s in senders:
                await s.send(sent[s.device][i])
        await box.until(lambda: len(box.messages()) == 2 * count, timeout=30, what=f"{2 * count} messages")
        for s in senders:
            got = [raw for raw in box.messages() if json.loads(raw)["from"] == s.device]
            assert got == sent[s.device], f"{s.device}: lost, altered or reordered"
            assert s.replies() == [], f"{s.device} got error replies: {s.replies()[:3]}"
        for peer in [box, *senders]:
            await peer.close()
    run(go())


def test_a_newer_connection_on_another_node_replaces_the_old_with_4001_and_no_presence(make_cluster):
    cluster = make_cluster(nodes=3, args=["--presence", "watchers"])

    async def go():
        watcher = await Peer.open(cluster[2], "rp-watch", query="queryStatus=rp-box")
        old = await Peer.open(cluster[0], "rp-box")
        await watcher.until(online_everywhere(watcher, ["rp-box"]), what="rp-box online")
        new = await Peer.open(cluster[1], "rp-box")
        await old.until(lambda: old.ended, what="the old connection's close")
        assert old.close_received == (4001, "replaced")
        await quiet(1.0)
        assert watcher.presence_of("rp-box") == ["online"], "a replace must not be announced"
        await watcher.send(message("rp-watch", "rp-box", "to the new one"))
        await new.until(lambda: new.messages(), what="the message, at the new connection")
        assert json.loads(new.messages()[0])["msg"] == "to the new one"
        await new.close()
        await watcher.until(lambda: watcher.presence_of("rp-box") == ["online", "offline"], what="rp-box offline")
        await quiet(0.5)
        assert watcher.presence_of("rp-box") == ["online", "offline"]
        await watcher.close()
    run(go())


def test_query_status_and_online_status_answer_for_the_whole_fleet(make_cluster):
    cluster = make_cluster(nodes=3)

    async def go():
        a = await Peer.open(cluster[0], "qs-a")
        b = await Peer.open(cluster[1], "qs-b")
        asker = await Peer.open(cluster[2], "qs-c", query="queryStatus=qs-a,qs-b,qs-none")
        assert asker.replies()[0] == {"status": 0, "message": "ok",
                                      "data": {"qs-a": "online", "qs-b": "online", "qs-none": "offline"}}
        assert await asker.query_status("q1", "qs-a", "qs-b", "qs-c", "qs-none") == {
            "status": 0, "message": "ok", "id": "q1",
            "data": {"qs-a": "online", "qs-b": "online", "qs-c": "online", "qs-none": "offline"}}
        for node in cluster.nodes:
            status, body = await asyncio.to_thread(node.http, "/online_status?deviceid=qs-a,qs-b,qs-c,qs-none")
            assert status == 200, node.name
            assert json.loads(body)["data"] == {"qs-a": "online", "qs-b": "online", "qs-c": "online",
                                                "qs-none": "offline"}, node.name
        await b.close()
        await asker.until(lambda: asker.presence_of("qs-b")[-1:] == ["offline"], what="qs-b offline")
        assert (await asker.query_status("q2", "qs-b"))["data"] == {"qs-b": "offline"}
        status, body = await asyncio.to_thread(cluster[0].http, "/online_status?deviceid=qs-b")
        assert json.loads(body)["data"] == {"qs-b": "offline"}
        await a.close()
        await asker.close()
    run(go())


@pytest.mark.parametrize("mode", ["all", "watchers"])
def test_the_connect_time_answer_is_the_first_frame_as_on_one_node(make_cluster, mode):
    """docs/protocol.md: with queryStatus in the URL, the answer comes right after the handshake,
    before the device's own online (test_devices checks the same on one node)."""
    cluster = make_cluster(nodes=2, args=["--presence", mode])

    async def go():
        # Node A has heard the box come online before the phone connects (in mode all an online
        # still on its way would otherwise, rightly, reach the phone between the two frames).
        observer = await Peer.open(cluster[0], "fa-observer", query="queryStatus=fa-box")
        box = await Peer.open(cluster[1], "fa-box")
        await observer.until(lambda: presence("fa-box", "online") in [m for _, _, m in observer.frames], what="the box online")
        phone = await Peer.open(cluster[0], "fa-phone", query="queryStatus=fa-box,fa-none")
        await phone.until(lambda: len(phone.frames) >= 2, what="the answer and the own online")
        assert [m for _, _, m in phone.frames[:2]] == [
            {"status": 0, "message": "ok", "data": {"fa-box": "online", "fa-none": "offline"}},
            presence("fa-phone", "online")]
        await phone.close()
        await box.close()
        await observer.close()
    run(go())


# --- presence across nodes ----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["all", "watchers"])
def test_a_watcher_on_another_node_hears_each_change_exactly_once(make_cluster, mode):
    cluster = make_cluster(nodes=3, args=["--presence", mode])

    async def go():
        watched = ["pr-1", "pr-2"]
        watcher = await Peer.open(cluster[2], "pr-watch", query="queryStatus=" + ",".join(watched))
        bystander = await Peer.open(cluster[1], "pr-other")   # watches nothing
        one = await Peer.open(cluster[0], "pr-1")
        two = await Peer.open(cluster[1], "pr-2")
        await watcher.until(online_everywhere(watcher, watched), what="both online")
        await one.close()
        await watcher.until(lambda: watcher.presence_of("pr-1") == ["online", "offline"], what="pr-1 offline")
        one = await Peer.open(cluster[1], "pr-1")            # back, on another node
        await two.close()
        await watcher.until(lambda: watcher.presence_of("pr-1") == ["online", "offline", "online"]
                            and watcher.presence_of("pr-2") == ["online", "offline"], what="every change")
        await quiet(1.0)
        assert watcher.presence_of("pr-1") == ["online", "offline", "online"]
        assert watcher.presence_of("pr-2") == ["online", "offline"]
        if mode == "watchers":
            assert bystander.presence_of("pr-1") == [] and bystander.presence_of("pr-2") == [], \
                "watchers mode: a device that watches nothing hears nothing"
        else:
            assert bystander.presence_of("pr-2") == ["online", "offline"]
        for peer in (watcher, bystander, one):
            await peer.close()
    run(go())


def test_watchers_mode_a_message_across_nodes_makes_both_ends_watchers(make_cluster):
    """As on one node: a device hears the offline of a device it exchanged a message with on its
    current connection, in both directions, although neither asked about the other."""
    cluster = make_cluster(nodes=2, args=["--presence", "watchers"])

    async def go():
        box = await Peer.open(cluster[1], "ex-box")
        phone = await Peer.open(cluster[0], "ex-phone")
        await phone.send(message("ex-phone", "ex-box", "hello"))
        await box.until(lambda: box.messages(), what="the message")
        await phone.close()
        await box.until(lambda: box.presence_of("ex-phone") == ["offline"], what="the sender's offline")
        other = await Peer.open(cluster[0], "ex-phone-2")
        await other.send(message("ex-phone-2", "ex-box", "hello"))
        await box.until(lambda: len(box.messages()) == 2, what="the second message")
        await box.close()
        await other.until(lambda: other.presence_of("ex-box") == ["offline"], what="the recipient's offline")
        await quiet(0.5)
        assert other.presence_of("ex-box") == ["offline"]
        await other.close()
    run(go())


async def connect_and_send_in_one_packet(node, device, text):
    """The handshake and the first message in one write: a raw socket, never read here."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    key = base64.b64encode(os.urandom(16)).decode()
    head = (f"GET /?device_id={device} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    writer.write(head + masked_frame(1, text.encode()))
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return writer


@pytest.mark.parametrize("mode", ["all", "watchers"])
def test_a_devices_online_reaches_a_watcher_on_another_node_before_its_first_message(make_cluster, mode):
    cluster = make_cluster(nodes=2, args=["--presence", mode])
    devices = [f"ob-{i}" for i in range(30)]

    async def go():
        watcher = await Peer.open(cluster[1], "ob-watch", query="queryStatus=" + ",".join(devices))
        writers = [await connect_and_send_in_one_packet(cluster[0], d, message(d, "ob-watch", "first")) for d in devices]
        await watcher.until(lambda: len(watcher.messages()) == len(devices), what="every first message")
        for d in devices:
            about = [m for m in watcher.parsed() if m.get("from") == d]
            assert about[:2] == [presence(d, "online"), {"from": d, "to": "ob-watch", "msg": "first"}], \
                f"{d}: online must come before its first message, saw {about}"
        for writer in writers:
            writer.close()
        await watcher.close()
    run(go())


# --- a node killed with -9 ----------------------------------------------------------------------

def test_a_node_killed_with_9_has_its_devices_announced_offline_once_unless_they_reconnect(make_cluster):
    """Lease 3 s (sweep every 0.6 s): the offline is due within about 3.6 s; 10 s is the bound.
    One device reconnects to another node before that: no offline and no new online for it."""
    cluster = make_cluster(nodes=3, args=["--presence", "watchers"], lease=3)
    doomed = [f"k9-{i}" for i in range(5)]
    mover = "k9-move"
    everyone = doomed + [mover]

    async def go():
        watchers = [await Peer.open(cluster[n], f"k9-watch-{n}", query="queryStatus=" + ",".join(everyone))
                    for n in (1, 2)]
        on_a = [await Peer.open(cluster[0], d) for d in everyone]
        for w in watchers:
            await w.until(online_everywhere(w, everyone), what="all online")
        cluster[0].kill9()
        killed_at = time.monotonic()
        moved = await Peer.open(cluster[1], mover)          # reconnects at once, long before the reaper
        for w in watchers:
            await w.until(lambda: all(w.presence_of(d) == ["online", "offline"] for d in doomed),
                          timeout=10, what="offline of every device of the killed node")
        took = max(t for w in watchers for t, raw, _ in w.frames if '"offline"' in raw) - killed_at
        print(f"offline announced {took:.2f} s after kill -9 (lease 3 s)")
        await quiet(2 * 3 / 5 + 0.5)                         # two more sweeps: a second reaper would show
        for w in watchers:
            for d in doomed:
                assert w.presence_of(d) == ["online", "offline"], f"{w.device} about {d}"
            assert w.presence_of(mover) == ["online"], f"{w.device}: the device that moved was announced"
        status = await watchers[1].query_status("q", *everyone)
        assert status["data"] == {**{d: "offline" for d in doomed}, mover: "online"}
        await watchers[1].send(message("k9-watch-2", mover, "still there"))
        await moved.until(lambda: moved.messages(), what="a message at the moved device")
        await watchers[1].send(message("k9-watch-2", doomed[0], "gone", "g"))
        await watchers[1].until(lambda: watchers[1].reply_to("g"), what="status 1")
        assert watchers[1].reply_to("g")["status"] == 1
        for peer in [*watchers, moved]:
            await peer.close()
    run(go())


# --- Redis frozen, killed, restarted empty ------------------------------------------------------

OUTAGES = {
    "frozen": (lambda redis: redis.freeze(), lambda redis: redis.thaw()),
    "restarted-empty": (lambda redis: redis.kill(), lambda redis: redis.start()),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_without_redis_nodes_route_locally_answer_7_and_recover_with_only_the_differences(make_cluster, outage):
    """Lease 10 s, so the outage (a few seconds) is shorter than the lease, as a short Redis blip is."""
    cluster = make_cluster(nodes=3, args=["--presence", "watchers"], lease=10)
    cut, restore = OUTAGES[outage]
    redis = cluster.redis
    watched = ["rd-a1", "rd-a2", "rd-b1", "rd-b2", "rd-a3", "rd-a4"]

    async def go():
        a1, a2, a4 = [await Peer.open(cluster[0], d) for d in ("rd-a1", "rd-a2", "rd-a4")]
        b1, b2 = [await Peer.open(cluster[1], d) for d in ("rd-b1", "rd-b2")]
        watcher = await Peer.open(cluster[2], "rd-watch", query="queryStatus=" + ",".join(watched))
        before = ["rd-a1", "rd-a2", "rd-a4", "rd-b1", "rd-b2"]
        assert watcher.replies()[0]["data"] == {**{d: "online" for d in before}, "rd-a3": "offline"}

        cut(redis)
        await cluster.wait_ready(status=503, timeout=10)
        status, body = await asyncio.to_thread(cluster[0].http, "/readyz")
        assert status == 503 and isinstance(json.loads(body), dict)
        assert (await asyncio.to_thread(cluster[0].metrics)).get("tether_cluster_link_up") == 0
        # Devices on one node keep talking.
        await a1.send(message("rd-a1", "rd-a2", "local"))
        await a2.until(lambda: a2.messages(), what="a local message during the outage")
        # A device on another node: status 7, never a silent loss.
        await a1.send(message("rd-a1", "rd-b1", "far", "far-1"))
        await a1.until(lambda: a1.reply_to("far-1"), what="status 7")
        assert a1.reply_to("far-1") == {"status": 7, "message": "cluster unavailable, retry", "data": {}, "id": "far-1"}
        assert (await a1.query_status("far-q", "rd-b1"))["status"] == 7, "a query about a device elsewhere"
        # Changes while cut off: b2 leaves, a3 arrives, a4 leaves and comes back.
        await b2.close()
        a3 = await Peer.open(cluster[0], "rd-a3")
        await a4.close()
        a4 = await Peer.open(cluster[0], "rd-a4")

        restore(redis)
        await cluster.wait_ready(timeout=20)
        await watcher.until(lambda: watcher.presence_of("rd-b2")[-1:] == ["offline"]
                            and watcher.presence_of("rd-a3")[-1:] == ["online"], timeout=15,
                            what="the differences after the outage")
        await quiet(1.5)
        print("watcher heard:", {d: watcher.presence_of(d) for d in watched})
        assert watcher.presence_of("rd-a1") == [], "unchanged devices must not be announced again"
        assert watcher.presence_of("rd-a2") == []
        assert watcher.presence_of("rd-b1") == []
        assert watcher.presence_of("rd-b2") == ["offline"]
        assert watcher.presence_of("rd-a3") == ["online"]
        flaps = watcher.presence_of("rd-a4")
        assert flaps in ([], ["offline", "online"]), f"rd-a4 left and came back: {flaps}"
        # The whole fleet again: routing across nodes, queryStatus, /online_status.
        await a1.send(message("rd-a1", "rd-b1", "far again", "far-2"))
        await b1.until(lambda: b1.messages(), what="a cross-node message after the outage")
        assert a1.reply_to("far-2") is None
        await b1.send(message("rd-b1", "rd-a3", "to the newcomer"))
        await a3.until(lambda: a3.messages(), what="a message to a device that came during the outage")
        expected = {"rd-a1": "online", "rd-a2": "online", "rd-a3": "online", "rd-a4": "online",
                    "rd-b1": "online", "rd-b2": "offline"}
        asker = await Peer.open(cluster[2], "rd-ask")
        assert (await asker.query_status("q", *expected))["data"] == expected
        for node in cluster.nodes:
            _, body = await asyncio.to_thread(node.http, "/online_status?deviceid=" + ",".join(expected))
            assert json.loads(body)["data"] == expected, node.name
        assert (await asyncio.to_thread(cluster[0].metrics)).get("tether_cluster_link_up") == 1
        for peer in (a1, a2, a3, a4, b1, watcher, asker):
            await peer.close()
    run(go(), timeout=100)


def test_a_node_started_before_redis_serves_its_devices_and_claims_them_once_redis_comes(make_cluster):
    """A node whose Redis is not there yet listens anyway (its /readyz says 503): what it admitted
    meanwhile is claimed, and what its devices watch registered, at its first link."""
    cluster = make_cluster(nodes=1, args=["--presence", "watchers"])
    cluster.redis.kill()
    late = cluster.add_node()

    async def go():
        await cluster.wait_ready(nodes=[late], status=503, timeout=10)
        early = await Peer.open(late, "sb-early", query="queryStatus=sb-far")
        assert early.replies()[0]["status"] == 7, "a query about a device elsewhere: retry"
        assert (await early.query_status("q-alone", "sb-early"))["data"] == {"sb-early": "online"}
        cluster.redis.start()
        await cluster.wait_ready(timeout=20)
        deadline = time.monotonic() + 10     # the link is up; the claim follows within a loop turn or two
        while not cluster.redis.cli("HGET", "tether:dev:sb-early", "node"):
            assert time.monotonic() < deadline, "sb-early never claimed after the first link"
            await asyncio.sleep(0.05)
        far = await Peer.open(cluster[0], "sb-far", query="queryStatus=sb-early")
        assert far.replies()[0]["data"] == {"sb-early": "online"}, "claimed in the registry at the first link"
        await far.send(message("sb-far", "sb-early", "hello"))
        await early.until(lambda: early.messages(), what="a message from another node")
        assert early.messages()[0] == message("sb-far", "sb-early", "hello"), "byte for byte"
        await far.close()
        await early.until(lambda: early.presence_of("sb-far")[-1:] == ["offline"],
                          what="the offline of a device it watched before Redis came")
        await early.close()
    run(go(), timeout=60)


def test_killed_links_lose_nothing_a_send_is_delivered_or_answered_7(make_cluster):
    """CLIENT KILL TYPE normal cuts every link of every node, three times while 2,000 numbered
    messages cross nodes: each message is delivered once, in order, or its sender got status 7."""
    cluster = make_cluster(nodes=3, lease=10)
    total, burst = 2000, 100

    async def go():
        watcher = await Peer.open(cluster[2], "kl-watch")
        box = await Peer.open(cluster[1], "kl-box")
        phone = await Peer.open(cluster[0], "kl-phone")
        await watcher.until(online_everywhere(watcher, ["kl-box", "kl-phone"]), what="both online")
        killed = 0
        for start in range(0, total, burst):
            for n in range(start, start + burst):
                await phone.send(message("kl-phone", "kl-box", n, n))
            await asyncio.sleep(0.02)
            if start // burst in (4, 9, 14):
                killed += await asyncio.to_thread(cluster.redis.kill_client_links)
        assert killed >= 3 * len(cluster.nodes), f"CLIENT KILL found only {killed} links"
        await cluster.wait_ready(timeout=20)

        def settled():
            answered = {r["id"] for r in phone.replies() if "id" in r}
            got = {json.loads(raw)["msg"] for raw in box.messages()}
            return len(got | answered) >= total
        await box.until(settled, timeout=20, what="every message delivered or answered")
        got = [json.loads(raw)["msg"] for raw in box.messages()]
        assert got == sorted(set(got)), "duplicated or reordered after a link reset"
        statuses = collections.Counter(r["status"] for r in phone.replies())
        assert set(statuses) <= {7}, f"only status 7 may answer a message caught by a reset: {statuses}"
        missing = set(range(total)) - set(got) - {r["id"] for r in phone.replies()}
        assert not missing, f"{len(missing)} messages lost silently, e.g. {sorted(missing)[:10]}"
        both = set(got) & {r["id"] for r in phone.replies()}
        print(f"{len(got)} delivered, {statuses[7]} answered 7, {len(both)} both (sent as the link died)")
        # After the links are back everything arrives.
        for n in range(total, total + burst):
            await phone.send(message("kl-phone", "kl-box", n, n))
        await box.until(lambda: json.loads(box.messages()[-1])["msg"] == total + burst - 1, what="the last batch")
        assert [json.loads(raw)["msg"] for raw in box.messages()][-burst:] == list(range(total, total + burst))
        assert [r for r in phone.replies() if r.get("id", -1) >= total] == []
        assert watcher.presence_of("kl-box") == ["online"] and watcher.presence_of("kl-phone") == ["online"], \
            "a link reset is no presence change"
        for peer in (box, phone, watcher):
            await peer.close()
    run(go(), timeout=100)


def test_an_inbox_over_its_cap_answers_status_5(make_cluster):
    """Node B is stopped (SIGSTOP) for a moment, so its inbox fills: past --cluster-inbox-max unread
    entries the senders get status 5; the rest arrives, in order, once B runs again."""
    cluster = make_cluster(nodes=2, args=["--cluster-inbox-max", "20"], lease=10)
    total = 60

    async def go():
        phone = await Peer.open(cluster[0], "ib-phone")
        box = await Peer.open(cluster[1], "ib-box")
        await phone.until(online_everywhere(phone, ["ib-box"]), what="the box online")
        cluster[1].freeze()
        try:
            for n in range(total):
                await phone.send(message("ib-phone", "ib-box", n, n))
                await asyncio.sleep(0.01)   # one inbox entry each: a loop turn's messages to a node share one
            await phone.until(lambda: phone.replies(), what="status 5", timeout=5)
            await quiet(0.5)
        finally:
            cluster[1].thaw()
        refused = {r["id"] for r in phone.replies()}
        assert {r["status"] for r in phone.replies()} == {5}, phone.replies()[:3]
        assert phone.replies()[0]["data"] == {"ib-box": "online"}
        await box.until(lambda: len(box.messages()) == total - len(refused), what="the accepted messages")
        got = [json.loads(raw)["msg"] for raw in box.messages()]
        assert got == [n for n in range(total) if n not in refused]
        assert len(got) >= 10
        await phone.close()
        await box.close()
    run(go())


def test_an_inbox_that_is_read_is_never_full(make_cluster):
    """Status 5 is for an inbox holding --cluster-inbox-max unread entries: 600 messages in batches
    of 10, each batch delivered before the next, never hold more than 10 unread; none may be refused."""
    cluster = make_cluster(nodes=2, args=["--cluster-inbox-max", "50"], lease=10)

    async def go():
        phone = await Peer.open(cluster[0], "ir-phone")
        box = await Peer.open(cluster[1], "ir-box")
        for start in range(0, 600, 10):
            for n in range(start, start + 10):
                await phone.send(message("ir-phone", "ir-box", n, n))
            await box.until(lambda: len(box.messages()) + len(phone.replies()) >= start + 10,
                            what=f"batch {start // 10} delivered or answered")
        assert phone.replies() == [], f"refused although read at once: {phone.replies()[:2]}, {len(phone.replies())} in all"
        assert [json.loads(raw)["msg"] for raw in box.messages()] == list(range(600))
        await phone.close()
        await box.close()
    run(go())


# --- SIGTERM drain of one node ------------------------------------------------------------------

def test_a_drained_node_closes_with_1001_and_watchers_elsewhere_end_right(make_cluster):
    """Devices that reconnect to another node after their 1001 are never announced; those that do
    not are announced offline once, within the lease bound."""
    cluster = make_cluster(nodes=3, lease=3)
    movers = [f"dr-move-{i}" for i in range(3)]
    leavers = [f"dr-leave-{i}" for i in range(3)]

    async def go():
        watcher = await Peer.open(cluster[2], "dr-watch")
        on_a = {d: await Peer.open(cluster[0], d) for d in movers + leavers}
        await watcher.until(online_everywhere(watcher, movers + leavers), what="all online")
        cluster[0].terminate()
        moved = []
        for d in movers:
            await on_a[d].until(lambda p=on_a[d]: p.ended, what="the drain's close")
            moved.append(await Peer.open(cluster[1], d))
        for d in leavers:
            await on_a[d].until(lambda p=on_a[d]: p.ended, what="the drain's close")
        assert {d: p.close_received[0] if p.close_received else None for d, p in on_a.items()} == \
               {d: 1001 for d in on_a}
        assert await asyncio.to_thread(cluster[0].wait, 15) == 0
        await watcher.until(lambda: all(watcher.presence_of(d)[-1:] == ["offline"] for d in leavers), timeout=10,
                            what="offline of the devices that did not come back")
        await quiet(1.5)
        for d in leavers:
            assert watcher.presence_of(d) == ["online", "offline"], d
        for d in movers:
            assert watcher.presence_of(d) == ["online"], f"{d} moved to another node: no offline/online pair"
        assert (await watcher.query_status("q", *movers, *leavers))["data"] == {
            **{d: "online" for d in movers}, **{d: "offline" for d in leavers}}
        for peer in [watcher, *moved]:
            await peer.close()
    run(go())


# --- the 2,000-device burst ---------------------------------------------------------------------

def test_burst_of_2000_devices_over_three_nodes_each_online_exactly_once_at_every_watcher(make_cluster):
    burst = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert hard >= burst + 200, f"need {burst + 200} descriptors, hard limit is {hard}"
    cluster = make_cluster(nodes=3, lease=10)

    async def go():
        watchers = [await Peer.open(cluster[i % 3], f"watcher-{i}") for i in range(6)]   # two per node
        devices = [f"burst-{n}" for n in range(burst)]

        async def raw_device(n):
            reader, writer = await asyncio.open_connection("127.0.0.1", cluster[n % 3].port)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write((f"GET /?device_id={devices[n]} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            return writer                                    # never read: what the server sends waits

        def counts(w):
            return collections.Counter(m["from"] for m in w.parsed()
                                       if m.get("msg") == "online" and m.get("from", "").startswith("burst-"))
        writers = await asyncio.gather(*(raw_device(n) for n in range(burst)))
        for w in watchers:
            await w.until(lambda w=w: len(counts(w)) == burst, timeout=60, what=f"{burst} online events")
        await quiet(1.0)                                     # a duplicate would still be counted
        for w in watchers:
            c = counts(w)
            assert len(c) == burst and set(c.values()) == {1}, \
                f"{w.device}: duplicated {[d for d, k in c.items() if k > 1][:5]}"
        for writer in writers:
            writer.close()
        for w in watchers:
            await w.close()
    run(go(), timeout=110)


# --- operations: --reuse-port, TETHER_CLUSTER, /metrics ----------------------------------------

def test_nodes_share_one_port_with_reuse_port_and_route_between_themselves(make_cluster):
    cluster = make_cluster(nodes=0, lease=10)
    port = free_port()
    nodes = [cluster.add_node("--reuse-port", port=port) for _ in range(2)]
    pairs = 40

    def sockets(pid):
        return sum(1 for fd in os.listdir(f"/proc/{pid}/fd")
                   if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))

    async def go():
        await cluster.wait_ready()
        idle = [sockets(n.pid) for n in nodes]
        boxes = [await Peer.open(nodes[0], f"rpo-box-{i}") for i in range(pairs)]    # same URL for both
        phones = [await Peer.open(nodes[0], f"rpo-phone-{i}") for i in range(pairs)]
        held = [sockets(n.pid) - before for n, before in zip(nodes, idle)]
        assert all(h >= 5 for h in held), f"the kernel spread the connections unevenly: {held}"
        for i, phone in enumerate(phones):
            await phone.send(message(f"rpo-phone-{i}", f"rpo-box-{i}", i, i))
        for i, box in enumerate(boxes):
            await box.until(lambda b=box: b.messages(), what="its message")
            assert json.loads(box.messages()[0])["msg"] == i
        assert all(p.replies() == [] for p in phones)
        for peer in boxes + phones:
            await peer.close()
    run(go())


def test_the_cluster_url_may_name_a_database(make_cluster):
    cluster = make_cluster(nodes=2, db=5)

    async def go():
        box = await Peer.open(cluster[1], "db-box")
        phone = await Peer.open(cluster[0], "db-phone")
        await phone.send(message("db-phone", "db-box", "through database 5", "m"))
        # On a starved machine a script's answer can miss the link's 2 s deadline: status 7, retry.
        await phone.until(lambda: box.messages() or phone.reply_to("m"), what=f"the message at db-box ({box.frames})")
        if not box.messages():
            assert phone.reply_to("m")["status"] == 7, phone.reply_to("m")
            await phone.send(message("db-phone", "db-box", "through database 5", "m2"))
        await box.until(lambda: box.messages(), what="the message")
        await phone.close()
        await box.close()
    run(go())
    assert int(cluster.redis.cli("-n", "5", "DBSIZE")) > 0
    assert int(cluster.redis.cli("-n", "0", "DBSIZE")) == 0, "keys written outside the named database"


def test_metrics_show_the_link_and_the_live_nodes_and_the_env_variable_joins(make_cluster):
    cluster = make_cluster(nodes=2, lease=3)
    by_env = cluster.add_node(env={"TETHER_CLUSTER": cluster.redis.url}, cluster_flag=False)

    async def go():
        deadline = time.monotonic() + 10
        while True:
            seen = [await asyncio.to_thread(n.metrics) for n in cluster.nodes]
            if all(m.get("tether_cluster_link_up") == 1 and m.get("tether_cluster_nodes") == 3 for m in seen):
                break
            assert time.monotonic() < deadline, [(m.get("tether_cluster_link_up"), m.get("tether_cluster_nodes"))
                                                 for m in seen]
            await asyncio.sleep(0.2)
        phone = await Peer.open(cluster[0], "mt-phone")
        box = await Peer.open(by_env, "mt-box")
        await phone.send(message("mt-phone", "mt-box", "via the node that joined by TETHER_CLUSTER"))
        await box.until(lambda: box.messages(), what="the message")
        cluster[1].kill9()
        deadline = time.monotonic() + 10
        while (await asyncio.to_thread(cluster[0].metrics)).get("tether_cluster_nodes") != 2:
            assert time.monotonic() < deadline, "a killed node still counted after lease + sweep"
            await asyncio.sleep(0.2)
        await phone.close()
        await box.close()
    run(go())
    plain = RunningServer()
    try:
        _, body = get(plain.port, "/metrics")
        assert b"tether_cluster_" not in body, "without --cluster nothing changes"
    finally:
        plain.stop()


def test_the_console_lists_every_node_and_finds_a_device_on_another(make_cluster, tmp_path):
    """With an API key the console's live stream carries one row per node, and a lookup on node A
    of a device connected to node B says it is online there."""
    import re
    import urllib.request
    from consoleapi import call, sign_in
    key = os.urandom(24).hex()
    (tmp_path / "api.key").write_text(key)
    cluster = make_cluster(nodes=2, args=["--api-key-file", str(tmp_path / "api.key")])

    def node_id(node):
        match = re.search(r"node=([0-9a-f]{16})", node.tail(200))
        assert match, node.tail(200)
        return match.group(1)

    async def go():
        box = await Peer.open(cluster[1], "cv-box")
        cookie = sign_in(cluster[0].port, key)
        status, answer, _ = await asyncio.to_thread(call, cluster[0].port, "GET", "/api/console/devices/cv-box", None, cookie)
        assert status == 200 and answer["data"]["online"] is True and answer["data"]["node"] == node_id(cluster[1])
        status, answer, _ = await asyncio.to_thread(call, cluster[0].port, "GET", "/api/console/devices/cv-nobody", None, cookie)
        assert answer["data"]["online"] is False and answer["data"]["node"] is None

        def rows():
            request = urllib.request.Request(f"http://127.0.0.1:{cluster[0].port}/api/console/live", headers={"Cookie": cookie})
            with urllib.request.urlopen(request, timeout=10) as stream:
                for _ in range(400):
                    line = stream.readline().decode()
                    if line.startswith("data:") and '"nodes":[{' in line:
                        nodes = json.loads(line[5:])["nodes"]
                        if len(nodes) == 2:
                            return nodes
            return None
        nodes = await asyncio.to_thread(rows)
        assert nodes and {n["id"] for n in nodes} == {node_id(cluster[0]), node_id(cluster[1])}
        assert all(n["up"] for n in nodes)
        assert {n["id"]: n["devices"] for n in nodes}[node_id(cluster[1])] == 1
        await box.close()
    run(go())
