"""Kept messages across the fleet (issue 18 with issue 13): a message with a ttl to a device on no
node is kept in Redis, so the device gets it on whichever node it comes back to, even after the
node that kept it died; a reconnect on two nodes at once delivers each message once; receipts
reach a sender on another node; expiry follows Redis' clock. Timeouts are bounds, never timing
assertions."""
import asyncio
import json
import socket

from cluster import Peer, cluster_mode_supported, make_cluster  # noqa: F401 (fixtures)
from devices import run


def kept_message(sender, recipient, body, message_id=None, ttl=60):
    fields = {} if message_id is None else {"id": message_id}
    return json.dumps({**fields, "from": sender, "to": recipient, "msg": body, "ttl": ttl})


def receipts(peer, kind):
    return [m for m in peer.replies() if m.get("message") == kind]


async def keep(sender, recipient, count, prefix="k", ttl=60):
    """Sends `count` messages with ids prefix0.. and waits for every status 8."""
    for i in range(count):
        await sender.send(kept_message(sender.device, recipient, f"{prefix}{i}", f"{prefix}{i}", ttl=ttl))
    await sender.until(lambda: all(sender.reply_to(f"{prefix}{i}") for i in range(count)), what="status 8 for each")
    for i in range(count):
        assert sender.reply_to(f"{prefix}{i}") == {"status": 8, "message": "queued", "data": {recipient: "offline"},
                                                  "id": f"{prefix}{i}"}


def bodies(peer):
    return [json.loads(raw)["msg"] for raw in peer.messages()]


def test_kept_via_one_node_is_delivered_on_another_with_both_receipts_and_before_live_messages(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        phone = await Peer.open(cluster[0], "ck-phone")
        await keep(phone, "ck-box", 50)
        raw = kept_message("ck-phone", "ck-box", {"keep": "bytes", "x": "é\\u00e9"}, "raw")
        await phone.send(raw)
        await phone.until(lambda: phone.reply_to("raw"), what="status 8")
        box = await Peer.open(cluster[1], "ck-box")
        await phone.until(lambda: len(receipts(phone, "delivered")) == 51, what="51 delivered receipts")
        await phone.send(json.dumps({"from": "ck-phone", "to": "ck-box", "msg": "live"}))
        await box.until(lambda: len(box.messages()) == 52, what="50 kept, the raw one, then the live one")
        assert bodies(box)[:50] == [f"k{i}" for i in range(50)]
        assert box.messages()[50] == raw
        assert bodies(box)[51] == "live"
        assert sorted(r["id"] for r in receipts(phone, "delivered")) == sorted([f"k{i}" for i in range(50)] + ["raw"])
        assert receipts(phone, "delivered")[0] == {"status": 0, "message": "delivered", "data": {"ck-box": "online"},
                                                   "id": "k0"}
        await box.close()
        box = await Peer.open(cluster[0], "ck-box")      # nothing is delivered twice
        await asyncio.sleep(1)
        assert box.messages() == []
        await box.close()
        await phone.close()
    run(go())


def test_kept_messages_survive_the_node_that_kept_them_being_killed_with_9(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        phone = await Peer.open(cluster[0], "k9k-phone")
        await keep(phone, "k9k-box", 20)
        cluster[0].kill9()
        box = await Peer.open(cluster[1], "k9k-box")
        await box.until(lambda: len(box.messages()) == 20, what="the 20 kept messages")
        assert bodies(box) == [f"k{i}" for i in range(20)]
        await box.close()
    run(go())


def test_a_recipient_connecting_to_two_nodes_at_once_gets_each_message_once(make_cluster):
    cluster = make_cluster(nodes=3)

    async def go():
        phone = await Peer.open(cluster[0], "two-phone")
        await keep(phone, "two-box", 100)
        first, second = await asyncio.gather(Peer.open(cluster[1], "two-box"), Peer.open(cluster[2], "two-box"))
        await phone.until(lambda: first.ended or second.ended, what="one of the two connections replaced (4001)")
        replaced, survivor = (first, second) if first.ended else (second, first)
        assert replaced.close_received == (4001, "replaced")
        await phone.until(lambda: len(bodies(first) + bodies(second)) >= 100, what="all 100 kept messages")
        await asyncio.sleep(1)          # a duplicate would arrive by now
        assert not survivor.ended
        got = bodies(first) + bodies(second)
        assert sorted(got) == sorted(f"k{i}" for i in range(100)), "each kept message exactly once over both"
        # What the replaced connection never got reaches the survivor, so each share is in order.
        for share in (bodies(first), bodies(second)):
            assert share == sorted(share, key=lambda body: int(body[1:]))
        await phone.close()
        await first.close()
        await second.close()
    run(go())


def test_an_expired_message_is_not_delivered_and_its_sender_on_another_node_hears_expired(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        phone = await Peer.open(cluster[0], "exp-phone")
        await keep(phone, "exp-box", 1, prefix="e", ttl=2)
        await phone.until(lambda: receipts(phone, "expired"), timeout=10, what="the expired receipt")
        assert receipts(phone, "expired") == [{"status": 1, "message": "expired", "data": {"exp-box": "offline"}, "id": "e0"}]
        box = await Peer.open(cluster[1], "exp-box")
        await asyncio.sleep(1)
        assert box.messages() == []
        await box.close()
        await phone.close()
    run(go())


def test_a_receipt_travels_to_the_node_the_sender_moved_to(make_cluster):
    cluster = make_cluster(nodes=3)

    async def go():
        phone = await Peer.open(cluster[0], "mv-phone")
        await keep(phone, "mv-box", 3)
        await phone.close()
        phone = await Peer.open(cluster[2], "mv-phone")
        box = await Peer.open(cluster[1], "mv-box")
        await box.until(lambda: len(box.messages()) == 3, what="the kept messages")
        await phone.until(lambda: len(receipts(phone, "delivered")) == 3, what="receipts on the sender's new node")
        await box.close()
        await phone.close()
    run(go())


def test_the_bounds_hold_across_the_fleet_and_the_kept_ones_are_still_delivered(make_cluster):
    cluster = make_cluster(nodes=2, args=["--offline-max-messages", "5"])

    async def go():
        phone_a = await Peer.open(cluster[0], "cap-a")
        phone_b = await Peer.open(cluster[1], "cap-b")
        await keep(phone_a, "cap-box", 3, prefix="a")
        await keep(phone_b, "cap-box", 2, prefix="b")
        await phone_a.send(kept_message("cap-a", "cap-box", "over", "over"))
        await phone_a.until(lambda: phone_a.reply_to("over"), what="status 5")
        assert phone_a.reply_to("over") == {"status": 5, "message": "offline queue full", "data": {"cap-box": "offline"},
                                            "id": "over"}
        # The gauges are the fleet's, read from Redis by each node's sweep.
        await phone_a.until(lambda: cluster[1].metrics().get("tether_kept_messages") == 5, what="the fleet's kept gauge")
        box = await Peer.open(cluster[1], "cap-box")
        await box.until(lambda: len(box.messages()) == 5, what="the 5 kept messages")
        assert sorted(bodies(box)) == ["a0", "a1", "a2", "b0", "b1"]
        metrics = cluster[0].metrics()
        assert metrics["tether_kept_refused_total{limit=\"recipient_messages\"}"] == 1
        await box.close()
        await phone_a.close()
        await phone_b.close()
    run(go())


def test_without_a_ttl_an_offline_device_in_the_fleet_is_status_1_as_before(make_cluster):
    cluster = make_cluster(nodes=2)

    async def go():
        phone = await Peer.open(cluster[0], "nt-phone")
        await phone.send(json.dumps({"id": "n", "from": "nt-phone", "to": "nt-box", "msg": "key"}))
        await phone.until(lambda: phone.reply_to("n"), what="status 1")
        assert phone.reply_to("n")["status"] == 1
        box = await Peer.open(cluster[1], "nt-box")
        await asyncio.sleep(0.5)
        assert box.messages() == []
        await box.close()
        await phone.close()
    run(go())


def test_what_a_draining_node_could_not_hand_over_is_kept_again_in_redis(make_cluster):
    """The recipient's node drains while its socket takes nothing: the drain times out, and what
    was never sent is kept again in Redis before the node exits, so the device gets all of it on
    another node, in order."""
    cluster = make_cluster(nodes=2, args=["--send-buffer-bytes", "4096", "--offline-max-bytes", "1048576",
                                          "--drain-seconds", "1"])

    async def go():
        phone = await Peer.open(cluster[0], "dr-phone")
        for n in range(10):
            await phone.send(json.dumps({"id": n, "from": "dr-phone", "to": "dr-box", "msg": "x" * 50_000, "n": n, "ttl": 60}))
        await phone.until(lambda: all(phone.reply_to(n) for n in range(10)), what="status 8 for each")
        silent = socket.socket()
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # takes little: most stays with the node
        silent.connect(("127.0.0.1", cluster[1].port))
        silent.sendall(b"GET /?device_id=dr-box HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        try:
            await phone.until(lambda: cluster[1].metrics().get("tether_kept_delivered_total", 0) == 10,
                              what="the kept messages handed to the silent connection")
            cluster[1].terminate()
            assert await asyncio.to_thread(cluster[1].wait, 15) == 0
        finally:
            silent.close()
        box = await Peer.open(cluster[0], "dr-box")
        await box.until(lambda: len(box.messages()) == 10, what="all 10 on the other node")
        assert [json.loads(m)["n"] for m in box.messages()] == list(range(10))
        await asyncio.sleep(0.5)
        assert len(box.messages()) == 10
        await box.close()
        await phone.close()
    run(go())


def test_a_message_that_reaches_a_node_after_its_device_left_is_kept_if_it_has_a_ttl(make_cluster):
    """A big batch is located first and appended to the holder's inbox a round trip later: a device
    that left meanwhile is no longer on the node the message reaches. Such an inbox entry is
    written here directly (the documented record format, docs/cluster.md "Inbox entries"), for a
    device the receiving node does not hold: with a ttl it is kept (status 8 to the sender on its
    node, delivered when the device comes), without one the sender hears status 1."""
    cluster = make_cluster(nodes=2)
    redis = cluster.redis

    async def go():
        phone = await Peer.open(cluster[0], "lt-phone")
        marker = await Peer.open(cluster[1], "lt-marker")
        node_a = redis.cli("HGET", "tether:dev:lt-phone", "node")
        node_b = redis.cli("HGET", "tether:dev:lt-marker", "node")
        assert node_a and node_b and node_a != node_b

        def late(payload):
            record = f"{len('lt-box')}:{len('lt-phone')}:{len(payload.encode())}:lt-box" + "lt-phone" + payload
            assert redis.cli("XADD", f"tether:inbox:{node_b}", "*", "t", "b", "n", node_a, "m", record)

        kept = kept_message("lt-phone", "lt-box", "late but kept", "late-1", ttl=60)
        late(kept)
        late(json.dumps({"id": "late-2", "from": "lt-phone", "to": "lt-box", "msg": "late, no ttl"}))
        await phone.until(lambda: phone.reply_to("late-1") and phone.reply_to("late-2"), what="both answers")
        assert phone.reply_to("late-1") == {"status": 8, "message": "queued", "data": {"lt-box": "offline"}, "id": "late-1"}
        assert phone.reply_to("late-2")["status"] == 1
        box = await Peer.open(cluster[0], "lt-box")
        await box.until(lambda: box.messages(), what="the kept message")
        assert box.messages() == [kept], "byte for byte"
        await phone.until(lambda: receipts(phone, "delivered"), what="the delivered receipt")
        for peer in (phone, marker, box):
            await peer.close()
    run(go())
