"""The pairing story in real browsers: a TV shows /box, a phone scans its QR code and opens /remote.

The TV loads the box page through a relay (blackhole.py), so the test can drop the box's network
without a close, as a pulled cable does; the QR code points straight at the server (--public-url).
Set TETHER_SCREENSHOTS=DIR to save both pages as PNG (`make screenshots` writes docs/images).
"""
import json
import os
import pathlib
import secrets
import time
import urllib.error
import urllib.request

import pytest

from blackhole import Blackhole
from browser import PHONE, TV, chromium, decode_qr, text_of, wait_for
from conftest import free_port
from test_metrics import scrape
from test_pairing_http import get

PING_INTERVAL = 1
PING_TIMEOUT = 1
# A silent link is closed within interval + timeout; allow the sweep timer and polling a few seconds more.
HEARTBEAT_WINDOW = PING_INTERVAL + PING_TIMEOUT + 3


def box_messages(tv):
    return [item.text for item in tv.find_elements("css selector", "#messages .what")]


def phone_state(tv, phone_id):
    rows = tv.find_elements("css selector", f'#phones li[data-id="{phone_id}"] .state')
    return rows[0].text if rows else None


def listed_state(tv, phone_id):
    """phone_state read in one script, so a redraw of the list between lookup and read cannot
    leave a stale element (token mode redraws it more: pairing, removal)."""
    return tv.execute_script("const row = document.querySelector(`#phones li[data-id=\"${arguments[0]}\"] .state`);"
                             " return row ? row.textContent : null", phone_id)


def record_status_texts(tv):
    """Keeps every text the box's status line shows, however briefly, in window.statusLog."""
    tv.execute_script("""
        window.statusLog = [];
        const status = document.getElementById('status');
        new MutationObserver(() => window.statusLog.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});""")


def save_screenshot(browser, name):
    folder = os.environ.get("TETHER_SCREENSHOTS")
    if folder:
        browser.save_screenshot(os.path.join(folder, name))


@pytest.mark.parametrize("presence", ["all", "watchers"])
def test_phone_pairs_by_qr_code_drives_the_box_and_follows_its_presence(start_server, presence):
    port = free_port()
    server = start_server("--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT),
                          "--presence", presence, "--public-url", f"http://127.0.0.1:{port}", port=port)
    relay = Blackhole(server.port)
    tv, phone = chromium(TV), chromium(PHONE)
    try:
        # The TV: a fresh box page picks its own id and shows a QR code for it.
        tv.get(f"http://127.0.0.1:{relay.port}/box")
        wait_for(tv, lambda d: text_of(d, "status").startswith("Connected"), message="box never connected")
        box_id = text_of(tv, "box-id")
        assert box_id.startswith("box-")
        wait_for(tv, lambda d: d.execute_script("const qr = document.getElementById('qr'); return qr.complete && qr.naturalWidth > 0"))
        pairing_url = f"http://127.0.0.1:{port}/remote?box={box_id}"
        assert decode_qr(tv.find_element("id", "qr").screenshot_as_png) == [pairing_url]
        wait_for(tv, lambda d: text_of(d, "pair-url") == pairing_url)

        # The phone opens what it scanned, hears the box is online and pairs.
        phone.get(pairing_url)
        wait_for(phone, lambda d: text_of(d, "banner") == "box is online", message="phone never saw the box online")
        phone_id = text_of(phone, "phone-id")
        wait_for(tv, lambda d: phone_state(d, phone_id) == "online", message="box never listed the phone")
        wait_for(phone, lambda d: text_of(d, "notice") == f"Paired with {box_id}.")

        # Three presses arrive in order (the box lists newest first).
        for key in ("up", "right", "ok"):
            phone.find_element("css selector", f'button[data-key="{key}"]').click()
        wait_for(tv, lambda d: box_messages(d)[:3] == ["pressed OK", "pressed RIGHT", "pressed UP"],
                 message=f"box shows {box_messages(tv)}")
        phone.find_element("id", "text").send_keys("hello from the sofa")
        phone.find_element("css selector", "#say button").click()
        wait_for(tv, lambda d: box_messages(d)[0] == "“hello from the sofa”")
        if presence == "all":
            save_screenshot(tv, "box-page.png")
            save_screenshot(phone, "remote-page.png")

        # The box's network drops without a close: the heartbeat finds it and the phone is told.
        record_status_texts(tv)
        relay.freeze()
        wait_for(phone, lambda d: text_of(d, "banner") == "box went offline", timeout=HEARTBEAT_WINDOW,
                 message="the phone was not told the box went offline")
        assert scrape(server.port)["tether_heartbeat_timeouts_total"] == 1  # found by the heartbeat, not a close

        # A press now is answered in words, not lost silently.
        phone.find_element("css selector", 'button[data-key="back"]').click()
        wait_for(phone, lambda d: text_of(d, "notice") == "The box is offline, so that was not delivered.")

        # The network comes back: the box page notices the cut, says so, reconnects by itself.
        relay.thaw()
        wait_for(phone, lambda d: text_of(d, "banner") == "box is online", timeout=20, message="box never came back")
        assert any(text.startswith("Connection lost. Reconnecting in") for text in tv.execute_script("return window.statusLog"))
        wait_for(tv, lambda d: text_of(d, "status").startswith("Connected"))
        phone.find_element("css selector", 'button[data-key="down"]').click()
        wait_for(tv, lambda d: box_messages(d)[0] == "pressed DOWN")

        # Closing the box page says offline at once; reopening it (same stored id) says online.
        tv.get("about:blank")
        wait_for(phone, lambda d: text_of(d, "banner") == "box went offline")
        tv.get(f"http://127.0.0.1:{relay.port}/box")
        wait_for(tv, lambda d: text_of(d, "box-id") == box_id)
        wait_for(phone, lambda d: text_of(d, "banner") == "box is online")
        wait_for(tv, lambda d: phone_state(d, phone_id) == "online", message="reopened box forgot its phone")
    finally:
        tv.quit()
        phone.quit()
        relay.close()


def post_pair(port, code):
    """POST /pair as a phone would, over plain HTTP: (HTTP status, answer). Pairing is rate limited
    per address and the browsers share this one, so a 429 is asked again."""
    body = json.dumps({"code": code}).encode()
    for _ in range(5):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/pair", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 429:
                return error.code, json.loads(error.read())
        time.sleep(1)
    raise AssertionError("POST /pair stayed rate limited")


def test_token_mode_pairs_a_phone_by_a_one_time_code(start_server, tmp_path):
    import jwt  # PyJWT, as a TV launcher's backend would mint the box's token

    secret = secrets.token_hex(32).encode()  # 32 random bytes, written as hex as an operator would
    key_file = tmp_path / "hmac.key"
    key_file.write_bytes(secret)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    server = start_server("--auth-hmac-key-file", str(key_file), "--state-dir", str(tmp_path / "state"),
                          "--public-url", public_url, port=port)
    box_id = "box-" + secrets.token_hex(3)
    box_token = jwt.encode({"sub": box_id, "kind": "box", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
    tv, phone = chromium(TV), chromium(PHONE)
    try:
        # The TV launcher opens the box page with its token: the page takes its id from it.
        tv.get(f"{public_url}/box?token={box_token}")
        wait_for(tv, lambda d: text_of(d, "status").startswith("Connected"), message="box never connected")
        assert text_of(tv, "box-id") == box_id
        assert "token=" not in tv.current_url  # a credential does not stay in the address
        wait_for(tv, lambda d: d.execute_script(
            "const qr = document.getElementById('qr'); return qr.complete && qr.naturalWidth > 0 && qr.src.includes('/pair/code/')"),
            message="box never showed a pairing code")
        scanned = decode_qr(tv.find_element("id", "qr").screenshot_as_png)
        assert len(scanned) == 1 and scanned[0].startswith(f"{public_url}/remote?box={box_id}&code="), scanned
        pairing_url = scanned[0]
        code = pairing_url.split("&code=", 1)[1]
        assert text_of(tv, "pair-url") == pairing_url

        # The phone opens what it scanned, trades the code for a token of its own and connects.
        phone.get(pairing_url)
        wait_for(phone, lambda d: text_of(d, "banner") == "box is online", message="phone never saw the box online")
        phone_id = text_of(phone, "phone-id")
        assert phone_id.startswith("phone-")
        assert phone.current_url == f"{public_url}/remote?box={box_id}"  # the spent code left the address
        phone_token = phone.execute_script("return localStorage.getItem('tether.phone.token')")
        claims = jwt.decode(phone_token, secret, algorithms=["HS256"])
        assert claims["sub"] == phone_id and box_id in claims["peers"]
        assert phone.execute_script("return localStorage.getItem('tether.phone.id')") == phone_id
        wait_for(tv, lambda d: listed_state(d, phone_id) == "online", message="box never listed the phone")
        wait_for(phone, lambda d: text_of(d, "notice") == f"Paired with {box_id}.")
        # The spent code gives way to a fresh one on the TV.
        wait_for(tv, lambda d: text_of(d, "pair-url").startswith(f"{public_url}/remote?box={box_id}&code=")
                 and text_of(d, "pair-url") != pairing_url, message="box kept showing the spent code")

        for key in ("up", "right", "ok"):
            phone.find_element("css selector", f'button[data-key="{key}"]').click()
        wait_for(tv, lambda d: box_messages(d)[:3] == ["pressed OK", "pressed RIGHT", "pressed UP"],
                 message=f"box shows {box_messages(tv)}")

        # Reopened without a token in the address, the box page uses the one it stored.
        tv.get(f"{public_url}/box")
        wait_for(tv, lambda d: text_of(d, "status").startswith("Connected"), message="reopened box never connected")
        assert text_of(tv, "box-id") == box_id
        wait_for(tv, lambda d: listed_state(d, phone_id) == "online", message="reopened box forgot its phone")

        # A code works once.
        status, answer = post_pair(server.port, code)
        assert status == 403 and answer["status"] == 4 and answer["data"] == {"reason": "used"}, answer

        # The TV removes the phone: it leaves the list, and its presses are refused in words.
        remove = f'#phones li[data-id="{phone_id}"] .remove'
        assert tv.find_element("css selector", remove).is_displayed()
        tv.execute_script("document.querySelector(arguments[0]).click()", remove)  # no stale handle if the list redraws
        wait_for(tv, lambda d: listed_state(d, phone_id) is None, message="box kept the removed phone")
        assert phone_id not in tv.execute_script(f"return localStorage.getItem('tether.box.phones.{box_id}')")
        phone.find_element("css selector", 'button[data-key="down"]').click()
        wait_for(phone, lambda d: text_of(d, "notice") == f"Not allowed: not paired with {box_id}.")

        # A phone without a token that opens the spent code is told so, and does not connect.
        phone.execute_script("localStorage.clear()")
        phone.get(pairing_url)
        wait_for(phone, lambda d: text_of(d, "banner") == "This pairing code was already used: scan the TV's code again")
        assert text_of(phone, "link-state") == "not connected"
        phone.get(f"{public_url}/remote?box={box_id}")
        wait_for(phone, lambda d: text_of(d, "banner") == "Not paired yet: scan the code on the TV.")
    finally:
        tv.quit()
        phone.quit()


# Holds the phone page's first pair request in the page (as if it were still on its way when the
# box dropped) until window.releasePair(); later pair requests never leave, so only the held one,
# kept by the server, can pair.
HOLD_PAIR = """
    window.heldPair = null;
    window.pairRequests = 0;
    const realSend = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        if (typeof data === "string" && data.includes('"type":"pair"')) {
            window.pairRequests += 1;
            if (window.pairRequests === 1) window.heldPair = [this, data];
            return;
        }
        return realSend.call(this, data);
    };
    window.releasePair = () => realSend.call(window.heldPair[0], window.heldPair[1]);
"""


def test_pairing_survives_a_box_reconnect_in_the_middle(start_server, tmp_path):
    server = start_server("--state-dir", str(tmp_path / "state"))
    tv, phone = chromium(TV), chromium(PHONE)
    try:
        tv.get(f"http://127.0.0.1:{server.port}/box")
        wait_for(tv, lambda d: text_of(d, "status").startswith("Connected"), message="box never connected")
        box_id = text_of(tv, "box-id")
        phone.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_PAIR})
        phone.get(f"http://127.0.0.1:{server.port}/remote?box={box_id}")
        wait_for(phone, lambda d: text_of(d, "banner") == "box is online")
        held = wait_for(phone, lambda d: d.execute_script("return window.heldPair && window.heldPair[1]"), message="no pair request")
        assert json.loads(held)["ttl"] == 30   # pair requests ask to be kept; key presses do not
        phone_id = text_of(phone, "phone-id")

        # The box drops while the request is on its way; the request arrives and is kept.
        tv.get("about:blank")
        wait_for(phone, lambda d: text_of(d, "banner") == "box went offline")
        phone.execute_script("window.releasePair()")
        wait_for(phone, lambda d: scrape(server.port)["tether_kept_total"] == 1, message="the pair request was not kept")

        # The box comes back: it gets the request, lists the phone and answers it (also with a ttl).
        tv.get(f"http://127.0.0.1:{server.port}/box")
        wait_for(tv, lambda d: listed_state(d, phone_id) == "online", message="the box never listed the phone")
        wait_for(phone, lambda d: text_of(d, "notice") == f"Paired with {box_id}.", message="the phone never heard paired")
        assert phone.execute_script("return window.pairRequests") >= 2   # the later one never left the page
        assert scrape(server.port)["tether_kept_delivered_total"] == 1
        phone.find_element("css selector", 'button[data-key="ok"]').click()
        wait_for(tv, lambda d: box_messages(d)[0] == "pressed OK")
    finally:
        tv.quit()
        phone.quit()


def test_remote_without_a_box_asks_for_one(start_server):
    server = start_server()
    phone = chromium(PHONE)
    try:
        phone.get(f"http://127.0.0.1:{server.port}/remote")
        assert "Which box?" in text_of(phone, "banner")
        phone.find_element("id", "box-input").send_keys("box-typed")
        phone.find_element("css selector", "#choose-box button").click()
        wait_for(phone, lambda d: d.current_url.endswith("/remote?box=box-typed"))
        wait_for(phone, lambda d: text_of(d, "banner") == "box is offline")
        phone.get(f"http://127.0.0.1:{server.port}/remote?box=no%20spaces")
        assert "not valid" in text_of(phone, "banner")
    finally:
        phone.quit()


def test_golden_svg_renders_to_a_code_that_reads_back_as_its_url(start_server):
    server = start_server("--public-url", "http://tv.example:8080")
    golden = pathlib.Path(__file__).parent.parent / "PairingTests" / "Golden" / "box-golden.svg"
    assert get(server.port, "/pair/box-golden.svg")[2] == golden.read_bytes()
    browser = chromium(TV)
    try:
        browser.get(f"http://127.0.0.1:{server.port}/")
        browser.execute_script("document.body.innerHTML = '<img id=qr width=300 src=/pair/box-golden.svg>'")
        wait_for(browser, lambda d: d.execute_script("return document.getElementById('qr').naturalWidth > 0"))
        assert decode_qr(browser.find_element("id", "qr").screenshot_as_png) == ["http://tv.example:8080/remote?box=box-golden"]
    finally:
        browser.quit()
