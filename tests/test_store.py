"""PartStore: the append-only Parquet dataset under every cache. Real files, real processes, real kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from cascade.errors import CascadeError
from cascade.store import FANIN, INDEX_NAME, PartStore

REPO = Path(__file__).resolve().parents[1]
SCHEMA = pa.schema([("video", pa.string()), ("frame", pa.int32()), ("value", pa.float32())])
SETTINGS = {"model": "m", "stride": 1, "note": "first"}


def rows(video: str, frames: int = 3, value: float = 1.0) -> pa.Table:
    return pa.table({"video": [video] * frames, "frame": list(range(1, frames + 1)), "value": [value] * frames},
                    schema=SCHEMA)


def store(folder: Path) -> PartStore:
    return PartStore(folder, SCHEMA, checked=("model", "stride"), what="test cache")


def run_python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stderr=subprocess.PIPE, text=True)


def test_commits_add_parts_videos_come_from_the_index_and_reads_are_per_video(tmp_path):
    cache = store(tmp_path / "c")
    assert cache.videos() == set() and cache.settings is None and cache.read().num_rows == 0
    assert cache.commit([rows("b", 2), rows("a", 3)], SETTINGS) == 2
    assert cache.commit(rows("c", 4), {**SETTINGS, "note": "second"}) == 1
    assert cache.commit([rows("a", 9), rows("d", 1)], SETTINGS) == 1  # "a" is there already: not added twice
    assert cache.commit([], SETTINGS) == 0 and cache.commit(rows("a"), SETTINGS) == 0
    assert len(cache.parts()) == 3 and len(list((tmp_path / "c").glob("part-*.parquet"))) == 3
    again = store(tmp_path / "c")  # another process's view: from the files alone
    assert again.videos() == {"a", "b", "c", "d"} and again.settings["note"] == "first"
    assert again.read().num_rows == 2 + 3 + 4 + 1
    one = again.read(["a", "nowhere"])
    assert one.column("video").to_pylist() == ["a"] * 3 and one.column("frame").to_pylist() == [1, 2, 3]
    assert again.read(["c"], columns=["frame"]).column_names == ["frame"]
    assert again.read(["nowhere"]).schema == SCHEMA
    # the index, not the rows, says what is cached: a part's rows are never scanned for it
    lines = [json.loads(line) for line in (tmp_path / "c" / INDEX_NAME).read_text().splitlines()]
    assert [sorted(line["videos"]) for line in lines] == [["a", "b"], ["c"], ["d"]]


def test_settings_that_differ_are_refused_naming_the_folder_and_keys(tmp_path):
    cache = store(tmp_path / "c")
    cache.commit(rows("a"), SETTINGS)
    cache.check_settings({"model": "m", "stride": 1, "note": "anything"})  # unchecked keys may differ
    with pytest.raises(CascadeError, match=r"c: test cache made with stride=1, not stride=2; use another --run-dir"):
        cache.commit(rows("b"), {**SETTINGS, "stride": 2})
    with pytest.raises(CascadeError, match=f"{tmp_path / 'c'}: test cache made with model=m"):
        store(tmp_path / "c").check_settings({"model": "other"})
    assert cache.videos() == {"a"}
    (tmp_path / "file").write_text("x")
    with pytest.raises(CascadeError, match="file: is a file, not a folder"):
        store(tmp_path / "file")


def test_parts_of_one_size_class_are_merged_and_compact_leaves_one(tmp_path):
    cache = store(tmp_path / "c")
    for i in range(FANIN - 1):
        cache.commit(rows(f"v{i:02d}", 1), SETTINGS)  # 1-row parts: one size class
    assert len(cache.parts()) == FANIN - 1
    cache.commit(rows("last", 1), SETTINGS)  # the FANIN-th part of the class: merged into one
    assert len(cache.parts()) == 1 and len(list((tmp_path / "c").glob("part-*.parquet"))) == 1
    assert cache.read().column("video").to_pylist() == sorted([f"v{i:02d}" for i in range(FANIN - 1)] + ["last"])
    cache.commit(rows("x", 40), SETTINGS)
    reader = store(tmp_path / "c")
    reader.videos()  # this reader has seen the two-part index
    assert store(tmp_path / "c").compact() == 2 and len(cache.parts()) == 1
    assert reader.read(["x"]).num_rows == 40  # its parts were deleted under it: it re-reads the index
    assert store(tmp_path / "c").compact() == 0


def test_two_processes_committing_at_once_lose_nothing(tmp_path):
    """Several real processes commit different videos into one store at the same moment, many times."""
    code = """
        import sys, pyarrow as pa
        from tests.test_store import store, rows, SETTINGS
        from pathlib import Path
        cache = store(Path(sys.argv[1]))
        for i in range(20):
            cache.commit(rows(f"{sys.argv[2]}-{i}", 5), SETTINGS)
            cache.commit(rows("shared", 5), SETTINGS)  # all race to add the same video: it is added once
    """
    procs = [run_python(code, str(tmp_path / "c"), name) for name in "abc"]
    assert all(p.wait(timeout=120) == 0 for p in procs), [p.stderr.read() for p in procs]
    cache = store(tmp_path / "c")
    assert cache.videos() == {f"{n}-{i}" for n in "abc" for i in range(20)} | {"shared"}
    table = cache.read()
    assert table.num_rows == 5 * (60 + 1)
    assert len(list((tmp_path / "c").glob("part-*.parquet"))) == len(cache.parts())


KILL_AT = """
    import os, signal, sys
    from pathlib import Path
    from tests.test_store import store, rows, SETTINGS
    import cascade.store as store_module
    cache = store(Path(sys.argv[1]))
    cache.commit(rows("kept"), SETTINGS)
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[2] == "rename":
        store_module.atomic_path.__globals__["os"].replace = die  # the part is written and fsync'd, not renamed
    else:
        store_module.PartStore._append = die  # the part is renamed in, its index line not written
    cache.commit(rows("lost"), SETTINGS)
"""


@pytest.mark.parametrize("where", ["rename", "index"])
def test_a_kill_mid_commit_leaves_a_readable_cache_without_the_video(tmp_path, where):
    proc = run_python(KILL_AT, str(tmp_path / "c"), where)
    assert proc.wait(timeout=60) == -signal.SIGKILL, proc.stderr.read()
    left = {p.name for p in (tmp_path / "c").iterdir()} - {INDEX_NAME, ".lock"}
    assert len(left) == 2  # the committed part, and the killed one (hidden, or not in the index)
    cache = store(tmp_path / "c")
    assert cache.videos() == {"kept"} and cache.read().column("video").to_pylist() == ["kept"] * 3
    assert cache.commit(rows("lost"), SETTINGS) == 1 and cache.read(["lost"]).num_rows == 3
    cache.compact()  # deletes what the killed writer left
    assert {p.name for p in (tmp_path / "c").iterdir()} - {INDEX_NAME, ".lock"} == set(cache.parts())


def test_a_torn_index_line_is_ignored_then_cut_by_the_next_writer(tmp_path):
    cache = store(tmp_path / "c")
    cache.commit(rows("a"), SETTINGS)
    with open(tmp_path / "c" / INDEX_NAME, "ab") as f:
        f.write(b'{"part":"part-9.parquet","rows":3,"vid')  # a writer killed mid-line
    assert store(tmp_path / "c").videos() == {"a"}
    cache.commit(rows("b"), SETTINGS)
    assert store(tmp_path / "c").videos() == {"a", "b"}
    assert all(json.loads(line) for line in (tmp_path / "c" / INDEX_NAME).read_text().splitlines())
    (tmp_path / "c" / INDEX_NAME).write_text("not json\n")
    with pytest.raises(CascadeError, match=f"{INDEX_NAME}: unreadable test cache index .* delete"):
        store(tmp_path / "c")


def test_an_old_single_file_is_adopted_once(tmp_path):
    import pyarrow.parquet as pq

    old = tmp_path / "old.parquet"
    pq.write_table(pa.concat_tables([rows("a"), rows("b")]).replace_schema_metadata(
        {"cascade": json.dumps(SETTINGS)}), old)
    cache = store(tmp_path / "c")
    cache.commit(rows("b", 7), SETTINGS)
    assert cache.adopt(old) == 1 and not old.exists()  # "b" was there already
    assert cache.videos() == {"a", "b"} and cache.read(["b"]).num_rows == 7 and cache.settings == SETTINGS
    old.write_bytes(b"PAR1 torn")
    with pytest.raises(CascadeError, match="old.parquet: unreadable test cache"):
        cache.adopt(old)
