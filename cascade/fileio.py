"""Atomic writes: every file cascade produces appears whole or not at all.

A run killed midway must never leave a half-written cache, thresholds file or checkpoint, so all
writers go through :func:`atomic_path`, which hands out a temporary name in the same directory and
renames it over the target only when the block finishes without error.

Example::

    with atomic_path(run_dir / "thresholds.json") as tmp:
        tmp.write_text(text)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: str | os.PathLike[str], data: Any) -> None:
    """Write pretty JSON atomically."""
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=False) + "\n")
