"""The audit log: who added or removed which article, and when, one JSON object a line.

Appended by the web server (an upload) and read by an admin (``qa audit``). JSON lines rather
than the index: it outlives rebuilds, and ``tail``/``jq`` read it as well as qa does.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_AUDIT_FILE = "audit.jsonl"
_LOCK = threading.Lock()


def record(path: str | Path, user: str, action: str, **what) -> dict:
    """Append one entry: ``{"time": ISO 8601 UTC, "user", "action", ...what}``.

    Args:
        path: The log file (created with its folder).
        user: Who did it ('' when the server runs without sign-in on loopback).
        action: What: ``added``, ``refused``, ``removed``.
        **what: The details (file, article ids, reason).

    Returns:
        The entry written.
    """
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "user": user, "action": action, **what}
    path = Path(path)
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def read(path: str | Path, last: int | None = None) -> list[dict]:
    """The entries, oldest first (``last``: only that many of the newest); a damaged line is skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out[-last:] if last else out
