"""Cache scaling: committing 10 videos to a detections cache of 1k to 1M videos, old single file vs parts.

Old: the single-file cache as it was before the part store (``RUN/detections.parquet``): every process
reads the whole file, a commit concatenates the new rows and rewrites the file atomically. New: the
:class:`~cascade.store.PartStore` under ``RUN/detections/``: a commit writes one part and appends one
index line. Both sides hold the same synthetic rows of the real schema (``--rows-per-video`` rows per
video: frames with a box or the empty-frame row) and write through the same atomic, fsync'd path.

For each size, both caches are built, then measured in a fresh process each: opening the cache (the
index, or the whole file), committing 10 new videos (the median of ``--repeats`` commits for the new
cache; one for the old, whose commit is the slow side), reading one video's rows, and memory: the
process's resident size once the cache is open, and the most a commit added on top of it.

    python3 benchmarks/cache_scaling.py                       # 1k, 10k, 100k, 1M videos
    python3 benchmarks/cache_scaling.py --sizes 1000 10000    # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from _data import machine, record
from cascade.detect.cache import CHECKED_SETTINGS, SCHEMA
from cascade.fileio import atomic_path
from cascade.store import META_KEY, PartStore

SETTINGS = {"model": "yolo11n.pt", "imgsz": [640, 640], "stride": 1, "keep_conf": 0.05}
BUILD_BATCH = 50_000  # videos per commit while building the new cache (a long detect run's parts, merged)
COCO_IDS = np.array([-1, 0, 2, 14, 15, 16, 17, 18], np.int16)  # no box, person, car, bird, cat, dog, horse, sheep


def synthetic_rows(first: int, count: int, rows_per_video: int, seed: int) -> pa.Table:
    """Rows of videos ``first .. first+count-1`` named ``clip-NNNNNNN``, ``rows_per_video`` each."""
    rng = np.random.default_rng(seed)
    names = pa.array([f"clip-{i:07d}" for i in range(first, first + count)], pa.string())
    n = count * rows_per_video
    x1, y1 = rng.uniform(0, 300, n).astype(np.float32), rng.uniform(0, 200, n).astype(np.float32)
    return pa.table({
        "video": names.take(pa.array(np.repeat(np.arange(count), rows_per_video))),
        "frame": np.tile(np.arange(1, rows_per_video + 1, dtype=np.int32), count),
        "cls": rng.choice(COCO_IDS, n), "conf": rng.uniform(0.05, 1, n).astype(np.float32),
        "x1": x1, "y1": y1, "x2": x1 + 20, "y2": y1 + 40,
    }, schema=SCHEMA)


class OldCache:
    """The single-file cache before the part store: read whole, merged in memory, rewritten on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table = pq.read_table(path) if path.exists() else None

    def commit(self, new: pa.Table) -> None:
        if self.table is not None:
            known = pc.unique(self.table.column("video"))
            new = new.filter(pc.invert(pc.is_in(new.column("video"), known)))
            parts = [self.table.replace_schema_metadata(None), new]
        else:
            parts = [new]
        self.table = pa.concat_tables(parts).replace_schema_metadata({META_KEY: json.dumps(SETTINGS)})
        with atomic_path(self.path) as tmp:
            pq.write_table(self.table, tmp, compression="zstd")

    def read(self, video: str) -> pa.Table:
        return pq.read_table(self.path, filters=[("video", "in", [video])])


def new_store(folder: Path) -> PartStore:
    return PartStore(folder, SCHEMA, CHECKED_SETTINGS, "detections cache")


def build(root: Path, size: int, rows_per_video: int) -> None:
    """Both caches of ``size`` videos, made from the same rows (batch by batch, so memory stays small)."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    store = new_store(root / "new")
    writer = None
    for first in range(0, size, BUILD_BATCH):
        batch = synthetic_rows(first, min(BUILD_BATCH, size - first), rows_per_video, seed=first)
        store.commit(batch, SETTINGS)
        if writer is None:
            writer = pq.ParquetWriter(root / "old.parquet", SCHEMA.with_metadata({META_KEY: json.dumps(SETTINGS)}),
                                      compression="zstd")
        writer.write_table(batch)
    writer.close()


def current_rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


class PeakRss:
    """The most this process's resident size grows while a block runs (sampled every millisecond from
    /proc; Arrow allocates outside Python, so tracemalloc would not see it)."""

    def __enter__(self) -> "PeakRss":
        self.base = self.peak = current_rss_mb()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, current_rss_mb())
            time.sleep(0.001)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, current_rss_mb())

    @property
    def grew_mb(self) -> float:
        return self.peak - self.base


def measure(root: Path, side: str, size: int, rows_per_video: int, repeats: int) -> dict:
    """In this (fresh) process: open, commit 10 new videos ``repeats`` times, read one video."""
    warm = new_store(root / "warm-up")  # imports and first-call costs, not timed
    warm.commit(synthetic_rows(0, 10, rows_per_video, 0), SETTINGS)
    warm.read(["clip-0000003"])
    OldCache(root / "warm-up.parquet").commit(synthetic_rows(0, 10, rows_per_video, 0))
    start = time.perf_counter()
    cache = new_store(root / "new") if side == "new" else OldCache(root / "old.parquet")
    videos = len(cache.videos()) if side == "new" else pc.count_distinct(cache.table.column("video")).as_py()
    opened_s, open_rss = time.perf_counter() - start, current_rss_mb()
    assert videos == size, (videos, size)
    commits, grew = [], []
    for i in range(repeats):
        new = synthetic_rows(size + 10 * i, 10, rows_per_video, seed=size + i)
        with PeakRss() as memory:
            start = time.perf_counter()
            cache.commit(new, SETTINGS) if side == "new" else cache.commit(new)
            commits.append(time.perf_counter() - start)
        grew.append(memory.grew_mb)
    reads = []
    for video in (f"clip-{i * (size - 1) // 8:07d}" for i in range(9)):  # first to last, through every part
        start = time.perf_counter()
        got = cache.read([video]) if side == "new" else cache.read(video)
        reads.append(time.perf_counter() - start)
        assert got.num_rows == rows_per_video
    return {"open_s": opened_s, "commit_s": statistics.median(commits), "read_one_s": statistics.median(reads),
            "rss_open_mb": open_rss, "commit_extra_mb": max(grew)}


def run_side(root: Path, side: str, size: int, rows_per_video: int, repeats: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", side, "--root", str(root), "--sizes", str(size),
                          "--rows-per-video", str(rows_per_video), "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--rows-per-video", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="commits of 10 videos timed on the new cache")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cascade_cache_scaling"))
    parser.add_argument("--measure", choices=["new", "old"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.root, args.measure, args.sizes[0], args.rows_per_video, args.repeats)))
        return
    print(f"machine: {machine()}")
    print(f"{args.rows_per_video} rows per video; commit = 10 new videos ({10 * args.rows_per_video} rows)")
    print(f"{'videos':>9} {'rows':>11} | {'old commit':>10} {'new commit':>10} {'old/new':>8} | "
          f"{'old open':>8} {'new open':>8} | {'old RSS':>8} {'new RSS':>8} | {'old +commit':>11} {'new +commit':>11} | "
          f"{'old read 1':>10} {'new read 1':>10}")
    rows = []
    for size in args.sizes:
        root = args.work / f"{size}"
        start = time.perf_counter()
        build(root, size, args.rows_per_video)
        built_s = time.perf_counter() - start
        new = run_side(root, "new", size, args.rows_per_video, args.repeats)
        old = run_side(root, "old", size, args.rows_per_video, 1)
        rows.append({"videos": size, "rows": size * args.rows_per_video, "build_s": round(built_s, 1),
                     **{f"new_{k}": round(v, 4) for k, v in new.items()},
                     **{f"old_{k}": round(v, 4) for k, v in old.items()}})
        print(f"{size:9,d} {size * args.rows_per_video:11,d} | {old['commit_s']:9.3f}s {new['commit_s']:9.3f}s "
              f"{old['commit_s'] / new['commit_s']:7.1f}x | {old['open_s']:7.2f}s {new['open_s']:7.2f}s | "
              f"{old['rss_open_mb']:6.0f}MB {new['rss_open_mb']:6.0f}MB | {old['commit_extra_mb']:9.1f}MB "
              f"{new['commit_extra_mb']:9.1f}MB | "
              f"{old['read_one_s'] * 1000:8.1f}ms {new['read_one_s'] * 1000:8.1f}ms", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    smallest, largest = rows[0], rows[-1]
    figures = {
        "rows_per_video": args.rows_per_video, "sizes": rows,
        "commit_ratio_largest_to_smallest": round(largest["new_commit_s"] / smallest["new_commit_s"], 2),
        "old_commit_ratio_largest_to_smallest": round(largest["old_commit_s"] / smallest["old_commit_s"], 1),
        "new_read_one_ms_at_largest": round(largest["new_read_one_s"] * 1000, 1),
        "new_commit_extra_mb_largest_to_smallest": [smallest["new_commit_extra_mb"], largest["new_commit_extra_mb"]],
    }
    print(f"new commit, largest / smallest cache: {figures['commit_ratio_largest_to_smallest']}x (goal <= 2); "
          f"old: {figures['old_commit_ratio_largest_to_smallest']}x; new read of one video at "
          f"{largest['videos']:,} videos: {figures['new_read_one_ms_at_largest']} ms (goal < 50)")
    record("cache_scaling", figures)


if __name__ == "__main__":
    main()
