"""A client that does not read cannot make the server queue without bound, hide from the
slow-consumer rule behind the kernel's buffers, or make messages vanish without a word."""
import json
import socket
import struct
import time

from hostile import close_code, parse_frames, raw_device, read_until_eof, text
from rawws import masked_frame
from test_metrics import scrape

SMALL = ("--max-queued-bytes", "65536", "--slow-consumer-seconds", "1", "--limit-exempt", "127.0.0.1")


def test_a_non_reader_flooding_binary_frames_is_paused_then_closed_with_1008_and_memory_returns(start_server):
    server = start_server(*SMALL)
    before = scrape(server.port)["tether_resident_memory_bytes"]
    s, _ = raw_device(server.port, "/?device_id=nr-flood", rcvbuf=4096)
    s.setblocking(False)
    batch = masked_frame(0x2, b"x") * 10_000          # 70 KB of 1-byte binary frames: each earns a status-3 reply
    sent, stalled_since = 0, None
    while sent < 16_000_000:
        try:
            sent += s.send(batch)
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 1.5:
                break                                   # the server stopped reading us
            time.sleep(0.01)
    assert sent < 8_000_000, f"the server kept reading a client that reads nothing ({sent} bytes)"
    time.sleep(1.5)                                     # over the cap for --slow-consumer-seconds
    s.setblocking(True)
    frames = parse_frames(read_until_eof(s))
    assert close_code(frames) == 1008, "the slow consumer's close reaches it once it reads"
    s.close()
    time.sleep(0.3)
    after = scrape(server.port)
    assert after["tether_slow_consumer_closes_total"] >= 1
    assert after["tether_resident_memory_bytes"] - before < 48 << 20


def test_a_recipient_that_never_reads_is_busy_and_then_closed_despite_kernel_buffers(start_server):
    server = start_server("--max-queued-bytes", "65536", "--slow-consumer-seconds", "2", "--limit-exempt", "127.0.0.1")
    sink, _ = raw_device(server.port, "/?device_id=kb-sink", rcvbuf=4096)      # never reads
    sender, _ = raw_device(server.port, "/?device_id=kb-sender")
    sender.settimeout(0.05)
    body = "y" * 32 * 1024
    seen, statuses = b"", []
    offline = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not offline:
        sender.sendall(text({"from": "kb-sender", "to": "kb-sink", "msg": body}))
        time.sleep(0.1)
        try:
            seen += sender.recv(1 << 16)
        except socket.timeout:
            pass
        for _, payload in parse_frames(seen):
            message = json.loads(payload)
            if "status" in message:
                statuses.append(message["status"])
            if message == {"from": "kb-sink", "to": "all", "msg": "offline"}:
                offline = True
    assert 5 in statuses, "the sender is told the recipient is busy"
    assert offline, "the recipient that never reads is closed and announced offline"
    sink.close()
    sender.close()


def test_every_message_to_a_slow_consumer_is_delivered_or_answered_and_its_1008_arrives(start_server):
    # A cap well over the 64 KiB batch in flight, so the close really drops a backlog.
    server = start_server("--max-queued-bytes", "262144", "--slow-consumer-seconds", "1", "--limit-exempt", "127.0.0.1")
    reader, _ = raw_device(server.port, "/?device_id=sl-reader", rcvbuf=4096)   # reads only later
    sender, greeting = raw_device(server.port, "/?device_id=sl-sender")
    count = 600
    for i in range(count):
        sender.sendall(text({"from": "sl-sender", "to": "sl-reader", "msg": "z" * 1000, "id": i}))
    wait_for_slow_consumer_close(server.port)         # it has begun: read now, within the close timeout
    received = set()
    frames = parse_frames(read_until_eof(reader, seconds=10))
    for opcode, payload in frames:
        if opcode == 0x1:
            message = json.loads(payload)
            if message.get("to") == "sl-reader":
                received.add(message["id"])
    assert close_code(frames) == 1008
    answered = {}
    data = greeting + read_for(sender, 2.0)
    for opcode, payload in parse_frames(data):
        message = json.loads(payload)
        if "status" in message and "id" in message:
            assert message["id"] not in answered, "one answer per message"
            answered[message["id"]] = message["status"]
    assert not received & set(answered), "a delivered message is not also answered"
    assert received | set(answered) == set(range(count)), "every message is delivered or answered"
    assert set(answered.values()) <= {1, 5}
    assert 1 in answered.values(), "the dropped backlog is answered with status 1"
    assert scrape(server.port)["tether_undelivered_total"] >= 1
    reader.close()
    sender.close()


def wait_for_slow_consumer_close(port, seconds=10):
    deadline = time.monotonic() + seconds
    while scrape(port)["tether_slow_consumer_closes_total"] < 1:
        assert time.monotonic() < deadline, "the slow consumer was never closed"
        time.sleep(0.05)


def read_for(s, seconds):
    s.settimeout(0.2)
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
    return data


def test_a_peer_that_resets_while_the_server_still_writes_does_not_end_the_server(start_server):
    # Pipelined images are answered over several loop turns without reading more, so the reset is
    # noticed only by a write: it must not raise SIGPIPE in the server.
    server = start_server("--qr-cache-entries", "0", "--max-renders-per-second-per-ip", "0", "--limit-exempt", "127.0.0.1")
    for round in range(3):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"".join(b"GET /pair/box-%d.png?scale=32 HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(200)))
        time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()                                           # a reset, while answers are still due
        time.sleep(0.3)
    assert server.process.poll() is None, f"the server died (exit {server.process.returncode})"
    assert scrape(server.port)["tether_deferred_requests_total"] > 0
