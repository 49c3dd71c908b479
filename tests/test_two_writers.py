"""One run dir, two writers: real `cascade predict` processes started together keep each other's
videos; a run dir of the single-file cache of before is read (converted once) without detecting again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from cascade.detect import DetectOptions, detect_dataset, load_detections
from cascade.detect.cache import CACHE_NAME, LEGACY_NAME, DetectionCache
from conftest import REPO, WEIGHTS, run_cli


def test_two_predict_processes_started_together_both_keep_their_video(tmp_path, sample_release):
    run = tmp_path / "run"
    clips = [sample_release / "clips320H" / f"{v}.mp4" for v in ("dog_a", "cat_a")]
    env = {**os.environ, "YOLO_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "cascade.cli.main", "predict", str(clip), "--run-dir", str(run),
                               "--weights", str(WEIGHTS), "--device", "cpu", "--workers", "0", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for clip in clips]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in results]
    assert [json.loads(out)["video"] for out, _ in results] == [str(c.resolve()) for c in clips]
    # each process read an empty cache at start and committed its own video: neither overwrote the other
    cache = DetectionCache(run)
    assert cache.videos() == {str(c.resolve()) for c in clips}
    assert load_detections(run).groupby("video").frame.nunique().tolist() == [24, 24]
    assert len(cache.store.parts()) == 2


def test_a_single_file_cache_of_before_is_converted_once_and_nothing_is_detected_again(tmp_path, sample_release,
                                                                                        detected_run, detector, capsys):
    rows = pa.Table.from_pandas(load_detections(detected_run), preserve_index=False)
    settings = json.dumps(DetectionCache(detected_run).meta).encode()
    in_shard = pa.compute.is_in(rows.column("video"), pa.array(["dog_a", "cat_b"]))
    run = tmp_path / "run"
    (run / "shards" / "000003").mkdir(parents=True)  # what a killed Ray driver of before left
    pq.write_table(rows.filter(pa.compute.invert(in_shard)).replace_schema_metadata({"cascade": settings}),
                   run / LEGACY_NAME)
    pq.write_table(rows.filter(in_shard).replace_schema_metadata({"cascade": settings}),
                   run / "shards" / "000003" / LEGACY_NAME)
    order = ["video", "frame", "conf", "cls"]
    read = load_detections(run).sort_values(order).reset_index(drop=True)
    assert read.equals(load_detections(detected_run).sort_values(order).reset_index(drop=True))
    assert not (run / LEGACY_NAME).exists() and not (run / "shards").exists() and (run / CACHE_NAME).is_dir()
    report = detect_dataset(sample_release, run, "all", DetectOptions(workers=0), detector=detector, progress=False)
    assert report.videos_cached == 16 and report.videos_done == 0
    assert len(DetectionCache(run).store.parts()) == 2  # the file, and the shard
    code, out, _ = run_cli(capsys, "detect", "--data", sample_release, "--run-dir", run, "--compact", "--json")
    assert code == 0 and json.loads(out)["parts_merged"] == 2 and json.loads(out)["videos_done"] == 0
    assert [p.name for p in (run / CACHE_NAME).glob("part-*")] == DetectionCache(run).store.parts()  # one
    assert load_detections(run).sort_values(order).reset_index(drop=True).equals(read)
