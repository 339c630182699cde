"""Who may use a shared chat: users, their roles and hashed passwords, in one JSON file the admin manages.

Roles, each with the rights of the one before:

* ``reader``: asks questions and reads articles;
* ``editor``: also adds articles from the page;
* ``admin``: also manages users (``qa users``) and reads the audit log (``qa audit``).

Passwords are stored as scrypt hashes (``hashlib.scrypt``, the standard library's memory-hard
key derivation: no extra dependency), each with its own random salt, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROLES = ("reader", "editor", "admin")
DEFAULT_USERS_FILE = "users.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# scrypt cost: n=2**14, r=8 (16 MB, ~50 ms a check on this machine): slow for guessing, quick for a sign-in.
_N, _R, _P = 2**14, 8, 1


class UsersError(ValueError):
    """A users file that cannot be read, or a request it cannot take (the message says which)."""


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) for a password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether a password matches a stored hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


def role_allows(role: str | None, needed: str) -> bool:
    """Whether a role has the rights of ``needed`` (admin > editor > reader)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class User:
    name: str
    role: str


class Users:
    """The users file: ``{"users": {name: {"role": ..., "password": scrypt hash}}}``.

    Args:
        path: The file (created by the first :meth:`add`).
    """

    def __init__(self, path: str | Path = DEFAULT_USERS_FILE):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"users": {}}
        except (OSError, ValueError) as e:
            raise UsersError(f"The users file {self.path} cannot be read ({e}); fix it or remove it and add the users again.") from e
        if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
            raise UsersError(f"The users file {self.path} is not a qa users file (no 'users' object).")
        return data

    def _save(self, data: dict) -> None:
        """Write atomically (a temporary file renamed over the old one), readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self) -> bool:
        """Whether the file holds at least one user."""
        return bool(self._load()["users"])

    def list(self) -> list[User]:
        """Every user, by name."""
        return [User(n, u.get("role", "reader")) for n, u in sorted(self._load()["users"].items())]

    def get(self, name: str) -> User | None:
        u = self._load()["users"].get(name)
        return User(name, u.get("role", "reader")) if u else None

    def add(self, name: str, password: str, role: str = "reader") -> None:
        """Add a user or replace one's password and role.

        Raises:
            UsersError: A name with other characters than letters, digits and ``._@-``, an unknown role, or a password under 8 characters.
        """
        if not _NAME.match(name):
            raise UsersError(f"A user name is 1-64 letters, digits and . _ @ - (got {name!r}).")
        if role not in ROLES:
            raise UsersError(f"The role must be one of {', '.join(ROLES)} (got {role!r}).")
        if len(password) < 8:
            raise UsersError("A password needs at least 8 characters.")
        with self._lock:
            data = self._load()
            data["users"][name] = {"role": role, "password": hash_password(password)}
            self._save(data)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise UsersError(f"The role must be one of {', '.join(ROLES)} (got {role!r}).")
        with self._lock:
            data = self._load()
            if name not in data["users"]:
                raise UsersError(f"There is no user {name!r} in {self.path}.")
            data["users"][name]["role"] = role
            self._save(data)

    def remove(self, name: str) -> None:
        with self._lock:
            data = self._load()
            if data["users"].pop(name, None) is None:
                raise UsersError(f"There is no user {name!r} in {self.path}.")
            self._save(data)

    def verify(self, name: str, password: str, max_failures: int = 5, window_s: float = 300.0) -> bool:
        """Whether a name and password sign in; after ``max_failures`` wrong passwords for a name within
        ``window_s`` seconds, that name is refused until the window has passed (guessing is slowed to a crawl)."""
        now = time.monotonic()
        recent = [t for t in self._failures.get(name, []) if now - t < window_s]
        if len(recent) >= max_failures:
            self._failures[name] = recent
            return False
        u = self._load()["users"].get(name)
        ok = bool(u) and check_password(password, u.get("password", ""))
        if not ok:
            self._failures[name] = recent + [now]
        return ok
