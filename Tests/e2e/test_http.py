"""Plain HTTP on the server port: health, errors, keep-alive, limits."""
import socket


def request(port, raw, read_all=True, source=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0) if source else None)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if not read_all and b"\r\n\r\n" in data:
            break
    s.close()
    return data


def test_healthz_answers_200_json(echo_server):
    reply = request(echo_server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b'{"status":"ok"}')


def test_keep_alive_serves_pipelined_requests(echo_server):
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = request(echo_server.port, one + one + last)
    assert reply.count(b"HTTP/1.1 200 OK") == 3


def test_unknown_path_is_404_json(echo_server):
    reply = request(echo_server.port, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 404 ")
    assert b'"status":2' in reply


def test_post_to_a_get_route_is_405(echo_server):
    reply = request(echo_server.port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 405 ")


def test_oversized_head_is_431(echo_server):
    reply = request(echo_server.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_garbage_is_400_and_server_lives_on(echo_server):
    reply = request(echo_server.port, b"\x00\x01\x02 nonsense\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert request(echo_server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
