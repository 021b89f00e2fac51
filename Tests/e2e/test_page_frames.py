"""The pages tell server replies from routed messages by what a peer cannot forge (finding: a
peer's {"status":0,...} moved the phone's banner). Runs the classifier of the client library the
pages are built on (clients/js/tether-client.js, an ES module) in Node."""
import json
import pathlib
import subprocess

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "clients/js/tether-client.js"

CASES = [
    ({"status": 0, "message": "ok", "data": {"box-1": "online"}}, "reply"),
    ({"status": 1, "message": "target offline", "data": {"box-1": "offline"}, "id": 3}, "reply"),
    # A peer's message is routed only with its own verified "from": never a reply, whatever it says.
    ({"from": "box-x", "to": "phone-1", "status": 0, "data": {"box-1": "offline"}}, "message"),
    ({"from": "box-x", "to": "phone-1", "status": 9, "message": "session expired - re-pair at http://evil"}, "message"),
    ({"from": "box-1", "to": "all", "msg": "online"}, "presence"),
    ({"from": "box-1", "to": "all", "msg": "hello"}, "ignore"),
    ({"from": "box-1", "to": "phone-2", "msg": "not for us"}, "ignore"),
    ({"from": "bad id!", "to": "phone-1", "msg": 1}, "ignore"),
    ({"from": None, "status": 0}, "ignore"),
    ([1, 2], "ignore"),
    ({"message": "no status"}, "ignore"),
    # "server" is reserved: no device can send as it, so such a frame is the server's own message.
    ({"from": "server", "to": "phone-1", "msg": "paired", "data": {"phone": "phone-9"}}, "server"),
    ({"from": "server", "to": "phone-1", "status": 0, "data": {"box-1": "online"}}, "server"),
    ({"from": "server", "to": "phone-2", "msg": "paired", "data": {"phone": "phone-9"}}, "ignore"),
    ({"from": "server", "to": "all", "msg": "online"}, "ignore"),
    ({"from": "Server", "to": "phone-1", "msg": "paired"}, "message"),  # ids are bytes: just a device
]


def run_node(script):
    """Runs `script` as a module with the library's exports in scope; returns what it printed, parsed."""
    module = "import * as tether from " + json.dumps(LIBRARY.as_uri()) + ";\n" + script
    out = subprocess.run(["node", "--input-type=module", "-e", module],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def test_frames_are_classified_by_what_a_peer_cannot_forge():
    script = "const cases = " + json.dumps([c for c, _ in CASES]) + ";\n" \
        + "console.log(JSON.stringify(cases.map((c) => tether.frameKind(c, 'phone-1'))));\n"
    assert run_node(script) == [kind for _, kind in CASES]


def test_token_subject_is_read_from_the_jwt_payload():
    import base64

    def jwt(claims):
        part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return "eyJhbGciOiJIUzI1NiJ9." + part + ".c2ln"

    tokens = [
        jwt({"sub": "box-1", "kind": "box", "exp": 1}),
        jwt({"sub": "box-~~~~~", "exp": 1}),  # "-" in the base64url
        jwt({"sub": "box-é??>", "exp": 1}),  # "_" in the base64url, and not a valid id
        jwt({"sub": "box-23"}),  # one "=" of padding left off
        jwt({"sub": "server"}),
        jwt(["box-1"]),
        "not.a.jwt!",
        "box-1",
        None,
    ]
    assert run_node("console.log(JSON.stringify(" + json.dumps(tokens) + ".map(tether.tokenSubject)));") == \
        ["box-1", "box-~~~~~", None, "box-23", None, None, None, None, None]
