"""HTTP a hostile client cannot abuse: request bodies framed as HTTP/1.1 says (no smuggling),
pipelined pairing images served within a per-turn budget and from a cache, requests per
connection capped."""
import socket
import time

from test_http import request
from test_metrics import scrape


def responses(data):
    """Splits pipelined answers (each with Content-Length) into (status, headers, body)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        length = int(headers.get(b"Content-Length", b"0"))
        out.append((int(lines[0].split(b" ")[1]), headers, rest[:length]))
        data = rest[length:]
    return out


def test_a_content_length_body_is_read_as_body_not_as_a_second_request(start_server):
    server = start_server()
    hidden = b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(hidden)) + hidden
    raw += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = responses(request(server.port, raw))
    assert [(status, body) for status, _, body in answers] == [(200, b'{"status":"ok"}'), (200, b'{"status":"ok"}')]


def test_transfer_encoding_gets_501_and_the_connection_closes(start_server):
    server = start_server()
    raw = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"22\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n")
    answers = responses(request(server.port, raw))
    assert len(answers) == 1 and answers[0][0] == 501
    assert b'"status":2' in answers[0][2]


def test_a_body_over_the_limit_gets_413_and_conflicting_lengths_get_400(start_server):
    server = start_server("--max-request-body-bytes", "100")
    big = request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + b"a" * 101)
    assert responses(big)[0][0] == 413 and len(responses(big)) == 1
    twice = request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    assert responses(twice)[0][0] == 400
    signed = request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na")
    assert responses(signed)[0][0] == 400


def test_pipelined_pairing_images_are_served_over_several_turns_all_intact(start_server):
    server = start_server("--qr-cache-entries", "0", "--max-renders-per-second-per-ip", "0")   # every image drawn: the worst case
    count = 150
    raw = b"".join(b"GET /pair/box-%d.png?scale=32 HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(count))
    raw += b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.sendall(raw)
    # Another client is answered meanwhile; the pipelining one still gets every answer in order.
    assert request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").endswith(b'{"status":"ok"}')
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    answers = responses(data)
    assert len(answers) == count + 1
    assert all(status == 200 and body.startswith(b"\x89PNG") for status, _, body in answers[:count])
    assert scrape(server.port)["tether_deferred_requests_total"] > 0


def test_a_repeated_pairing_image_comes_from_the_cache(start_server):
    server = start_server()
    one = b"GET /pair/box-c.png?scale=16 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    first, second = request(server.port, one), request(server.port, one)
    assert first == second
    samples = scrape(server.port)
    assert samples['tether_qr_cache_total{result=hit}'] == 1
    assert samples['tether_qr_cache_total{result=miss}'] == 1


def test_an_address_may_have_only_so_many_qr_codes_drawn_a_second(start_server):
    server = start_server("--max-renders-per-second-per-ip", "5", "--limit-exempt", "127.0.0.2")
    raw = b"".join(b"GET /pair/box-r%d.png HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(30))
    answers = responses(request(server.port, raw + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    statuses = [status for status, _, _ in answers[:30]]
    assert statuses[:10] == [200] * 10 and 429 in statuses               # a burst of twice the rate, then 429
    assert answers[-1][0] == 200
    assert scrape(server.port, source="127.0.0.2")["tether_address_refusals_total{limit=render}"] >= 1


def test_requests_per_connection_are_capped(start_server):
    server = start_server("--max-requests-per-connection", "5")
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 8
    answers = responses(request(server.port, raw))
    assert len(answers) == 5
    assert answers[-1][1].get(b"Connection") == b"close"


def test_a_client_that_half_closes_after_its_request_still_gets_the_whole_answer(start_server):
    # A small send buffer and a small receive buffer: the answer cannot all fit in the kernels,
    # so part of it is still queued in the server when the client's FIN arrives.
    server = start_server("--send-buffer-bytes", "4096")
    for keep_alive in (False, True):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect(("127.0.0.1", server.port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + (b"" if keep_alive else b"Connection: close\r\n") + b"\r\n")
        s.shutdown(socket.SHUT_WR)      # as `nc -N` does: no more requests, still reading
        time.sleep(0.3)                 # the FIN is read while the answer waits
        s.settimeout(5)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        [(status, headers, body)] = responses(data)
        assert status == 200 and len(body) == int(headers[b"Content-Length"]) > 4096, (keep_alive, len(body))
