"""Checks a handin receipt file with code nobody at handin wrote: Python's
`cryptography` (Ed25519) and hashlib, following RFC 7515/8037 (the JWS),
C2SP signed-note and tlog-checkpoint (the checkpoint) and RFC 9162 (the
inclusion proof).

    python3 tests/evidence/check.py RECEIPT.json JWKS.json

Prints one line per check and "ok" if all pass; exits 1 otherwise.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(index, size, leaf, proof, root):
    # RFC 9162, section 2.1.3.2.
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main():
    receipt = json.load(open(sys.argv[1]))
    keys = {k["kid"]: k for k in json.load(open(sys.argv[2]))["keys"]}

    header_b64, payload_b64, signature_b64 = receipt["jws"].split(".")
    header = json.loads(b64url(header_b64))
    assert header["alg"] == "EdDSA", header
    key = keys[header["kid"]]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519", key
    public = Ed25519PublicKey.from_public_bytes(b64url(key["x"]))
    public.verify(b64url(signature_b64), (header_b64 + "." + payload_b64).encode())
    payload = json.loads(b64url(payload_b64))
    print("jws: signed by", header["kid"], "for", payload["sha256"])

    log = receipt["log"]
    note = log["checkpoint"]
    text, signatures = note[: note.rindex("\n\n") + 1], note[note.rindex("\n\n") + 2 :]
    origin = log["origin"]
    key_id = hashlib.sha256(origin.encode() + b"\n\x01" + b64url(key["x"])).digest()[:4]
    verified = False
    for line in signatures.splitlines():
        name, signature = line[len("\u2014 ") :].split(" ")
        raw = base64.b64decode(signature)
        if name == origin and raw[:4] == key_id:
            public.verify(raw[4:], text.encode())
            verified = True
    assert verified, "no signature of the log's key on the checkpoint"
    lines = text.split("\n")
    assert lines[0] == origin
    size, root = int(lines[1]), base64.b64decode(lines[2])
    print("checkpoint: signed,", size, "entries")

    leaf = hashlib.sha256(b"\x00" + hashlib.sha256(receipt["jws"].encode()).digest()).digest()
    proof = [base64.b64decode(h) for h in log["inclusion_proof"]]
    assert payload["log_index"] == log["index"]
    assert included(log["index"], size, leaf, proof, root), "not included"
    print("inclusion: entry", log["index"], "of", size)
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except (InvalidSignature, AssertionError, KeyError, ValueError) as e:
        print("FAILED", type(e).__name__, e)
        sys.exit(1)
