"""Responses kept for idempotent replays, sealed so that a copy of the database reveals
nothing: a tenant's API key, a booking token or a customer's details are in some of them.

The row is found by a hash of (scope, Idempotency-Key), never the key itself; the response
(status line headers that matter and body) is encrypted with AES-GCM under a key derived
with HKDF-SHA256 from the Idempotency-Key and the credential the caller sent (its
Authorization header and query string). Only a client holding both — the one that made
the request — can read the answer again; the server keeps no key of its own, so there is
none to leak or rotate. Anonymous checkouts have no credential: their Idempotency-Key is
at least 22 characters, too long to guess from its hash.
"""

from __future__ import annotations

import hashlib
import os

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"bookpay idempotent response v1"
_NONCE_BYTES = 12
# Headers a replay must carry like the first answer (API.md: a 201 names what it made).
KEPT_HEADERS = frozenset({b"content-type", b"location"})


class Envelope(msgspec.Struct, array_like=True):
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Unreadable(Exception):
    """A kept response that this key and credential did not seal."""


def row_key(scope: str, key: str) -> str:
    """What the idempotency table keeps instead of the key: 64 hex characters."""
    return hashlib.sha256(b"\0".join([scope.encode(), key.encode()])).hexdigest()


def _cipher(scope: str, key: str, credential: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=scope.encode(), info=_INFO).derive(
        b"\0".join([key.encode(), credential])
    )
    return AESGCM(derived)


def seal(scope: str, key: str, credential: bytes, status: int, envelope: Envelope) -> bytes:
    """nonce ‖ ciphertext of the envelope, bound to the status it is kept with."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = msgspec.msgpack.encode(envelope)
    return nonce + _cipher(scope, key, credential).encrypt(nonce, plain, str(status).encode())


def unseal(scope: str, key: str, credential: bytes, status: int, sealed: bytes) -> Envelope:
    """The envelope `seal` was given; Unreadable for any other key, credential or status."""
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        plain = _cipher(scope, key, credential).decrypt(nonce, ciphertext, str(status).encode())
        return msgspec.msgpack.decode(plain, type=Envelope)
    except (InvalidTag, ValueError, msgspec.DecodeError) as error:
        raise Unreadable("this response was kept for another key or credential") from error
