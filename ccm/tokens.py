"""API tokens: who may call the REST API, and with which role.

A token is ``ccm_`` followed by 43 URL-safe characters from ``secrets.token_urlsafe(32)`` (256
random bits). ``<state_dir>/tokens.json`` (mode 0600) stores only each token's SHA-256 digest
with its name, role and creation time, so reading the file does not reveal a usable token.

Roles:

- ``admin``: every operation.
- ``api``: provision, teardown and trigger pipelines, and every read (VPS Manager uses this).
- ``viewer``: reads only.

Rotation needs no restart: create a token under a new name, switch the caller to it, then
revoke the old name. Both tokens are valid in between, and a running server notices the changed
file on the next request (it compares the file's stat on every lookup).
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccm.pipeline import Timestamp, utc_now
from ccm.registry.files import make_private_directory, write_atomically

logger = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
TOKEN_PREFIX = "ccm_"
TOKEN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Longer header values cannot be a token, so they are rejected before hashing.
MAX_TOKEN_LENGTH = 256


class TokenRole(str, enum.Enum):
    ADMIN = "admin"
    API = "api"
    VIEWER = "viewer"


class Permission(str, enum.Enum):
    """The permission an API route needs from the caller's role."""

    READ = "read"
    WRITE = "write"  # provision, teardown, trigger


ROLE_PERMISSIONS: dict[TokenRole, frozenset[Permission]] = {
    TokenRole.ADMIN: frozenset(Permission),
    TokenRole.API: frozenset({Permission.READ, Permission.WRITE}),
    TokenRole.VIEWER: frozenset({Permission.READ}),
}


class TokenError(Exception):
    """A token operation that cannot be done; the message names the token or file and the fix."""


class TokenRecord(BaseModel):
    """One stored token: its name, role, creation time and the SHA-256 digest of the token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=TOKEN_NAME_PATTERN.pattern)
    role: TokenRole
    created_at: Timestamp
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @property
    def hash_suffix(self) -> str:
        """The last 4 hex digits of the digest: enough to tell tokens apart in a listing."""
        return self.sha256[-4:]

    def allows(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


class _TokenFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    tokens: list[TokenRecord] = Field(default_factory=list)


class _FileKey(NamedTuple):
    mtime_ns: int
    size: int
    inode: int


def digest(token: str) -> str:
    """Return the hex SHA-256 of a token.

    A plain, unsalted hash is enough here, unlike for passwords, because a token has 256 random
    bits: neither a dictionary nor a precomputed table can find it from its digest. A slow hash
    such as scrypt would only cost time on every request.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The token file of one state directory; safe to share between threads.

    ``authenticate`` re-reads the file whenever its stat changes, so tokens created or revoked by
    ``ccm token`` in another process apply to the next request without a restart.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / TOKENS_FILE
        self._lock_path = state_dir / "tokens.lock"
        self._lock = threading.Lock()
        self._cached_key: _FileKey | None = None
        self._cached: tuple[TokenRecord, ...] = ()

    def authenticate(self, token: str) -> TokenRecord | None:
        """Return the record of ``token``, or None when no stored token matches it."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        presented = digest(token)
        match = None
        # Every record is compared, each in constant time, so the time taken does not tell a
        # caller how close a guess came to a stored digest.
        for record in self._current():
            if hmac.compare_digest(presented, record.sha256):
                match = record
        return match

    def records(self) -> list[TokenRecord]:
        """Return the stored tokens, oldest first."""
        return sorted(self._read_file().tokens, key=lambda record: (record.created_at, record.name))

    def create(self, name: str, role: TokenRole) -> str:
        """Store a new token under ``name`` and return it; only its digest is kept."""
        if not TOKEN_NAME_PATTERN.fullmatch(name):
            raise TokenError(
                f"{name!r} is not a valid token name. Use 1 to 64 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit, such as vps-manager-2026."
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._exclusive():
            current = self._read_file()
            if any(record.name == name for record in current.tokens):
                raise TokenError(
                    f"A token named {name!r} exists already. Choose another name; to rotate it, "
                    f"create the new one under a new name and revoke {name!r} once callers use it."
                )
            record = TokenRecord(name=name, role=role, created_at=utc_now(), sha256=digest(token))
            self._write_file(_TokenFile(tokens=[*current.tokens, record]))
        logger.info("Created the API token %s with the role %s", name, role.value)
        return token

    def revoke(self, name: str) -> TokenRecord:
        """Remove the token ``name`` and return its record; requests with it fail from now on."""
        with self._exclusive():
            current = self._read_file()
            revoked = next((record for record in current.tokens if record.name == name), None)
            if revoked is None:
                known = ", ".join(sorted(record.name for record in current.tokens)) or "none"
                raise TokenError(
                    f"No token is named {name!r} in {self.path} (tokens: {known}). "
                    "List them with `ccm token list`."
                )
            remaining = [record for record in current.tokens if record.name != name]
            self._write_file(_TokenFile(tokens=remaining))
        logger.info("Revoked the API token %s", name)
        return revoked

    def _current(self) -> tuple[TokenRecord, ...]:
        """Return the stored tokens, re-reading the file only when its stat changed."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return ()
        key = _FileKey(stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            if key == self._cached_key:
                return self._cached
            try:
                records = tuple(self._read_file().tokens)
            except TokenError as error:
                # Failing closed: an unreadable file must not leave a revoked token valid.
                logger.error("No API token is accepted until the token file is fixed: %s", error)
                records = ()
            self._cached_key, self._cached = key, records
            return records

    def _read_file(self) -> _TokenFile:
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return _TokenFile()
        except OSError as error:
            raise TokenError(
                f"Cannot read the token file {self.path}: {error.strerror}. Check that ccm runs "
                "as the owner of the state directory."
            ) from error
        try:
            return _TokenFile.model_validate_json(content)
        except ValidationError as error:
            raise TokenError(
                f"The token file {self.path} is invalid ({error.error_count()} problem(s), first: "
                f"{error.errors()[0]['msg']}). Restore it, or move it away and create new tokens "
                "with `ccm token create`."
            ) from error

    def _write_file(self, data: _TokenFile) -> None:
        content = data.model_dump_json(indent=2).encode("utf-8") + b"\n"
        try:
            # The temporary file is created with mode 0600 and keeps it through the rename.
            write_atomically(self.path, content)
        except OSError as error:
            raise TokenError(
                f"Cannot write the token file {self.path}: {error.strerror}. Check that ccm runs "
                "as the owner of the state directory."
            ) from error

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold an exclusive lock across processes for one read-modify-write of the file."""
        make_private_directory(self.path.parent)
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)
