"""Invitation tokens: 144 bits in the link, only a keyed hash in the database.

A frame invitation's token is derived from the app's TOKEN_KEY and a random salt stored in its row
(`link_token`), so that the server can make the same link again (a coordinator who lost the links
file downloads it again), while the database alone, salt included, gives no working link.
"""

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 18  # 144 bits; URL-safe base64 without padding gives 24 characters


def new_token() -> str:
    """Return a fresh random token for an invitation link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def derived_token(key: str, label: str) -> str:
    """Return a token derived from the key: the demo can print the same links on every run."""
    digest = hmac.new(key.encode(), b"demo-token:" + label.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


def token_hash(key: str, token: str, purpose: str = "invitation") -> str:
    """Return the keyed hash stored for a token (a stolen table yields no working links).

    `purpose` separates the kinds of tokens (invitation links, staff API tokens): a token of one
    kind never matches the stored hash of another.
    """
    return hmac.new(key.encode(), purpose.encode() + b":" + token.encode(), hashlib.sha256).hexdigest()


SALT_BYTES = 16  # hex: 32 characters, invitations.link_salt


def new_salt() -> str:
    """Return a fresh random salt for an invitation's link."""
    return secrets.token_hex(SALT_BYTES)


def link_token(key: str, wave_id: int, salt: str) -> str:
    """Return the token of an invitation from the key, its wave and its salt (the same every time)."""
    digest = hmac.new(key.encode(), f"invitation-link:v1:{wave_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")
