"""Where an index lives: a folder (the local store) or a Milvus location, told apart and checked.

A leaf module (no qa imports): the settings check a location, the stores open one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def is_milvus_location(location: str | Path) -> bool:
    """True for a Milvus location (``milvus://...``, ``http(s)://...``); a folder otherwise."""
    return isinstance(location, str) and location.startswith(("milvus://", "http://", "https://"))


def is_lite_location(location: str | Path) -> bool:
    """True for a Milvus Lite file (``milvus://...``): one process at a time may open it."""
    return str(location).startswith("milvus://")


def parse_location(location: str) -> tuple[str, str]:
    """(pymilvus uri, collection prefix) for a location string."""
    location = str(location)
    prefix = "qa"
    if "#" in location:
        location, prefix = location.split("#", 1)
        if not prefix.replace("_", "").isalnum() or not prefix[0].isalpha():
            raise ValueError(f"collection prefix {prefix!r} must be letters, digits and underscores, starting with a letter")
    if location.startswith("milvus://"):
        path = location[len("milvus://"):]
        if not path.endswith(".db"):
            raise ValueError(f"{location!r}: give a Milvus Lite file ending in .db, e.g. milvus:///abs/path/index.db")
        name = os.path.basename(path)
        if len(name) > 36 or not re.fullmatch(r"[A-Za-z0-9._-]+", name):  # Milvus Lite's rule for its file names
            raise ValueError(f"{location!r}: Milvus Lite needs a file name of at most 36 letters, digits, '.', '-' or '_'")
        return os.path.abspath(path), prefix
    if location.startswith(("http://", "https://")):
        return location, prefix
    raise ValueError(f"{location!r} is not a Milvus location (milvus:///path/file.db or http://host:19530)")
