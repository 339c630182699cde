"""Cut a large file into numbered parts with a sha256 manifest, and put it back together.

The tool that brings files back from a GPU machine takes at most 16 MiB per file, and
the fp16 reader is ~43 MiB. Hand-written because it is a few lines over ``hashlib``:
``split(1)`` has no checksums and no Python API, and an archive format would add a
dependency without removing the need to verify what arrives.

Layout for ``model.safetensors`` cut into 16 MiB pieces::

    model.safetensors.part-000, model.safetensors.part-001, ...
    model.safetensors.parts.json   # {"file", "size", "sha256", "part_size", "parts": [{"name", "size", "sha256"}]}
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MIB = 1024 * 1024
_CHUNK = 1024 * 1024


class PartsError(ValueError):
    """A part is missing, has the wrong size, or its checksum does not match the manifest."""


def manifest_path(file: str | Path) -> Path:
    """The manifest that describes the parts of ``file``."""
    file = Path(file)
    return file.with_name(file.name + ".parts.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def split_file(file: str | Path, part_bytes: int = 16 * MIB, out_dir: str | Path | None = None) -> Path:
    """Write ``file`` as parts of at most ``part_bytes`` each, plus a manifest.

    Args:
        file: The file to cut (left in place).
        part_bytes: Largest part, in bytes.
        out_dir: Where parts and manifest go (default: beside ``file``).

    Returns:
        The manifest's path.
    """
    if part_bytes <= 0:
        raise ValueError(f"part size must be positive, got {part_bytes}")
    src = Path(file)
    out = Path(out_dir) if out_dir else src.parent
    out.mkdir(parents=True, exist_ok=True)
    whole = hashlib.sha256()
    parts = []
    with open(src, "rb") as f:
        index = 0
        while True:
            data = f.read(part_bytes)
            if not data and index > 0:
                break
            name = f"{src.name}.part-{index:03d}"
            (out / name).write_bytes(data)
            whole.update(data)
            parts.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
            index += 1
    manifest = {
        "file": src.name,
        "size": sum(p["size"] for p in parts),
        "sha256": whole.hexdigest(),
        "part_size": part_bytes,
        "parts": parts,
    }
    path = manifest_path(out / src.name)
    path.write_text(json.dumps(manifest, indent=2))
    return path


def join_parts(manifest: str | Path, out_file: str | Path | None = None, remove_parts: bool = False) -> Path:
    """Reassemble the file described by a manifest and verify every checksum.

    The file is written to a temporary name and moved into place only once the whole
    file's sha256 matches, so a bad part never leaves a half-written model behind.

    Args:
        manifest: The ``*.parts.json`` file.
        out_file: Where the file goes (default: the manifest's folder, the original name).
        remove_parts: Delete the parts and the manifest after a verified join.

    Returns:
        The reassembled file.

    Raises:
        PartsError: A part is missing, or a size or checksum does not match.
    """
    manifest = Path(manifest)
    meta = json.loads(manifest.read_text())
    folder = manifest.parent
    target = Path(out_file) if out_file else folder / meta["file"]
    tmp = target.with_name(target.name + ".joining")
    whole = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in meta["parts"]:
                path = folder / part["name"]
                if not path.exists():
                    raise PartsError(f"missing part {path}")
                data = path.read_bytes()
                if len(data) != part["size"]:
                    raise PartsError(f"{path}: {len(data)} bytes, the manifest says {part['size']}")
                if hashlib.sha256(data).hexdigest() != part["sha256"]:
                    raise PartsError(f"{path}: sha256 does not match the manifest (corrupted in transfer?)")
                whole.update(data)
                out.write(data)
        if whole.hexdigest() != meta["sha256"]:
            raise PartsError(f"{meta['file']}: the joined file's sha256 does not match the manifest")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if remove_parts:
        for part in meta["parts"]:
            (folder / part["name"]).unlink()
        manifest.unlink()
    return target


def verify_file(file: str | Path, manifest: str | Path) -> bool:
    """True when ``file`` is exactly the file the manifest describes (size and sha256)."""
    meta = json.loads(Path(manifest).read_text())
    file = Path(file)
    return file.stat().st_size == meta["size"] and _sha256(file) == meta["sha256"]
