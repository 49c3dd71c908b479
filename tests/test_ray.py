"""Detection and features on a real local Ray (2 CPUs, started by each test's driver): same cache as one
process, a killed worker retried without loss or doubling, a killed driver resumed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cascade.detect import DetectOptions, detect_dataset, load_detections
from cascade.detect.cache import DetectionCache
from cascade.scores import group_scores
from conftest import WEIGHTS

ORDER = ["video", "frame", "conf", "cls"]
DRIVER = [sys.executable, "-m", "cascade.cli.main", "detect", "--weights", str(WEIGHTS), "--device", "cpu",
          "--ray", "local", "--ray-cpus-per-worker", "1", "--json"]
ENV = {**os.environ, "YOLO_OFFLINE": "1", "RAY_AUTH_MODE": "disabled"}


def _same_cache(run: Path, reference: Path) -> None:
    got, want = (load_detections(r).sort_values(ORDER).reset_index(drop=True) for r in (run, reference))
    assert got.equals(want)  # every (video, frame) row, every box, once
    assert group_scores(load_detections(run), 0.5).sort_index().equals(
        group_scores(load_detections(reference), 0.5).sort_index())


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live process below ``root`` (Ray renames its workers)."""
    parents, lines = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {}, {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found.update({pid: lines.get(pid, "") for pid in frontier})
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the driver ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def _cached(run: Path) -> set[str]:
    """The videos the workers have committed into the run's cache so far."""
    return DetectionCache(run).videos()


def test_ray_local_gives_the_single_process_cache(tmp_path, sample_release, detected_run):
    report = detect_dataset(sample_release, tmp_path, "all", DetectOptions(weights=str(WEIGHTS), device="cpu", ray="local",
                                                                     ray_cpus_per_worker=1), progress=False)
    assert report.videos_done == 16 and report.frames == 16 * 24 and not report.failed
    _same_cache(tmp_path, detected_run)


def test_a_worker_killed_mid_run_is_retried_without_loss_or_doubling(tmp_path, sample_release, detected_run):
    proc = subprocess.Popen([*DRIVER, "--data", str(sample_release), "--run-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    _wait_for(lambda: _cached(tmp_path), proc, "a worker committed a video")
    workers = [pid for pid, line in _descendants(proc.pid).items() if line.startswith("ray::DetectWorker")]
    assert len(workers) == 2
    assert len(_cached(tmp_path)) < 16  # the kill lands while videos are still being detected
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    report = json.loads(out)  # stdout holds only the JSON, even with Ray's worker-died messages
    assert report["videos_done"] == 16 and not report["failed"]
    _same_cache(tmp_path, detected_run)


def test_a_killed_driver_leaves_committed_videos_that_the_next_run_keeps(tmp_path, sample_release, detected_run, detector):
    proc = subprocess.Popen([*DRIVER, "--data", str(sample_release), "--run-dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    _wait_for(lambda: _cached(tmp_path), proc, "a worker committed a video")
    ray_processes = _descendants(proc.pid)  # Ray's own processes are not all in the driver's group
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in ray_processes:  # the driver and the Ray it started die at once, as in a crash
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    while any(_running(pid) for pid in ray_processes):  # no write of theirs can land after this
        time.sleep(0.05)
    cached = _cached(tmp_path)  # the workers' committed videos, read with no driver to merge them
    assert 0 < len(cached) < 16 and set(load_detections(tmp_path, cached).video) == cached
    report = detect_dataset(sample_release, tmp_path, "all", DetectOptions(workers=0), detector=detector, progress=False)
    assert report.videos_cached == len(cached) and report.videos_done == 16 - len(cached)
    _same_cache(tmp_path, detected_run)


def test_a_missing_video_is_listed_as_by_one_process_and_ray_missing_is_one_line(tmp_path, sample_release,
                                                                                  monkeypatch):
    from cascade.detect import detect_videos
    from cascade.errors import CascadeError

    videos = {"ghost": tmp_path / "ghost.mp4", "cat_a": sample_release / "clips320H" / "cat_a.mp4"}
    report = detect_videos(videos, tmp_path / "run", DetectOptions(weights=str(WEIGHTS), device="cpu", ray="local",
                                                                 ray_cpus_per_worker=2), progress=False)
    assert list(report.failed) == ["ghost"] and "ghost.mp4" in report.failed["ghost"] and report.videos_done == 1
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the [ray] extra were not installed
    with pytest.raises(CascadeError, match=r"--ray needs Ray: pip install 'cascade\[ray\]'"):
        detect_videos({"cat_b": sample_release / "clips320H" / "cat_b.mp4"}, tmp_path / "run", DetectOptions(ray="local"))


def test_predict_detects_on_ray_through_the_same_path(tmp_path, sample_release, run_copy, capsys):
    from cascade.cli.main import main

    videos = [str(sample_release / "clips320H" / f"{v}.mp4") for v in ("dog_a", "walk_a")]
    common = ["predict", *videos, "--weights", str(WEIGHTS), "--device", "cpu", "--json"]
    assert main([*common, "--run-dir", str(tmp_path), "--ray", "local", "--ray-cpus-per-worker", "2"]) == 0
    on_ray = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main([*common, "--run-dir", str(run_copy)]) == 0  # cached by one process: nothing to detect
    cached = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["actors"] for p in on_ray] == [p["actors"] for p in cached] and on_ray[0]["actors"]
    assert [p["scores"] for p in on_ray] == [p["scores"] for p in cached]


def test_features_on_ray_survive_a_killed_worker_and_match_one_process(tmp_path, sample_release, detected_run):
    """Features through the same pool: a worker killed after the first commit, the shard retried, and the
    cache holds every video once, with the rows one process computes (embeddings to float tolerance:
    a Ray worker runs torch on its one CPU)."""
    from cascade.features.cache import FeatureCache
    from cascade.features.runner import compute_features
    from test_features import TINY, TINY_FLAGS

    run, here = tmp_path / "ray", tmp_path / "here"
    for target in (run, here):
        shutil.copytree(detected_run, target)  # detections cached: only features are left to compute
    proc = subprocess.Popen([sys.executable, "-m", "cascade.cli.main", "features", "--data", str(sample_release),
                             "--run-dir", str(run), "--ray", "local", "--ray-cpus-per-worker", "1",
                             *map(str, TINY_FLAGS), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    _wait_for(lambda: FeatureCache(run).videos(), proc, "a worker committed a video's features")
    workers = [pid for pid, line in _descendants(proc.pid).items() if line.startswith("ray::FeatureWorker")]
    assert len(workers) == 2
    assert len(FeatureCache(run).videos()) < 16
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["computed"] + report["cached"] == 16 and len(report["videos"]) == 16 and not report["failed"]

    videos = {v: str(sample_release / "clips320H" / f"{v}.mp4") for v in report["videos"]}
    assert compute_features(videos, here, TINY, progress=False).computed == 16
    keys = ["video", "frame", "cls", "x1", "y1"]
    got, want = (FeatureCache(r).read().sort_values(keys).reset_index(drop=True) for r in (run, here))
    assert len(got) == len(want) and not got.duplicated(keys).any()
    plain = [c for c in want.columns if c not in ("embedding", "keypoints")]
    pd.testing.assert_frame_equal(got[plain], want[plain])
    np.testing.assert_allclose(np.stack(got.embedding), np.stack(want.embedding), rtol=1e-4, atol=1e-5)
    pose = want.keypoints.notna()
    assert pose.any() and (got.keypoints.notna() == pose).all()
    np.testing.assert_allclose(np.stack(got.keypoints[pose]), np.stack(want.keypoints[pose]), atol=1e-3)
