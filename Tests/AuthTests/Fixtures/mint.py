#!/usr/bin/env python3
"""Mints tokens.json: keys and named tokens for AuthTests, signed by PyJWT.

Run once by hand (python3 -m pip install pyjwt cryptography); the tests only
read the output, so they never need Python. Keys are fresh on every run.
"""
import hashlib
import hmac
import json
import os
import secrets

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.utils import base64url_decode, base64url_encode

NOW = 1_900_000_000
FAR = NOW + 10 * 365 * 24 * 3600
SUB = "box-1"
HERE = os.path.dirname(os.path.abspath(__file__))


def public_pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def encrypted_private_pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a passphrase")
    ).decode()


def b64(data):
    return base64url_encode(data).decode()


def hs256_by_hand(header_bytes, payload_bytes, secret):
    """For shapes PyJWT refuses to produce (non-JSON header, asymmetric key as secret)."""
    signing_input = b64(header_bytes) + "." + b64(payload_bytes)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def flip_last_char(token):
    # 'A' and 'Q' differ in a data bit but both leave the unused low bits zero,
    # so the result stays canonical base64url and only the signature is wrong.
    return token[:-1] + ("Q" if token[-1] != "Q" else "A")


def main():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa1024_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_p384_key = ec.generate_private_key(ec.SECP384R1())
    ed25519_key = ed25519.Ed25519PrivateKey.generate()
    secret = secrets.token_bytes(32)
    old_secret = secrets.token_bytes(32)
    ec_public = public_pem(ec_key)

    def hs(claims, key=secret, headers=None):
        return jwt.encode(claims, key, algorithm="HS256", headers=headers)

    good = {"sub": SUB, "exp": FAR, "iat": NOW - 60}
    tokens = {
        "hs256_good": hs(good),
        "es256_good": jwt.encode(good, ec_key, algorithm="ES256"),
        "rs256_good": jwt.encode(good, rsa_key, algorithm="RS256"),
        "hs256_kid_new": hs(good, headers={"kid": "new"}),
        "hs256_kid_old": hs(good, key=old_secret, headers={"kid": "old"}),
        "hs256_old_no_kid": hs(good, key=old_secret),
        "hs256_kid_new_signed_by_old": hs(good, key=old_secret, headers={"kid": "new"}),
        "es256_kid": jwt.encode(good, ec_key, algorithm="ES256", headers={"kid": "ec-1"}),
        "expired": hs({"sub": SUB, "exp": NOW - 31}),
        "within_leeway": hs({"sub": SUB, "exp": NOW - 29}),
        "not_yet_valid": hs({"sub": SUB, "exp": FAR, "nbf": NOW + 31}),
        "nbf_within_leeway": hs({"sub": SUB, "exp": FAR, "nbf": NOW + 29}),
        "iat_in_future": hs({"sub": SUB, "exp": FAR, "iat": NOW + 31}),
        "wrong_sub": hs({"sub": "someone-else", "exp": FAR}),
        "empty_sub": hs({"sub": "", "exp": FAR}),
        "missing_exp": hs({"sub": SUB}),
        "string_exp": hs({"sub": SUB, "exp": str(FAR)}),
        "float_exp": hs({"sub": SUB, "exp": FAR + 0.75}),
        "peers_and_kind": hs({"sub": SUB, "exp": FAR, "nbf": NOW - 10, "iat": NOW - 10,
                              "kind": "phone", "peers": ["box-1", "box-2"]}),
        "service_kind": hs({"sub": "relay", "exp": FAR, "kind": "service"}),
        "unknown_kind": hs({"sub": SUB, "exp": FAR, "kind": "toaster"}),
        "peers_not_strings": hs({"sub": SUB, "exp": FAR, "peers": ["box-1", 7]}),
        "too_many_peers": hs({"sub": SUB, "exp": FAR, "peers": [f"p{i}" for i in range(1001)]}),
        "too_large": hs({"sub": SUB, "exp": FAR, "padding": "x" * 9000}),
        "alg_none": jwt.encode(good, None, algorithm="none"),
        "typ_lowercase": hs(good, headers={"typ": "jwt"}),
        "typ_other": hs(good, headers={"typ": "at+jwt"}),
        "crit_header": hs(good, headers={"crit": ["exp"]}),
        "alg_confusion": hs256_by_hand(b'{"alg":"HS256","typ":"JWT"}', json.dumps(good).encode(),
                                       ec_public.encode()),
        "header_not_json": hs256_by_hand(b"not json", json.dumps(good).encode(), secret),
        "payload_not_json": jwt.api_jws.encode(b"not json", secret, algorithm="HS256"),
        "payload_is_array": jwt.api_jws.encode(b'["box-1"]', secret, algorithm="HS256"),
        "unknown_kid": hs(good, headers={"kid": "nobody"}),
    }

    good_hs = tokens["hs256_good"]
    tokens["bad_signature"] = flip_last_char(good_hs)
    tokens["es256_bad_signature"] = flip_last_char(tokens["es256_good"])
    tokens["rs256_bad_signature"] = flip_last_char(tokens["rs256_good"])
    head, body, sig = good_hs.split(".")
    tokens["bad_base64"] = head + "." + body[:5] + "*" + body[6:] + "." + sig
    tokens["padded_base64"] = good_hs + "="
    es_head, es_body, es_sig = tokens["es256_good"].split(".")
    tokens["es256_65_byte_signature"] = es_head + "." + es_body + "." + b64(base64url_decode(es_sig) + b"\x01")

    keys = {
        "hmacSecretHex": secret.hex(),
        "hmacOldSecretHex": old_secret.hex(),
        "ecPublicPem": ec_public,
        "rsaPublicPem": public_pem(rsa_key),
        "ecPrivatePem": private_pem(ec_key),
        "rsaPrivatePem": private_pem(rsa_key),
        "ecEncryptedPrivatePem": encrypted_private_pem(ec_key),
        "rsa1024PublicPem": public_pem(rsa1024_key),
        "rsa1024PrivatePem": private_pem(rsa1024_key),
        "ecP384PublicPem": public_pem(ec_p384_key),
        "ecP384PrivatePem": private_pem(ec_p384_key),
        "ed25519PublicPem": public_pem(ed25519_key),
        "ed25519PrivatePem": private_pem(ed25519_key),
    }
    fixture = {"now": NOW, "subject": SUB, "farExpiry": FAR, "keys": keys, "tokens": tokens}
    with open(os.path.join(HERE, "tokens.json"), "w") as out:
        json.dump(fixture, out, indent=2, sort_keys=True)
        out.write("\n")


if __name__ == "__main__":
    main()
