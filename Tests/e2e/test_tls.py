"""wss:// and https:// on the same port, with a test CA made here (Python's cryptography), and
independent clients: Python websockets and ssl."""
import asyncio
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import BIN
from devices import recv_until, run
from test_metrics import scrape


def _name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


class TestCA:
    def __init__(self, folder):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name("Tether test CA")).issuer_name(_name("Tether test CA"))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_file = os.path.join(folder, "ca.pem")
        with open(self.ca_file, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name):
        """A server certificate for 127.0.0.1 and localhost; returns (cert file, key file, serial)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        import ipaddress
        cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_file, key_file = os.path.join(self.folder, "server.pem"), os.path.join(self.folder, "server.key")
        with open(cert_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return cert_file, key_file, cert.serial_number

    def client_context(self):
        context = ssl.create_default_context(cafile=self.ca_file)
        return context


@pytest.fixture
def ca(tmp_path):
    return TestCA(str(tmp_path))


def tls_server(start_server, ca, *more):
    cert, key, serial = ca.issue("tether-1")
    server = start_server("--tls-cert", cert, "--tls-key", key, "--limit-exempt", "127.0.0.1", *more)
    server.wss = f"wss://127.0.0.1:{server.port}"
    server.serial = serial
    return server


def https_get(port, path, context):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            peer, version, alpn = s.getpeercert(binary_form=True), s.version(), s.selected_alpn_protocol()
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except ssl.SSLZeroReturnError:
                pass
            return data, peer, version, alpn


def test_devices_route_and_hear_presence_over_wss(start_server, ca):
    server = tls_server(start_server, ca)
    context = ca.client_context()

    async def go():
        async with websockets.connect(server.wss + "/?device_id=tls-box", ssl=context) as box, \
                websockets.connect(server.wss + "/?device_id=tls-phone", ssl=context) as phone:
            await recv_until(box, lambda m: m == {"from": "tls-phone", "to": "all", "msg": "online"})
            for i in range(50):
                await phone.send(json.dumps({"from": "tls-phone", "to": "tls-box", "msg": "x" * (i * 300), "n": i}))
            got = [(await recv_until(box, lambda m: m.get("from") == "tls-phone"))["n"] for _ in range(50)]
            assert got == list(range(50))
    run(go())
    assert scrape_tls(server, context)["tether_tls_handshakes_total"] >= 2


def scrape_tls(server, context):
    from prometheus_client.parser import text_string_to_metric_families
    data, _, _, _ = https_get(server.port, "/metrics", context)
    body = data.split(b"\r\n\r\n", 1)[1].decode()
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[sample.name + "".join(f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()))] = sample.value
    return samples


def test_https_answers_with_tls_1_2_or_1_3_and_alpn_http_1_1(start_server, ca):
    server = tls_server(start_server, ca)
    context = ca.client_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    data, _, version, alpn = https_get(server.port, "/healthz", context)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"status":"ok"}')
    assert version in ("TLSv1.2", "TLSv1.3") and alpn == "http/1.1"


def test_plain_http_on_the_tls_port_gets_a_plain_400_and_tls_on_the_plain_port_is_closed(start_server, ca):
    server = tls_server(start_server, ca)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")
    assert scrape_tls(server, ca.client_context())["tether_tls_refusals_total{reason=plain_http}"] == 1

    plain = start_server()
    context = ca.client_context()
    with socket.create_connection(("127.0.0.1", plain.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert scrape(plain.port)["tether_tls_refusals_total{reason=tls_on_plain_port}"] == 1


def test_an_old_tls_version_fails_the_handshake_and_the_server_goes_on(start_server, ca):
    server = tls_server(start_server, ca)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        old.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            old.wrap_socket(raw)
    data, _, _, _ = https_get(server.port, "/healthz", ca.client_context())
    assert data.startswith(b"HTTP/1.1 200")


def test_sighup_reloads_the_certificate_without_dropping_connections(start_server, ca):
    server = tls_server(start_server, ca)
    context = ca.client_context()

    async def go():
        async with websockets.connect(server.wss + "/?device_id=rl-1", ssl=context) as first:
            await recv_until(first, lambda m: m.get("msg") == "online")
            _, _, new_serial = ca.issue("tether-2")             # overwrites the files the server was started with
            server.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            _, der, _, _ = https_get(server.port, "/healthz", context)
            assert x509.load_der_x509_certificate(der).serial_number == new_serial
            await first.send(json.dumps({"from": "rl-1", "to": "server", "msg": "queryStatus", "data": ["rl-1"]}))
            assert (await recv_until(first, lambda m: "status" in m))["data"] == {"rl-1": "online"}   # still open
            with open(os.path.join(ca.folder, "server.pem"), "w") as f:
                f.write("not a certificate")
            server.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            _, der, _, _ = https_get(server.port, "/healthz", context)   # the previous pair still serves
            assert x509.load_der_x509_certificate(der).serial_number == new_serial
    run(go())
    samples = scrape_tls(server, context)
    assert samples["tether_tls_reloads_total{result=ok}"] == 1 and samples["tether_tls_reloads_total{result=failed}"] == 1


def test_a_bad_certificate_at_start_stops_with_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    result = subprocess.run([BIN, "--port", "0", "--tls-cert", str(bad), "--tls-key", str(bad)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("tether: ") and result.stderr.count("\n") == 1


def test_a_slow_tls_consumer_gets_its_1008_in_a_valid_tls_stream(start_server, ca):
    # The close frame and close_notify are made after plaintext waiting in the backlog: the records
    # must still reach the peer in sequence (else its TLS stack fails with a bad record MAC).
    server = tls_server(start_server, ca, "--max-queued-bytes", "262144", "--slow-consumer-seconds", "1")
    context = ca.client_context()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", server.port))
    sink = context.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
    sink.sendall(b"GET /?device_id=tls-sink HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sink.recv(1)
    assert head.startswith(b"HTTP/1.1 101")

    async def flood():
        # max_queue=None: the flooder keeps reading its own replies, so its close is not held up.
        async with websockets.connect(server.wss + "/?device_id=tls-flood", ssl=context, max_queue=None) as ws:
            for i in range(400):
                await ws.send(json.dumps({"from": "tls-flood", "to": "tls-sink", "msg": "f" * 2000, "n": i}))
            deadline = time.monotonic() + 10
            while scrape_tls(server, context).get("tether_slow_consumer_closes_total", 0) < 1:
                assert time.monotonic() < deadline, "never closed as a slow consumer"
                await asyncio.sleep(0.05)
    run(flood())
    data, ending = b"", None
    try:
        while chunk := sink.recv(65536):
            data += chunk
        ending = "eof"
    except ssl.SSLZeroReturnError:
        ending = "close_notify"
    except (ssl.SSLError, OSError) as error:
        ending = repr(error)
    from hostile import close_code, parse_frames
    assert ending in ("eof", "close_notify"), ending            # no record error, no cut stream
    assert close_code(parse_frames(data)) == 1008


def test_reloads_under_load_drop_no_connection_and_lose_no_message(start_server, ca):
    """Ten pairs keep routing numbered messages over wss while new clients connect and the
    certificate is replaced and reloaded five times: every message arrives in order, no
    connection is closed, and handshakes after each reload present the new certificate."""
    server = tls_server(start_server, ca, "--presence", "off")   # senders read nothing: no presence to pile up
    context = ca.client_context()
    pairs, per_pair = 10, 100

    async def pair(index, stop):
        async with websockets.connect(f"{server.wss}/?device_id=rs-{index}", ssl=context) as sender, \
                websockets.connect(f"{server.wss}/?device_id=rr-{index}", ssl=context) as receiver:
            received = []

            async def read():
                while True:
                    message = json.loads(await asyncio.wait_for(receiver.recv(), 20))
                    if message.get("from") != f"rs-{index}":
                        continue
                    if message["msg"] == "end":
                        return
                    received.append(message["msg"])

            reader = asyncio.create_task(read())
            number = 0
            while number < per_pair or not stop.is_set():   # routing goes on through every reload
                await sender.send(json.dumps({"from": f"rs-{index}", "to": f"rr-{index}", "msg": number}))
                number += 1
                if number % 20 == 0:
                    await asyncio.sleep(0.01)
            await sender.send(json.dumps({"from": f"rs-{index}", "to": f"rr-{index}", "msg": "end"}))
            await reader
            assert received == list(range(number))
            assert sender.close_code is None and receiver.close_code is None

    async def newcomers(stop, serials):
        count = 0
        while not stop.is_set():
            async with websockets.connect(f"{server.wss}/?device_id=nc-{count}&queryStatus=rr-0", ssl=context) as client:
                await recv_until(client, lambda m: "status" in m)
            count += 1
        assert count > 0

    async def go():
        stop = asyncio.Event()
        serials = []
        background = asyncio.create_task(newcomers(stop, serials))
        routing = asyncio.gather(*(pair(i, stop) for i in range(pairs)))
        for round_number in range(5):
            await asyncio.sleep(0.2)
            _, _, serial = ca.issue(f"tether-r{round_number}")
            server.process.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.2)
            _, der, _, _ = await asyncio.to_thread(https_get, server.port, "/healthz", context)
            assert x509.load_der_x509_certificate(der).serial_number == serial
        stop.set()
        await routing
        await background
    run(go())
    assert server.process.poll() is None
    assert scrape_tls(server, context)["tether_tls_reloads_total{result=ok}"] == 5
