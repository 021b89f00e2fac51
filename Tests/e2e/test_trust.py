"""Token mode: who may be which device and who may talk to whom, with tokens minted by PyJWT."""
import asyncio
import json
import time

import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from devices import expect_silence, recv_json, recv_until, run
from test_metrics import scrape
from trust import Keys, hs256_by_hand, http


@pytest.fixture
def keys(tmp_path):
    return Keys(str(tmp_path))


def url(server, device, token=None):
    return f"{server.url}/?device_id={device}" + (f"&token={token}" if token else "")


async def refused(server, device, token):
    try:
        await websockets.connect(url(server, device, token))
    except InvalidStatus as error:
        return error.response.status_code, json.loads(error.response.body)
    raise AssertionError("the handshake should have been refused")


def say(sender, to, msg, **more):
    return json.dumps({"from": sender, "to": to, "msg": msg, **more})


def test_the_hijack_fails_and_the_real_box_keeps_its_connection_and_messages(start_server, keys):
    server = start_server(*keys.server_args())

    async def go():
        async with websockets.connect(url(server, "box-x", keys.token("box-x", kind="box"))) as box, \
                websockets.connect(url(server, "phone-1", keys.token("phone-1", kind="phone", peers=["box-x"]))) as phone:
            assert (await refused(server, "box-x", None))[0] == 401                          # no token
            stolen = keys.token("attacker", kind="box")
            status, body = await refused(server, "box-x", stolen)
            assert status == 401 and body["data"]["reason"] == "wrong_subject"                 # someone else's token
            assert stolen not in json.dumps(body)                                              # tokens never echoed
            await phone.send(say("phone-1", "box-x", {"type": "text", "text": "my PIN is 1234"}))
            got = await recv_until(box, lambda m: m.get("from") == "phone-1" and m.get("to") == "box-x")
            assert got["msg"]["text"] == "my PIN is 1234"
    run(go())


@pytest.mark.parametrize("problem,token,reason", [
    ("expired", lambda k: k.token("d-1", ttl=-31), "expired"),
    ("not yet valid", lambda k: k.token("d-1", nbf=int(time.time()) + 120), "not_yet_valid"),
    ("alg none", lambda k: jwt.encode({"sub": "d-1", "exp": int(time.time()) + 60}, None, algorithm="none"), "unsupported_algorithm"),
    ("bad signature", lambda k: k.token("d-1")[:-2] + ("AA" if not k.token("d-1").endswith("AA") else "BA"), "bad_signature"),
    ("garbage", lambda k: "not.a.jwt", "malformed"),
    ("HS256 with the public key as secret", lambda k: hs256_by_hand({"sub": "d-1", "exp": int(time.time()) + 60},
                                                                    open(k.ec_file, "rb").read()), "bad_signature"),
])
def test_a_bad_token_gets_401_saying_which(start_server, keys, problem, token, reason):
    server = start_server(*keys.server_args())
    status, body = run(refused(server, "d-1", token(keys)))
    assert status == 401, problem
    assert body["status"] == 4 and body["data"]["reason"] == reason, body
    assert scrape(server.port)[f"tether_auth_failures_total{{reason={reason}}}"] == 1


def test_es256_and_rs256_tokens_are_accepted_with_their_public_keys(start_server, keys):
    server = start_server(*keys.server_args())

    async def go():
        for alg in ("ES256", "RS256"):
            async with websockets.connect(url(server, f"dev-{alg}", keys.token(f"dev-{alg}", alg=alg))) as ws:
                assert (await recv_json(ws)) == {"from": f"dev-{alg}", "to": "all", "msg": "online"}
    run(go())


def test_a_phone_without_a_grant_gets_status_4_and_learns_nothing_of_presence(start_server, keys):
    server = start_server(*keys.server_args())

    async def go():
        async with websockets.connect(url(server, "box-1", keys.token("box-1", kind="box"))) as box, \
                websockets.connect(url(server, "nosy", keys.token("nosy", kind="phone"))) as nosy:
            await recv_json(nosy)                                                   # its own online
            await nosy.send(say("nosy", "box-1", "hi", id=5))
            reply = await recv_json(nosy)
            assert reply == {"status": 4, "message": "not paired with box-1", "data": {}, "id": 5}
            await nosy.send(say("nosy", "box-gone", "hi"))
            assert (await recv_json(nosy))["status"] == 4, "an offline device's state is not revealed either"
            await nosy.send(json.dumps({"from": "nosy", "to": "server", "msg": "queryStatus", "data": ["box-1"]}))
            assert (await recv_json(nosy)) == {"status": 0, "message": "ok", "data": {}}
            # Nor at connect time, nor does asking there make it hear the box.
            async with websockets.connect(url(server, "nosy-2", keys.token("nosy-2", kind="phone")) + "&queryStatus=box-1") as nosy_2:
                answers = [await recv_json(nosy_2), await recv_json(nosy_2)]
                assert {"status": 0, "message": "ok", "data": {}} in answers, answers
                assert all(m.get("from") != "box-1" and "box-1" not in json.dumps(m.get("data", {})) for m in answers)
            # A paired phone connecting is heard by its box, not by the nosy one.
            async with websockets.connect(url(server, "phone-2", keys.token("phone-2", kind="phone", peers=["box-1"]))):
                assert await recv_until(box, lambda m: m.get("from") == "phone-2") == {"from": "phone-2", "to": "all", "msg": "online"}
                await expect_silence(nosy, 0.5)
    run(go())


def test_online_status_needs_a_token_or_the_api_key(start_server, keys):
    server = start_server(*keys.server_args())

    async def go():
        async with websockets.connect(url(server, "box-s", keys.token("box-s", kind="box"))):
            assert http(server.port, "GET", "/online_status?deviceid=box-s")[0] == 401
            assert http(server.port, "GET", "/online_status?deviceid=box-s", key=keys.api_key) == \
                (200, {"status": 0, "message": "ok", "data": {"box-s": "online"}})
            phone = keys.token("ph-s", kind="phone", peers=["box-s"])
            assert http(server.port, "GET", f"/online_status?deviceid=box-s,other&token={phone}") == \
                (200, {"status": 0, "message": "ok", "data": {"box-s": "online"}})
    run(go())


def test_an_expired_token_closes_with_4003_unless_refreshed_first(start_server, keys):
    server = start_server(*keys.server_args("--handshake-timeout", "1"))

    async def go():
        async with websockets.connect(url(server, "short", keys.token("short", ttl=2))) as short, \
                websockets.connect(url(server, "fresh", keys.token("fresh", ttl=2))) as fresh:
            await fresh.send(json.dumps({"from": "fresh", "to": "server", "msg": "refresh",
                                         "data": {"token": keys.token("fresh", ttl=600)}}))
            reply = await recv_until(fresh, lambda m: "status" in m)
            assert reply["status"] == 0 and reply["message"] == "token refreshed"
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(short.recv(), 10)
            assert closed.value.rcvd.code == 4003
            await expect_silence(fresh, 1.5)                # still open past the first token's expiry
            await fresh.send(json.dumps({"from": "fresh", "to": "server", "msg": "refresh",
                                         "data": {"token": keys.token("someone-else", ttl=600)}}))
            assert (await recv_until(fresh, lambda m: "status" in m))["data"]["reason"] == "wrong_subject"
    run(go())


def test_pairing_by_code_reuse_and_expiry(start_server, keys):
    server = start_server(*keys.server_args("--pairing-ttl", "2"))

    async def go():
        async with websockets.connect(url(server, "box-p", keys.token("box-p", kind="box"))) as box:
            await recv_json(box)
            await box.send(json.dumps({"from": "box-p", "to": "server", "msg": "pairingCode"}))
            code = (await recv_until(box, lambda m: "status" in m))["data"]
            assert len(code["code"]) >= 22 and code["url"].endswith(f"/remote?box=box-p&code={code['code']}")
            assert http(server.port, "GET", "/pair/box-p.svg")[0] == 403               # no QR for somebody's box
            status, answer = http(server.port, "POST", "/pair", {"code": code["code"]})
            assert status == 200 and answer["data"]["box"] == "box-p"
            phone, token = answer["data"]["device_id"], answer["data"]["token"]
            assert jwt.decode(token, keys.secret, algorithms=["HS256"])["peers"] == ["box-p"]
            assert (await recv_until(box, lambda m: m.get("from") == "server")) == \
                {"from": "server", "to": "box-p", "msg": "paired", "data": {"phone": phone}}
            assert http(server.port, "POST", "/pair", {"code": code["code"]})[1]["data"]["reason"] == "used"
            assert http(server.port, "POST", "/pair", {"code": "A" * 22})[1]["data"]["reason"] == "unknown"
            async with websockets.connect(url(server, phone, token)) as ws:
                await ws.send(say(phone, "box-p", {"type": "key", "key": "up"}))
                assert (await recv_until(box, lambda m: m.get("from") == phone and m.get("to") == "box-p"))["msg"]["key"] == "up"
                await box.send(say("box-p", phone, "hello phone"))
                assert (await recv_until(ws, lambda m: m.get("from") == "box-p" and m.get("to") == phone))["msg"] == "hello phone"
            await box.send(json.dumps({"from": "box-p", "to": "server", "msg": "pairingCode"}))
            late = (await recv_until(box, lambda m: "status" in m))["data"]["code"]
            await asyncio.sleep(2.5)
            status, answer = http(server.port, "POST", "/pair", {"code": late})
            assert status == 403 and answer["data"]["reason"] == "expired"
    run(go())


def test_unpair_holds_across_a_restart(start_server, keys):
    args = keys.server_args()
    server = start_server(*args)
    phone_token = keys.token("ph-u", kind="phone", peers=["box-u"], ttl=600)
    box_token = keys.token("box-u", kind="box", ttl=600)

    async def before():
        async with websockets.connect(url(server, "box-u", box_token)) as box, websockets.connect(url(server, "ph-u", phone_token)) as phone:
            # Delivered first, so the server has this permission at hand when the unpair withdraws it.
            await phone.send(say("ph-u", "box-u", "hello"))
            assert (await recv_until(box, lambda m: m.get("msg") == "hello"))["from"] == "ph-u"
            await box.send(json.dumps({"from": "box-u", "to": "server", "msg": "unpair", "data": ["ph-u"]}))
            assert (await recv_until(box, lambda m: "status" in m))["status"] == 0
            await phone.send(say("ph-u", "box-u", "still there?", id=1))
            assert (await recv_until(phone, lambda m: "status" in m))["status"] == 4
    run(before())
    server.stop()
    again = start_server(*args)

    async def after():
        async with websockets.connect(url(again, "box-u", box_token)), websockets.connect(url(again, "ph-u", phone_token)) as phone:
            await phone.send(say("ph-u", "box-u", "after restart", id=2))
            assert (await recv_until(phone, lambda m: "status" in m)) == {"status": 4, "message": "not paired with box-u", "data": {}, "id": 2}
    run(after())


def test_backend_api_with_a_good_key_a_bad_key_and_none(start_server, keys):
    server = start_server(*keys.server_args("--metrics-auth"))

    async def go():
        async with websockets.connect(url(server, "box-a", keys.token("box-a", kind="box"))) as box:
            await recv_json(box)
            assert http(server.port, "POST", "/api/send", {"to": "box-a", "msg": {"say": "hi"}}, key=keys.api_key) == \
                (200, {"status": 0, "message": "delivered", "data": {"box-a": "online"}})
            assert await recv_json(box) == {"from": "server", "to": "box-a", "msg": {"say": "hi"}}
            assert http(server.port, "POST", "/api/send", {"to": "box-z", "msg": 1}, key=keys.api_key)[1]["status"] == 1
            status, device = http(server.port, "GET", "/api/devices/box-a", key=keys.api_key)
            assert status == 200 and device["data"]["online"] is True and device["data"]["kind"] == "box"
            assert abs(device["data"]["since"] - time.time()) < 60
            status, minted = http(server.port, "POST", "/api/tokens", {"sub": "svc-1", "kind": "service", "ttl": 60}, key=keys.api_key)
            assert status == 200 and jwt.decode(minted["data"]["token"], keys.secret, algorithms=["HS256"])["kind"] == "service"
            assert http(server.port, "GET", "/metrics")[0] == 401
            assert http(server.port, "POST", "/api/devices/box-a/disconnect", {}, key=keys.api_key)[0] == 200
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(box.recv(), 5)
            assert closed.value.rcvd.code == 4002
        assert http(server.port, "POST", "/api/send", {"to": "box-a", "msg": 1})[0] == 401
        statuses = [http(server.port, "POST", "/api/send", {"to": "box-a", "msg": 1}, key="wrong-key-0123456789")[0] for _ in range(12)]
        assert statuses[0] == 401 and statuses[-1] == 429, statuses          # repeated failures are slowed down
    run(go())


def test_tether_token_prints_a_token_pyjwt_accepts(keys):
    import subprocess
    from conftest import BIN
    out = subprocess.run([BIN, "token", "--sub", "box-9", "--kind", "box", "--ttl", "2h", "--peers", "phone-1,phone-2",
                          "--auth-hmac-key-file", keys.hmac_file], capture_output=True, text=True, timeout=30, check=True)
    claims = jwt.decode(out.stdout.strip(), keys.secret, algorithms=["HS256"])
    assert claims["sub"] == "box-9" and claims["kind"] == "box" and claims["peers"] == ["phone-1", "phone-2"]
    assert 7100 < claims["exp"] - time.time() <= 7200
    bad = subprocess.run([BIN, "token", "--sub", "no spaces", "--auth-hmac-key-file", keys.hmac_file], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "device id" in bad.stderr
