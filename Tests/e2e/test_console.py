"""The operator console (/console) in headless Chromium, and its API over plain HTTP.

Set TETHER_SCREENSHOTS=DIR to save the console at 1280x800 and 390x844 (`make screenshots`
writes docs/images/console-desktop.png and console-phone.png).
"""
import json
import os
import socket
import time

import pytest
from selenium.webdriver.common.keys import Keys
from websockets.exceptions import ConnectionClosed

from browser import PHONE, chromium, decode_qr, text_of, wait_for
from consoleapi import Load, call, console_server, device, sign_in
from test_metrics import scrape
from test_pairing_http import get
from trust import Keys as TrustKeys

DESKTOP = (1280, 800)


def save_screenshot(browser, name):
    folder = os.environ.get("TETHER_SCREENSHOTS")
    if folder:
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(os.path.join(folder, name))


def sign_in_by_keyboard(browser, port, key):
    browser.get(f"http://127.0.0.1:{port}/console")
    wait_for(browser, lambda d: d.find_element("id", "sign-in").is_displayed(), message="no sign-in form")
    # The key field has the focus: type and press Enter, no mouse.
    browser.switch_to.active_element.send_keys(key + Keys.ENTER)


def chart_drew(browser, chart_id):
    return browser.execute_script(
        "const svg = document.querySelector(`#${arguments[0]} svg`);"
        " return Number(svg.dataset.max) > 0 && svg.querySelector('path').getAttribute('d').includes('L')", chart_id)


def event_rows(browser):
    return browser.execute_script(
        "return [...document.querySelectorAll('#event-list tr')].map(tr => [...tr.cells].map(td => td.textContent))")


def test_console_signs_in_follows_the_fleet_and_kicks_a_device(start_server, tmp_path):
    server, key = console_server(start_server, tmp_path)
    browser = chromium(DESKTOP)
    fleet = []
    try:
        # A wrong key is refused; the right one gives a session, and the key stays nowhere.
        sign_in_by_keyboard(browser, server.port, "not-the-key-not-the-key")
        wait_for(browser, lambda d: text_of(d, "sign-in-error") == "That key was refused.", message="wrong key not refused")
        browser.switch_to.active_element.send_keys(key + Keys.ENTER)
        wait_for(browser, lambda d: text_of(d, "link-state") == "Live", message="the live stream never opened")
        assert key not in browser.page_source
        assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0
        assert browser.execute_script("return document.cookie") == ""
        cookies = browser.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [("tether_console", True, "Strict", "/api/console")]
        assert cookies[0]["value"] != key and abs(cookies[0]["expires"] - time.time() - 12 * 3600) < 60

        # The online count follows 50 devices connecting (20 boxes, 20 phones, 10 other).
        ids = [f"box-{i}" for i in range(20)] + [f"phone-{i}" for i in range(20)] + [f"tv-{i}" for i in range(10)]
        fleet = [device(server.port, id) for id in ids]
        wait_for(browser, lambda d: text_of(d, "now-devices") == "50", message="50 devices never shown online")
        assert text_of(browser, "now-classes") == "20 boxes, 20 phones, 10 other"

        # The msg/s tile and chart follow a load.
        load = Load(server.port)
        try:
            wait_for(browser, lambda d: d.execute_script("return Number(document.getElementById('now-routed').textContent.replace(/,/g, ''))") > 0,
                     message="routed msg/s stayed 0 under load")
            wait_for(browser, lambda d: chart_drew(d, "chart-routed"), message="the msg/s chart drew nothing")
            time.sleep(2)
            save_screenshot(browser, "console-desktop.png")
        finally:
            load.stop()
        assert load.sent > 0

        for connection in fleet:
            connection.close()
        fleet = []
        wait_for(browser, lambda d: text_of(d, "now-devices") == "0", message="the count never went back to 0")

        # Look a box up, show its pairing QR and kick it, all from the keyboard.
        box = device(server.port, "box-look")
        fleet.append(box)
        lookup = browser.find_element("id", "lookup-id")
        lookup.send_keys("box-look" + Keys.ENTER)
        wait_for(browser, lambda d: text_of(d, "lookup-state") == "online", message="lookup never said online")
        assert text_of(browser, "lookup-kind") == "box (by its id)"
        browser.find_element("id", "show-qr").send_keys(Keys.ENTER)
        wait_for(browser, lambda d: d.execute_script("const qr = document.getElementById('lookup-qr'); return !qr.hidden && qr.complete && qr.naturalWidth > 0"),
                 message="no pairing QR shown")
        assert decode_qr(browser.find_element("id", "lookup-qr").screenshot_as_png) == [f"http://127.0.0.1:{server.port}/remote?box=box-look"]
        browser.find_element("id", "disconnect").send_keys(Keys.ENTER)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                box.recv(timeout=10)
        assert closed.value.rcvd.code == 4002
        wait_for(browser, lambda d: text_of(d, "lookup-state") == "offline", message="lookup never said offline")
        assert "4002" in text_of(browser, "lookup-since")

        # The recent events show it, filtered by id, newest first.
        browser.find_element("id", "event-filter").send_keys("box-look")
        wait_for(browser, lambda d: [row[1] for row in event_rows(d)][:3] == ["disconnect", "kick", "connect"],
                 message=f"events for box-look: {event_rows(browser)}")
        assert event_rows(browser)[0][2:4] == ["box-look", "4002"]
        assert all(row[2] == "box-look" for row in event_rows(browser))

        # The same console on a phone: no sideways scrolling.
        phone = chromium(PHONE)
        try:
            sign_in_by_keyboard(phone, server.port, key)
            wait_for(phone, lambda d: text_of(d, "link-state") == "Live")
            wait_for(phone, lambda d: chart_drew(d, "chart-routed"), message="the phone's console has no history")
            assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
            save_screenshot(phone, "console-phone.png")
        finally:
            phone.quit()
    finally:
        for connection in fleet:
            connection.close()
        browser.quit()


def test_console_off_serves_no_console(start_server, tmp_path):
    server, key = console_server(start_server, tmp_path, "--console", "off")
    for path in ["/console", "/static/console.js", "/api/console/live", "/api/console/session"]:
        assert get(server.port, path)[0] == 404, path
    assert call(server.port, "POST", "/api/console/session", {"key": key})[0] == 404
    assert "tether_console_streams 0" in get(server.port, "/metrics")[2].decode()
    no_key = start_server()   # without an API key nobody could sign in: no console either
    assert get(no_key.port, "/console")[0] == 404


def test_console_api_needs_a_session_and_refuses_guesses_like_the_api(start_server, tmp_path):
    server, key = console_server(start_server, tmp_path)
    port = server.port
    assert get(port, "/console")[2].startswith(b"<!doctype html>")
    assert call(port, "GET", "/api/console/events")[0] == 401
    assert call(port, "GET", "/api/console/events", cookie="tether_console=" + "0" * 48)[0] == 401
    statuses = [call(port, "POST", "/api/console/session", {"key": f"guess-{i}"})[0] for i in range(8)]
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    time.sleep(3)   # the slow-down lets up
    cookie = sign_in(port, key)
    assert call(port, "GET", "/api/console/session", cookie=cookie)[0] == 200

    # A page of another site cannot kick (its request carries a foreign Origin).
    box = device(port, "box-x")
    try:
        assert call(port, "POST", "/api/console/devices/box-x/disconnect", {}, cookie=cookie,
                    headers={"Origin": "http://evil.example"})[0] == 403
        status, answer, _ = call(port, "GET", "/api/console/devices/box-x", cookie=cookie)
        assert status == 200 and answer["data"]["online"] is True and answer["data"]["class"] == "box"
        assert answer["data"]["kept"] == {"messages": 0, "bytes": 0} and answer["data"]["peers"] is None
        # A message kept for an offline device shows in its lookup.
        phone = device(port, "ph-k")
        try:
            kept = json.dumps({"from": "ph-k", "to": "tv-away", "msg": "later", "ttl": 60, "id": 1})
            phone.send(kept)
            while json.loads(phone.recv(timeout=10)).get("status") != 8:
                pass
        finally:
            phone.close()
        answer = call(port, "GET", "/api/console/devices/tv-away", cookie=cookie)[1]
        assert answer["data"]["online"] is False and answer["data"]["kept"] == {"messages": 1, "bytes": len(kept)}
        assert call(port, "POST", "/api/console/devices/box-x/disconnect", {}, cookie=cookie,
                    headers={"Origin": f"http://127.0.0.1:{port}"})[0] == 200
    finally:
        box.close()
    status, answer, _ = call(port, "GET", "/api/console/events?id=box-x", cookie=cookie)
    assert [(e["kind"], e.get("code")) for e in answer["data"]][:3] == [("disconnect", 4002), ("kick", None), ("connect", None)]
    wrong = [e for e in call(port, "GET", "/api/console/events", cookie=cookie)[1]["data"] if e["kind"] == "auth_failure"]
    assert wrong and wrong[0]["detail"] == "wrong API key from 127.0.0.1"
    metrics = scrape(port)
    assert metrics["tether_device_disconnects_total{code=4002}"] == 1
    assert metrics["tether_device_connects_total"] == 2   # box-x, and the phone that kept a message

    # Signing out ends the session, and the streams opened with it.
    stream = socket.create_connection(("127.0.0.1", port), timeout=10)
    stream.sendall(f"GET /api/console/live HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    assert stream.recv(4096).startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream")
    assert call(port, "POST", "/api/console/signout", cookie=cookie)[0] == 200
    assert call(port, "GET", "/api/console/session", cookie=cookie)[0] == 401
    deadline = time.time() + 5
    while stream.recv(65536):
        assert time.time() < deadline, "the stream outlived its session"
    stream.close()


def test_token_mode_lookup_lists_peers_and_issues_a_pairing_code(start_server, tmp_path):
    keys = TrustKeys(str(tmp_path))
    server = start_server(*keys.server_args())
    cookie = sign_in(server.port, keys.api_key)
    box = device(server.port, "tv-1&token=" + keys.token("tv-1", kind="box", peers=["phone-1"]))
    try:
        status, answer, _ = call(server.port, "GET", "/api/console/devices/tv-1", cookie=cookie)
        assert status == 200
        assert (answer["data"]["kind"], answer["data"]["class"], answer["data"]["peers"]) == ("box", "box", ["phone-1"])
        status, answer, _ = call(server.port, "POST", "/api/console/devices/tv-1/pairing", cookie=cookie)
        assert status == 200 and answer["data"]["svg"].startswith("/pair/code/")
        assert "&code=" in answer["data"]["url"]
        assert get(server.port, answer["data"]["svg"])[0] == 200
    finally:
        box.close()


def test_a_console_that_does_not_read_is_dropped(start_server, tmp_path):
    server, key = console_server(start_server, tmp_path, "--max-queued-bytes", "1024", "--send-buffer-bytes", "4096")
    cookie = sign_in(server.port, key)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", server.port))
    stuck.sendall(f"GET /api/console/live HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    try:
        deadline = time.time() + 10
        while scrape(server.port)["tether_console_streams"] != 1:
            assert time.time() < deadline, "the stream never opened"
            time.sleep(0.1)
        # Connects and disconnects fill the event stream faster than the kernel buffers can hide.
        deadline = time.time() + 30
        while scrape(server.port)["tether_console_streams"] != 0:
            assert time.time() < deadline, "a console that does not read was never dropped"
            for index in range(50):
                device(server.port, f"churn-{index}").close()
    finally:
        stuck.close()
