"""The pages tell server replies from routed messages by what a peer cannot forge (finding: a
peer's {"status":0,...} moved the phone's banner). Runs the pages' own classifier in Node."""
import json
import pathlib
import subprocess

LINK_JS = pathlib.Path(__file__).resolve().parents[2] / "Sources/Pairing/Web/link.js"

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
]


def test_frames_are_classified_by_what_a_peer_cannot_forge():
    script = LINK_JS.read_text() + "\nconst cases = " + json.dumps([c for c, _ in CASES]) + ";\n" \
        + "console.log(JSON.stringify(cases.map((c) => tetherFrameKind(c, 'phone-1'))));\n"
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == [kind for _, kind in CASES]
