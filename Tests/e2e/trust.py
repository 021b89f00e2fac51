"""Token-mode helpers: keys on disk and tokens minted by PyJWT (an independent library)."""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class Keys:
    """An HMAC secret, an EC P-256 pair and an RSA pair, written to `folder`."""

    def __init__(self, folder):
        self.folder = folder
        self.secret = os.urandom(32).hex().encode()
        self.hmac_file = os.path.join(folder, "main.key")
        with open(self.hmac_file, "wb") as f:
            f.write(self.secret + b"\n")
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_file = self._public("ec.pem", self.ec)
        self.rsa_file = self._public("rsa.pem", self.rsa)
        self.api_key = os.urandom(24).hex()
        self.api_file = os.path.join(folder, "api.key")
        with open(self.api_file, "w") as f:
            f.write(self.api_key)

    def _public(self, name, key):
        path = os.path.join(self.folder, name)
        with open(path, "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        return path

    def token(self, sub, ttl=3600, alg="HS256", **claims):
        payload = {"sub": sub, "exp": int(time.time()) + ttl, "iat": int(time.time()), **claims}
        key = {"HS256": self.secret, "ES256": self.ec, "RS256": self.rsa}[alg]
        return jwt.encode(payload, key, algorithm=alg)

    def server_args(self, *more):
        return ("--auth-hmac-key-file", self.hmac_file, "--auth-public-key-file", f"{self.ec_file},{self.rsa_file}",
                "--api-key-file", self.api_file, "--state-dir", os.path.join(self.folder, "state"), *more)


def http(port, method, path, body=None, key=None, headers=None):
    """(status, parsed JSON body) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def hs256_by_hand(payload, secret):
    """An HS256 token over any secret bytes (PyJWT refuses a PEM as secret: the confusion attack)."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
