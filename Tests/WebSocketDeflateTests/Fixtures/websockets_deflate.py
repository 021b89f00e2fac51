"""Cross-checks Tether's permessage-deflate against Python's `websockets` (an independent
implementation of RFC 7692 over zlib). Run by hand; the JSON it writes is committed.

  python3 websockets_deflate.py generate   # writes python-deflated.json: what websockets clients
                                           # send under the server's policy, for the Swift tests
  python3 websockets_deflate.py check      # reads swift-deflated.json (written by the Swift test
                                           # with WRITE_SWIFT_DEFLATED=1) and inflates it here
"""

import json
import pathlib
import sys
import zlib

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension

HERE = pathlib.Path(__file__).resolve().parent


def messages():
    """The same envelopes as the Swift tests' jsonMessage, plus text and binary edge cases."""
    key = b'{"from":"phone-1","to":"box-1","msg":{"type":"key","key":"up"}}'
    presence = b'{"type":"presence","id":"box-1","online":true,"watchers":["phone-1","phone-2"]}'
    def batch(count):
        items = b",".join(
            b'{"id":%d,"type":"key","key":"%s","at":%d}' % (i, [b"up", b"down", b"left", b"right", b"ok"][i % 5], 1700000000 + i * 7)
            for i in range(count))
        return b'{"from":"phone-1","to":"box-1","msg":{"type":"batch","items":[' + items + b"]}}"
    return [
        ("Hello", b"Hello"),
        ("key press", key),
        ("presence", presence),
        ("1 KiB batch", batch(22)),
        ("4 KiB batch", batch(90)),
        ("unicode", ("héllo wörld ✓ " * 40).encode()),
        ("binary", bytes(range(256)) * 8),
        ("empty", b""),
    ]


def client_sequence(name, window_bits, keeps_context):
    # What a websockets client sends once the server's response is accepted: it compresses, the
    # server (remote) never keeps context (server_no_context_takeover).
    extension = PerMessageDeflate(
        remote_no_context_takeover=True,
        local_no_context_takeover=not keeps_context,
        remote_max_window_bits=15,
        local_max_window_bits=window_bits,
        compress_settings={"memLevel": 5},  # as websockets' own client default
    )
    encoded = []
    for label, plain in messages():
        frame = extension.encode(Frame(Opcode.TEXT, plain))
        assert frame.rsv1
        encoded.append({"name": label, "plain": plain.hex(), "compressed": bytes(frame.data).hex()})
    return {"name": name, "clientWindowBits": window_bits, "keepsContext": keeps_context, "messages": encoded}


def offers():
    factories = {
        "websockets client default": ClientPerMessageDeflateFactory(),
        "no context takeover either way": ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True),
        "small windows": ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=12),
        "no client_max_window_bits": ClientPerMessageDeflateFactory(client_max_window_bits=None),
    }
    return [{"name": name, "header": build_extension([(f.name, f.get_request_params())])} for name, f in factories.items()]


def generate():
    fixture = {
        "generator": f"websockets {websockets.__version__}, zlib {zlib.ZLIB_RUNTIME_VERSION}",
        "offers": offers(),
        "sequences": [
            client_sequence("default policy: client_no_context_takeover", 15, keeps_context=False),
            client_sequence("clientContextWindowBits 10: the client keeps its context", 10, keeps_context=True),
        ],
    }
    (HERE / "python-deflated.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print("wrote python-deflated.json")


def factory_for(offer_header):
    (name, params), = parse_extension(offer_header)
    options = {"client_max_window_bits": None}
    for key, value in params:
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            options[key] = True
        else:
            options[key] = True if value is None else int(value)
    return ClientPerMessageDeflateFactory(**options)


def check():
    fixture = json.loads((HERE / "swift-deflated.json").read_text())
    failures = 0
    for case in fixture["negotiations"]:
        (name, params), = parse_extension(case["response"])
        extension = factory_for(case["offer"]).process_response_params(params, [])
        print(f"accepted: {case['offer']!r} -> {case['response']!r} as {extension!r}")
    for case in fixture["messages"]:
        # A websockets client that accepted server_no_context_takeover and the server's window.
        extension = PerMessageDeflate(True, True, case["serverWindowBits"], 15)
        frame = extension.decode(Frame(Opcode.TEXT, bytes.fromhex(case["compressed"]), rsv1=True), max_size=None)
        ok = bytes(frame.data) == bytes.fromhex(case["plain"])
        failures += not ok
        print(f"{'ok ' if ok else 'BAD'} {case['name']} (window {case['serverWindowBits']}):"
              f" {len(case['plain']) // 2} -> {len(case['compressed']) // 2} bytes")
    print(f"{len(fixture['messages'])} messages, {failures} failures, {len(fixture['negotiations'])} responses accepted")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    {"generate": generate, "check": check}[sys.argv[1]]()
