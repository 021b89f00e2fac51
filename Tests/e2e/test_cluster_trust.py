"""Token mode across the fleet (issue 13): grants, revocations, pairing codes and the backend API
hold whichever nodes the devices, the phone's browser and the backend reach. Tokens are minted
by PyJWT (trust.py); each test gets its own Redis and nodes (cluster.py). Timeouts are bounds."""
import asyncio
import json

import jwt
import pytest

from cluster import Peer, cluster_mode_supported, get, make_cluster  # noqa: F401 (fixtures)
from devices import run
from trust import Keys, http


@pytest.fixture
def keys(tmp_path):
    return Keys(str(tmp_path))


@pytest.fixture
def make_trusted(make_cluster, keys):
    """A cluster whose nodes share the keys' files (not their --state-dir: each node gets its own)."""
    key_args = ["--auth-hmac-key-file", keys.hmac_file, "--api-key-file", keys.api_file, "--presence", "watchers"]
    return lambda nodes=3: make_cluster(nodes=nodes, args=key_args)


async def device(node, name, token):
    return await Peer.open(node, name, query=f"token={token}")


def say(sender, to, msg, message_id=None):
    return json.dumps({**({"id": message_id} if message_id else {}), "from": sender, "to": to, "msg": msg})


def test_paired_devices_on_two_nodes_talk_both_ways_and_hear_each_other_once(make_trusted, keys):
    cluster = make_trusted()

    async def go():
        box = await device(cluster[0], "tb-box", keys.token("tb-box", kind="box"))
        phone = await device(cluster[1], "tb-phone", keys.token("tb-phone", kind="phone", peers=["tb-box"]))
        # The box's token names nobody: it hears of the phone because the phone's names it.
        await box.until(lambda: box.presence_of("tb-phone") == ["online"], what="the phone's online at the box")
        await phone.send(say("tb-phone", "tb-box", "from the phone"))
        await box.until(lambda: box.messages(), what="the phone's message")
        await box.send(say("tb-box", "tb-phone", "from the box", "b1"))     # allowed by the phone's grant, on another node
        await phone.until(lambda: phone.messages(), what="the box's message")
        assert json.loads(phone.messages()[0])["msg"] == "from the box" and box.reply_to("b1") is None
        # Asked over HTTP on a third node with the box's token: the phone's grant names the box.
        status, answer = await asyncio.to_thread(http, cluster[2].port, "GET",
                                                 f"/online_status?deviceid=tb-phone,tb-other&token={keys.token('tb-box', kind='box')}")
        assert (status, answer["data"]) == (200, {"tb-phone": "online"})
        await phone.close()
        await box.until(lambda: box.presence_of("tb-phone") == ["online", "offline"], what="the phone's offline")
        phone = await device(cluster[2], "tb-phone", keys.token("tb-phone", kind="phone", peers=["tb-box"]))
        await box.until(lambda: box.presence_of("tb-phone") == ["online", "offline", "online"], what="the phone back")
        await asyncio.sleep(0.5)
        assert box.presence_of("tb-phone") == ["online", "offline", "online"], "each change told once"
        await phone.close()
        await box.close()
    run(go())


def test_an_unpaired_device_learns_nothing_on_any_node(make_trusted, keys):
    cluster = make_trusted()

    async def go():
        box = await device(cluster[0], "tn-box", keys.token("tn-box", kind="box"))
        nosy = await Peer.open(cluster[1], "tn-nosy", query=f"token={keys.token('tn-nosy', kind='phone')}&queryStatus=tn-box")
        assert nosy.replies() == [{"status": 0, "message": "ok", "data": {}}], "the connect-time query reveals nothing"
        await nosy.send(say("tn-nosy", "tn-box", "hi", "n1"))
        await nosy.send(say("tn-nosy", "tn-gone", "hi", "n2"))
        await nosy.until(lambda: nosy.reply_to("n1") and nosy.reply_to("n2"), what="two refusals")
        assert nosy.reply_to("n1") == {"status": 4, "message": "not paired with tn-box", "data": {}, "id": "n1"}
        assert nosy.reply_to("n2")["status"] == 4, "an offline device's state is not revealed either"
        answer = await nosy.query_status("q", "tn-box")
        assert answer == {"status": 0, "message": "ok", "data": {}, "id": "q"}
        await box.send(say("tn-box", "tn-nosy", "hi", "b"))               # neither token names the other
        await box.until(lambda: box.reply_to("b"), what="status 4 at the box")
        assert box.reply_to("b")["status"] == 4
        assert nosy.messages() == [] and box.messages() == []
        await nosy.close()
        await box.close()
    run(go())


def test_an_unpair_on_one_node_holds_on_every_node_and_a_new_pairing_lifts_it(make_trusted, keys):
    cluster = make_trusted()

    async def go():
        box = await device(cluster[0], "tu-box", keys.token("tu-box", kind="box"))
        phone = await device(cluster[1], "tu-phone", keys.token("tu-phone", kind="phone", peers=["tu-box"]))
        await phone.send(say("tu-phone", "tu-box", "hello"))
        await box.until(lambda: box.messages(), what="the first message")
        assert (await box.ask("u", {"msg": "unpair", "data": ["tu-phone"]}))["status"] == 0
        await phone.until(lambda: True)
        for attempt in range(50):      # the revocation reaches node B through its inbox
            await phone.send(say("tu-phone", "tu-box", "still there?", f"p{attempt}"))
            await phone.until(lambda: phone.reply_to(f"p{attempt}") or len(box.messages()) > 1, what="an answer")
            if phone.reply_to(f"p{attempt}") and phone.reply_to(f"p{attempt}")["status"] == 4:
                break
        assert len(box.messages()) == 1, "nothing passes the unpair"
        await box.send(say("tu-box", "tu-phone", "bye", "b"))
        await box.until(lambda: box.reply_to("b"), what="status 4 at the box")
        assert box.reply_to("b")["status"] == 4
        # The box no longer hears of the phone: not its offline, not its coming back elsewhere.
        await phone.close()
        # A phone that connects later on the third node is refused too (the revocation is in Redis).
        late = await device(cluster[2], "tu-phone", keys.token("tu-phone", kind="phone", peers=["tu-box"]))
        await late.send(say("tu-phone", "tu-box", "late", "l"))
        await late.until(lambda: late.reply_to("l"), what="status 4")
        assert late.reply_to("l")["status"] == 4
        await asyncio.sleep(0.5)
        assert box.presence_of("tu-phone") == ["online"], "after the unpair the box hears nothing of the phone"
        # Pairing again (a code from the box, redeemed on another node with the phone's token) lifts it.
        code = (await box.ask("c", {"msg": "pairingCode"}))["data"]["code"]
        status, answer = await asyncio.to_thread(http, cluster[1].port, "POST", "/pair",
                                                 {"code": code, "token": keys.token("tu-phone", kind="phone", peers=["tu-box"])})
        assert status == 200 and answer["data"]["device_id"] == "tu-phone"
        again = await device(cluster[2], "tu-phone", answer["data"]["token"])
        await late.until(lambda: late.ended, what="the older connection replaced")
        await again.send(say("tu-phone", "tu-box", "paired again"))
        await box.until(lambda: any(json.loads(m)["msg"] == "paired again" for m in box.messages()), what="the message after re-pairing")
        for peer in (phone, again, box):
            await peer.close()
    run(go())


def test_a_pairing_code_from_a_box_on_one_node_is_drawn_and_redeemed_on_others_once(make_trusted, keys):
    cluster = make_trusted()

    async def go():
        box = await device(cluster[0], "tp-box", keys.token("tp-box", kind="box"))
        code = (await box.ask("c", {"msg": "pairingCode"}))["data"]["code"]
        status, _ = await asyncio.to_thread(get, cluster[2].port, f"/pair/code/{code}.svg")
        assert status == 200
        status, answer = await asyncio.to_thread(http, cluster[1].port, "POST", "/pair", {"code": code})
        assert status == 200 and answer["data"]["box"] == "tp-box"
        phone_id, token = answer["data"]["device_id"], answer["data"]["token"]
        assert jwt.decode(token, keys.secret, algorithms=["HS256"])["peers"] == ["tp-box"]
        await box.until(lambda: any(m.get("from") == "server" and m.get("msg") == "paired" for m in box.parsed()),
                        what="the box told of the pairing on its own node")
        assert [m for m in box.parsed() if m.get("from") == "server"][0]["data"] == {"phone": phone_id}
        status, answer = await asyncio.to_thread(http, cluster[2].port, "POST", "/pair", {"code": code})
        assert status == 403 and answer["data"]["reason"] == "used"
        assert (await asyncio.to_thread(get, cluster[0].port, f"/pair/code/{code}.svg"))[0] == 404
        status, answer = await asyncio.to_thread(http, cluster[2].port, "POST", "/pair", {"code": "A" * 22})
        assert status == 403 and answer["data"]["reason"] == "unknown"
        phone = await device(cluster[2], phone_id, token)
        await phone.send(say(phone_id, "tp-box", "up"))
        await box.until(lambda: box.messages(), what="the new phone's message")
        await phone.close()
        await box.close()
    run(go())


def test_the_backend_api_reaches_devices_on_other_nodes(make_trusted, keys):
    cluster = make_trusted()

    async def go():
        box = await device(cluster[0], "ta-box", keys.token("ta-box", kind="box"))
        status, answer = await asyncio.to_thread(http, cluster[1].port, "GET", "/api/devices/ta-box", key=keys.api_key)
        assert status == 200 and answer["data"]["online"] is True
        status, answer = await asyncio.to_thread(http, cluster[1].port, "GET", "/api/devices/ta-none", key=keys.api_key)
        assert status == 200 and answer["data"]["online"] is False
        assert await asyncio.to_thread(http, cluster[1].port, "POST", "/api/send", {"to": "ta-box", "msg": {"say": "hi"}},
                                       key=keys.api_key) == (200, {"status": 0, "message": "delivered", "data": {"ta-box": "online"}})
        await box.until(lambda: box.messages(), what="the backend's message")
        assert json.loads(box.messages()[0]) == {"from": "server", "to": "ta-box", "msg": {"say": "hi"}}
        status, answer = await asyncio.to_thread(http, cluster[1].port, "POST", "/api/send", {"to": "ta-none", "msg": 1}, key=keys.api_key)
        assert answer["status"] == 1
        assert (await asyncio.to_thread(http, cluster[2].port, "POST", "/api/send", {"to": "ta-box", "msg": 1}))[0] == 401
        status, _ = await asyncio.to_thread(http, cluster[2].port, "POST", "/api/devices/ta-box/disconnect", {}, key=keys.api_key)
        assert status == 200
        await box.until(lambda: box.ended, what="the close")
        assert box.close_received[0] == 4002
        status, _ = await asyncio.to_thread(http, cluster[2].port, "POST", "/api/devices/ta-box/disconnect", {}, key=keys.api_key)
        assert status == 404
    run(go())
