"""Turning an ``Authorization`` header into a Principal.

argon2 is slow on purpose (tens of milliseconds), and the status poll is the most
frequent request in the field, so a verified header is remembered for a few seconds
(``auth_cache_seconds``), keyed by a digest of the header, never the header itself.
A changed or removed user is therefore seen within that many seconds.

When the memory of a header expires, it is re-checked against the user's stored hash
(a cheap read) rather than by argon2 again, and only one request per header verifies at
a time, so a crowd of pollers never re-runs argon2 all at once.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time

from epmjobs.errors import AuthenticationFailed
from epmjobs.security.passwords import token_digest, verify_password
from epmjobs.security.roles import Principal, Role
from epmjobs.storage.userstore import UserRecord, UserStore

_CACHE_LIMIT = 10_000


class Authenticator:
    def __init__(self, users: UserStore, cache_seconds: float) -> None:
        self.users = users
        self.cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        # What a verified Basic header was checked against: (username, password hash).
        self._proof: dict[bytes, tuple[str, str]] = {}
        self._locks: dict[bytes, threading.Lock] = {}
        self._guard = threading.Lock()

    def cached(self, header: str | None) -> Principal | None:
        """The principal for a header verified recently, without any I/O."""
        if not header:
            return None
        hit = self._cache.get(self._key(header))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def authenticate(self, header: str | None) -> Principal:
        """Verify a Basic or Bearer header; raises AuthenticationFailed."""
        if not header:
            raise AuthenticationFailed("Authentication is required.")
        hit = self.cached(header)
        if hit is not None:
            return hit
        key = self._key(header)
        with self._guard:
            if len(self._locks) >= _CACHE_LIMIT:
                self._locks.clear()
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one verification per header at a time
            hit = self.cached(header)
            if hit is not None:
                return hit
            principal = self._verify(key, header)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
                self._proof.clear()
            self._cache[key] = (time.monotonic() + self.cache_seconds, principal)
        return principal

    def _verify(self, key: bytes, header: str) -> Principal:
        proof = self._proof.get(key)
        if proof is not None:  # verified before: the stored hash must not have changed
            user = self.users.get(proof[0])
            if user is not None and user.password_hash == proof[1]:
                return self._principal(user)
            self._proof.pop(key, None)
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "basic":
            user = self._basic(value.strip())
            if user.password_hash:
                self._proof[key] = (user.username, user.password_hash)
            return self._principal(user)
        if scheme.lower() == "bearer":
            return self._bearer(value.strip())
        raise AuthenticationFailed("Unsupported authorization scheme.")

    def forget_all(self) -> None:
        self._cache.clear()
        self._proof.clear()

    @staticmethod
    def _key(header: str) -> bytes:
        return hashlib.blake2b(header.encode(), digest_size=20).digest()

    def _basic(self, value: str) -> UserRecord:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except ValueError as exc:  # binascii.Error, UnicodeDecodeError, non-ASCII input
            raise AuthenticationFailed("Malformed Basic credentials.") from exc
        username, sep, password = decoded.partition(":")
        if not sep or "\x00" in decoded:
            raise AuthenticationFailed("Malformed Basic credentials.")
        user = self._find_user(username)
        if user is None or not user.password_hash or not verify_password(
                user.password_hash, password):
            raise AuthenticationFailed("Invalid credentials.")
        return user

    def _find_user(self, username: str) -> UserRecord | None:
        """``user`` or ``identitydomain.user`` (Oracle's two forms)."""
        user = self.users.get(username)
        if user is None and "." in username:
            user = self.users.get(username.split(".", 1)[1])
        return user

    def _principal(self, user: UserRecord) -> Principal:
        return Principal(user.username, Role(user.role), self.users.grants(user.user_id))

    def _bearer(self, token: str) -> Principal:
        user = self.users.user_for_token(token_digest(token), time.time())
        if user is None:
            raise AuthenticationFailed("Invalid or expired token.")
        return self._principal(user)
