"""Atomic, durable writes: every file cascade produces appears whole or not at all, and stays.

A run killed midway must never leave a half-written cache, thresholds file or checkpoint, so all
writers go through :func:`atomic_path`, which hands out a fresh temporary name in the same directory
and renames it over the target only when the block finishes without error. A reader therefore sees
the old file or the new one, never a mix (rename is atomic on POSIX), so no lock is needed to read.
Before the rename the file's data is fsync'd, and after it the folder, so that a power cut cannot
leave the new name pointing at an empty file. The temporary file is created as ``open`` would
create it, so the result has the mode the umask gives (not the 0600 of ``mkstemp``).

Example::

    with atomic_path(run_dir / "thresholds.json") as tmp:
        tmp.write_text(text)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's (or a folder's: its entries) data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (an empty file, mode as the umask gives); on success,
    fsync it, rename it onto ``target`` and fsync the folder."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # 0o666 & ~umask, as open() does
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def file_id(path: str | os.PathLike[str]) -> str:
    """How caches and heads name a weights file they were made with: its absolute path and the start of
    its sha256 (the same bytes elsewhere give the same digest; a moved file keeps it)."""
    path = Path(path)
    return f"file {path.resolve()} (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]})"


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: str | os.PathLike[str], data: Any) -> None:
    """Write pretty JSON atomically."""
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
