"""Room codes people can type and teacher keys nobody can guess.

A code is 6 characters from an alphabet without look-alikes (no 0/O, 1/I): 32⁶ ≈ 10⁹ codes,
drawn with `secrets`, so an open room is not found by trying codes one after another at the
rate rooms can be created. A key is 192 random bits; a room keeps only its SHA-256, and a key
is compared in constant time.
"""

import hashlib
import hmac
import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # A-Z and 2-9 without I, O (and the digits 0, 1)
LENGTH = 6
CODE_PATTERN = f"^[{ALPHABET}]{{{LENGTH}}}$"
_CODE = re.compile(CODE_PATTERN)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normal_code(text: str) -> str | None:
    """The code a person typed, upper-cased; None if it cannot be a room's code."""
    code = text.strip().upper()
    return code if _CODE.match(code) else None


def new_key() -> tuple[str, str]:
    """A teacher key and the hash the room keeps."""
    key = secrets.token_urlsafe(24)
    return key, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_key(key: str, stored_hash: str) -> bool:
    """Whether `key` is the key whose hash is `stored_hash` (constant time)."""
    return hmac.compare_digest(key_hash(key).encode(), stored_hash.encode())
