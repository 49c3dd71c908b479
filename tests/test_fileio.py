"""Atomic writes: files come out with the umask's mode, and a reader never sees half of one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from cascade.fileio import atomic_path, write_json_atomic, write_text_atomic
from conftest import REPO


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_the_umask_gives_as_open_would(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "thresholds.json", "{}")
        with open(tmp_path / "plain.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "thresholds.json").st_mode & 0o777 == mode
    assert os.stat(tmp_path / "plain.txt").st_mode & 0o777 == mode


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed midway")
    assert (tmp_path / "a.txt").read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_thresholds_rewritten_by_one_process_are_never_half_read_by_another(tmp_path):
    """No lock is needed for thresholds.json or heads: a reader opens the old file or the renamed new
    one, never a partly written one. One process rewrites a 200 kB JSON file as fast as it can while
    this one reads and parses it."""
    target = tmp_path / "thresholds.json"
    write_json_atomic(target, {"round": 0, "pad": "x" * 200_000})
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        from cascade.fileio import write_json_atomic
        for i in range(1, 151):
            write_json_atomic(sys.argv[1], {"round": i, "pad": "x" * 200_000})
    """), str(target)], env={**os.environ, "PYTHONPATH": str(REPO)})
    rounds = []
    while writer.poll() is None:
        rounds.append(json.loads(target.read_text())["round"])  # a torn file would not parse
    assert writer.wait() == 0 and json.loads(target.read_text())["round"] == 150
    assert len(set(rounds)) > 10 and rounds == sorted(rounds)  # it read many versions while they changed
