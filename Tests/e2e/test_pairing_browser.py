"""The pairing story in real browsers: a TV shows /box, a phone scans its QR code and opens /remote.

The TV loads the box page through a relay (blackhole.py), so the test can drop the box's network
without a close, as a pulled cable does; the QR code points straight at the server (--public-url).
Set TETHER_SCREENSHOTS=DIR to save both pages as PNG (`make screenshots` writes docs/images).
"""
import os
import pathlib

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
