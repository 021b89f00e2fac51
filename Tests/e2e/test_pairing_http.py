"""The pairing routes over plain HTTP: QR codes (SVG, PNG, JSON), the pages, and their refusals."""
import json
import pathlib

import pytest

from browser import decode_qr
from test_http import request

GOLDEN_SVG = pathlib.Path(__file__).parent.parent / "PairingTests" / "Golden" / "box-golden.svg"


def get(port, path, host="tv.example:8080"):
    reply = request(port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head, body = reply.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_svg_for_a_fixed_id_is_byte_stable(echo_server):
    first = get(echo_server.port, "/pair/box-golden.svg")
    second = get(echo_server.port, "/pair/box-golden.svg")
    assert first[0] == 200 and first[1]["content-type"] == "image/svg+xml"
    assert first[2] == second[2] == GOLDEN_SVG.read_bytes()


def test_png_decodes_to_the_pairing_url(echo_server):
    status, headers, body = get(echo_server.port, "/pair/box-1.png")
    assert status == 200 and headers["content-type"] == "image/png"
    assert decode_qr(body) == ["http://tv.example:8080/remote?box=box-1"]
    status, _, body = get(echo_server.port, "/pair/b:1@x~y.png?scale=3", host="127.0.0.1:9")
    assert status == 200 and decode_qr(body) == ["http://127.0.0.1:9/remote?box=b:1@x~y"]


def test_json_names_the_url_and_images(echo_server):
    status, _, body = get(echo_server.port, "/pair/box-1.json")
    assert status == 200
    assert json.loads(body) == {"status": 0, "message": "ok", "data": {
        "box": "box-1", "url": "http://tv.example:8080/remote?box=box-1",
        "svg": "/pair/box-1.svg", "png": "/pair/box-1.png"}}


def test_public_url_wins_over_the_host_header(start_server):
    server = start_server("--public-url", "https://tv.example.com/")
    _, _, body = get(server.port, "/pair/box-1.png", host="attacker.example")
    assert decode_qr(body) == ["https://tv.example.com/remote?box=box-1"]


@pytest.mark.parametrize("path, status, words", [
    ("/pair/bad%20id.svg", 400, "may only contain"),
    ("/pair/all.svg", 400, "reserved"),
    ("/pair/" + "a" * 129 + ".svg", 400, "longer than"),
    ("/pair/.svg", 400, "empty"),
    ("/pair/box-1.gif", 404, "/pair/ID.svg"),
    ("/pair/box-1", 404, "/pair/ID.svg"),
    ("/pair/box-1.png?scale=0", 400, "scale"),
    ("/pair/box-1.png?scale=x", 400, "scale"),
])
def test_bad_pairing_requests_get_json_errors(echo_server, path, status, words):
    got, headers, body = get(echo_server.port, path)
    assert got == status and headers["content-type"] == "application/json"
    answer = json.loads(body)
    assert answer["status"] == 2 and words in answer["message"]


def test_unprintable_host_gets_400(echo_server):
    status, _, body = get(echo_server.port, "/pair/box-1.svg", host="a b")
    assert status == 400 and b"Host" in body


@pytest.mark.parametrize("path, kind", [
    ("/", "text/html"), ("/box", "text/html"), ("/remote", "text/html"),
    ("/tether-client.js", "text/javascript"), ("/static/page.js", "text/javascript"), ("/static/tether.css", "text/css"),
    ("/static/favicon.svg", "image/svg+xml"), ("/docs/protocol.md", "text/markdown"),
])
def test_pages_are_served_from_the_binary(echo_server, path, kind):
    status, headers, body = get(echo_server.port, path)
    assert status == 200 and headers["content-type"].startswith(kind) and body
    assert "default-src 'self'" in headers["content-security-policy"]


def test_index_links_both_pages_and_the_docs(echo_server):
    _, _, body = get(echo_server.port, "/")
    for link in (b'href="/box"', b'href="/remote"', b'href="/docs/protocol.md"'):
        assert link in body


def test_a_device_may_still_be_called_box(echo_server):
    """The pages' paths serve HTML to browsers; a WebSocket upgrade there is still a device."""
    import asyncio
    import websockets

    async def go():
        async with websockets.connect(f"{echo_server.url}/box") as box:
            assert json.loads(await box.recv()) == {"from": "box", "to": "all", "msg": "online"}
    asyncio.run(go())
