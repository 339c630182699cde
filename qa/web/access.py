"""Who may use the chat, and what each may do: sign-in, a reverse proxy's sign-in, roles, per-user limits.

Three ways to run:

* **no sign-in**: only on a loopback address (today's single-user default); everyone is an editor.
* **passwords**: the users file (``qa users add``) has users; Gradio's own sign-in page checks
  them (:meth:`Access.check_password`) and its session cookie then covers the page and every
  HTTP route (API, queue, upload, files).
* **a reverse proxy's sign-in**: a proxy that signs users in (single sign-on) sets a header with
  the user name; it is trusted only from the proxy's own addresses (Gradio's ``auth_dependency``).

Limits are counted per user (per address without sign-in) in the web process, in front of
Gradio: an HTTP middleware answers 429 with a message before a request reaches the queue or an
upload reaches the disk. Hand-written: Gradio has no per-user limits of its own, and the usual
rate-limit packages key on the address, not on Gradio's signed-in user.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import deque
from dataclasses import dataclass

from qa.config import Config
from qa.users import Users, role_allows

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AccessError(RuntimeError):
    """A way of running the chat that would expose it unprotected (the message says how to set it up)."""


@dataclass
class Access:
    """Sign-in and roles for one running chat.

    Args:
        config: Settings (``users_file``, the limits).
        proxy_header: Trust this header (e.g. ``X-Forwarded-User``) for the signed-in user name,
            from ``trusted_proxies`` only; None: passwords from the users file, if it has users.
        trusted_proxies: Addresses the proxy connects from.
        proxy_default_role: The role of a proxy-signed-in user the users file does not name.
        no_auth: Run without sign-in even when the users file has users (an explicit opt-out).
    """

    config: Config
    proxy_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    proxy_default_role: str = "reader"
    no_auth: bool = False

    def __post_init__(self) -> None:
        self.users = Users(self.config.users_file)

    @property
    def mode(self) -> str:
        """``none``, ``password`` or ``proxy``."""
        if self.no_auth:
            return "none"
        if self.proxy_header:
            return "proxy"
        return "password" if self.users.exists() else "none"

    def check_exposure(self, host: str) -> None:
        """Refuse to serve on a network address without sign-in, unless told to (``--no-auth``).

        Raises:
            AccessError: Bound beyond loopback with no users and no proxy sign-in.
        """
        if is_loopback(host) or self.mode != "none" or self.no_auth:
            return
        raise AccessError(
            f"qa serve --host {host} would let anyone on the network read, ask and add articles. Set up sign-in first:\n"
            f"  qa users add NAME --role admin        (users and passwords in {self.config.users_file})\n"
            "or sign in at a reverse proxy and pass its user header: qa serve --proxy-header X-Forwarded-User\n"
            "or, on a closed network you trust, run without sign-in: qa serve --host ... --no-auth"
        )

    def launch_kwargs(self) -> dict:
        """What Gradio's ``launch`` needs for this mode."""
        if self.mode == "password":
            return {"auth": self.check_password, "auth_message": "Sign in with the name and password your admin gave you."}
        if self.mode == "proxy":
            return {"auth_dependency": self.proxy_user}
        return {}

    def check_password(self, name: str, password: str) -> bool:
        """Gradio's sign-in check (wrong passwords for a name are throttled: see :meth:`qa.users.Users.verify`)."""
        return self.users.verify(name, password)

    def proxy_user(self, request) -> str | None:
        """The user a trusted proxy signed in (its header), or None (Gradio then answers 401)."""
        client = getattr(request, "client", None)
        if client is None or client.host not in self.trusted_proxies:
            return None
        name = (request.headers.get(self.proxy_header) or "").strip()
        return name or None

    def role(self, username: str | None) -> str:
        """The role of a signed-in user; without sign-in, everyone edits (a single user's own machine)."""
        if self.mode == "none":
            return "editor"
        if not username:
            return ""
        user = self.users.get(username)
        if user is not None:
            return user.role
        return self.proxy_default_role if self.mode == "proxy" else ""

    def can(self, username: str | None, needed: str) -> bool:
        return role_allows(self.role(username), needed)


class Limits:
    """Per-user counters: requests a minute, uploads a minute, bytes uploaded a day, questions at once.

    Args:
        config: ``max_requests_per_minute``, ``max_uploads_per_minute``, ``max_upload_bytes_per_day``,
            ``max_pending_questions``.
    """

    def __init__(self, config: Config):
        self.config = config
        self._lock = threading.Lock()
        self._requests: dict[str, deque] = {}
        self._uploads: dict[str, deque] = {}
        self._bytes: dict[str, deque] = {}
        self._pending: dict[str, int] = {}

    @staticmethod
    def _recent(events: deque, window: float, now: float) -> deque:
        while events and now - events[0][0] >= window:
            events.popleft()
        return events

    def request(self, who: str) -> str | None:
        """Count one API or queue call; a message when over the limit, else None."""
        now = time.monotonic()
        with self._lock:
            events = self._recent(self._requests.setdefault(who, deque()), 60.0, now)
            if len(events) >= self.config.max_requests_per_minute:
                return (f"Too many requests: at most {self.config.max_requests_per_minute} a minute "
                        "(max_requests_per_minute). Wait a moment and try again.")
            events.append((now, 1))
        return None

    def upload(self, who: str, size: int) -> str | None:
        """Count one upload of ``size`` bytes; a message when over a limit, else None."""
        now = time.monotonic()
        with self._lock:
            count = self._recent(self._uploads.setdefault(who, deque()), 60.0, now)
            sizes = self._recent(self._bytes.setdefault(who, deque()), 86400.0, now)
            if len(count) >= self.config.max_uploads_per_minute:
                return (f"Too many uploads: at most {self.config.max_uploads_per_minute} files a minute "
                        "(max_uploads_per_minute). Wait a minute and try again.")
            if sum(s for _, s in sizes) + size > self.config.max_upload_bytes_per_day:
                return (f"Upload limit reached: at most {self.config.max_upload_bytes_per_day:,} bytes a day "
                        "(max_upload_bytes_per_day). Ask an admin to raise it.")
            count.append((now, 1))
            sizes.append((now, size))
        return None

    def _over_pending(self, n: int) -> str | None:
        """The message for a user with ``n`` questions waiting when that fills their share of the line, else None."""
        if n < self.config.max_pending_questions:
            return None
        return (f"You have {n} questions waiting for answers; ask again when they are answered "
                f"(at most {self.config.max_pending_questions} at once: max_pending_questions).")

    def question_started(self, who: str) -> str | None:
        """Count a question as pending; a message (and not counted) when the user has too many waiting."""
        with self._lock:
            n = self._pending.get(who, 0)
            message = self._over_pending(n)
            if message is None:
                self._pending[who] = n + 1
        return message

    def too_many_pending(self, who: str) -> str | None:
        """The message for a user whose questions fill their share of the line, else None (nothing counted)."""
        with self._lock:
            return self._over_pending(self._pending.get(who, 0))

    def question_done(self, who: str) -> None:
        with self._lock:
            self._pending[who] = max(0, self._pending.get(who, 1) - 1)


def _gradio_user(scope: dict) -> str | None:
    """The signed-in user of a request, as Gradio knows it (session cookie or proxy header)."""
    from starlette.requests import Request

    app = scope.get("app")
    if app is None:
        return None
    request = Request(scope)
    dependency = getattr(app, "auth_dependency", None)
    if dependency is not None:
        return dependency(request)
    cookie_id = getattr(app, "cookie_id", "")
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(f"access-token-unsecure-{cookie_id}")
    return getattr(app, "tokens", {}).get(token)


class LimitsMiddleware:
    """ASGI middleware in front of Gradio: editors only on the upload route, and 429 over a limit.

    Args:
        app: The next ASGI app.
        access: Who may do what.
        limits: The per-user counters.
    """

    QUEUE_PATHS = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")
    QUESTION_PATHS = tuple(f"/gradio_api/{route}/{name}" for route in ("call", "run", "api") for name in ("ask", "chat"))

    def __init__(self, app, access: Access, limits: Limits):
        self.app, self.access, self.limits = app, access, limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        user = _gradio_user(scope)
        who = user or f"address {scope.get('client', ('?',))[0]}"
        if path.startswith("/gradio_api/upload"):
            if self.access.mode != "none" and user is None:
                return await self.app(scope, receive, send)  # Gradio answers 401
            if not self.access.can(user, "editor"):
                return await _reply(send, 403, "Only editors can add articles; ask an admin for the editor role.")
            size = int(dict(scope.get("headers") or []).get(b"content-length", b"0") or 0)
            message = self.limits.upload(who, size)
            if message:
                return await _reply(send, 429, message)
        elif path.startswith(self.QUEUE_PATHS):
            message = self.limits.request(who)
            if not message and path.startswith(self.QUESTION_PATHS):
                message = self.limits.too_many_pending(who)  # said at once, not later in the result stream
            if message:
                return await _reply(send, 429, message)
        return await self.app(scope, receive, send)


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
