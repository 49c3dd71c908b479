"""`cascade predict` as people use it: no heads needed, many videos in one pass, clean JSON, pictures."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np

from cascade.data.frames import iter_frames
from cascade.pipeline import Cascade
from conftest import CLIPS, WEIGHTS, on_cpu, run_cli

DETECT = ["--weights", WEIGHTS, "--device", "cpu", "--workers", "0"]



def test_without_heads_the_actors_are_reported(tmp_path, sample_release, capsys):
    walk = sample_release / "clips320H" / "walk_b.mp4"
    code, out, _ = run_cli(capsys, "predict", walk, "--run-dir", tmp_path, *DETECT, "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"video", "actors", "labels", "untrained", "frames", "error"}
    person = next(a for a in result["actors"] if a["actor"] == "person")
    assert person == {"actor": "person", "score": 1.0, "threshold": 0.1}  # built-in thresholds, people in every frame
    assert result["labels"] == [] and result["frames"] == [] and result["error"] is None
    assert result["untrained"]["person"].startswith("cascade train-head --actor person")
    assert set(result["untrained"]) == {a["actor"] for a in result["actors"]}
    code, out, _ = run_cli(capsys, "predict", walk, "--run-dir", tmp_path, *DETECT)
    assert code == 0 and out.startswith(f"{walk}: person 1.00 (no head: cascade train-head --actor person")


def test_many_videos_in_one_run_give_json_lines_on_a_clean_stdout(tmp_path, sample_release):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("dog_c", "cat_c"):
        (folder / f"{name}.mp4").symlink_to(sample_release / "clips320H" / f"{name}.mp4")
    walk = sample_release / "clips320H" / "walk_b.mp4"
    given = [walk, folder, CLIPS / "tree.avi", tmp_path / "missing.mp4"]
    done = subprocess.run([sys.executable, "-m", "cascade.cli.main", "predict", *map(str, given), "--run-dir",
                           str(tmp_path / "run"), *map(str, DETECT), "--json"],
                          capture_output=True, text=True, env={**os.environ, "YOLO_OFFLINE": "1"}, timeout=300)
    results = [json.loads(line) for line in done.stdout.splitlines()]  # nothing but JSON on stdout
    assert [r["video"] for r in results] == [str(walk), str(folder / "cat_c.mp4"), str(folder / "dog_c.mp4"),
                                            str(CLIPS / "tree.avi"), str(tmp_path / "missing.mp4")]
    assert [r["error"] is None for r in results] == [True, True, True, False, False]
    assert "truncated" in results[3]["error"] and "video not found" in results[4]["error"]
    assert any(a["actor"] == "dog" for a in results[2]["actors"])
    assert done.returncode == 2 and "Loading" in done.stderr  # Ultralytics' messages: stderr
    assert done.stderr.splitlines()[-1].startswith("cascade predict: error: 2 of 5 video(s) could not be read")


def test_output_file_and_pictures(tmp_path, sample_release, capsys):
    clips = [sample_release / "clips320H" / f"{name}.mp4" for name in ("dog_c", "walk_b")]
    code, out, _ = run_cli(capsys, "predict", *clips, "--run-dir", tmp_path / "run", *DETECT, "--output",
                        tmp_path / "out.jsonl", "--save", tmp_path / "pictures")
    assert code == 0 and len(out.splitlines()) == 2  # text summary on stdout, JSON Lines in the file
    results = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for clip, result in zip(clips, results):
        video, sheet = result["files"]["video"], result["files"]["sheet"]
        assert video == str(tmp_path / "pictures" / f"{clip.stem}.mp4")
        source = [frame for _, frame in iter_frames(clip)]
        copy = [frame for _, frame in iter_frames(video)]
        assert len(copy) == len(source) and copy[0].shape == source[0].shape
        assert np.abs(copy[0].astype(int) - source[0]).mean() > 0.5  # boxes were drawn
        image = cv2.imread(sheet)
        assert image is not None and image.shape[0] > 240


def test_the_library_predicts_many_and_one(tmp_path, sample_release):
    cascade = Cascade.from_run_dir(tmp_path, on_cpu({"weights": str(WEIGHTS)}))
    clips = [sample_release / "clips320H" / f"{name}.mp4" for name in ("bird_b", "cat_c")]
    many = cascade.predict_many(clips)
    one = cascade.predict(clips[1])
    assert [r.video for r in many] == list(map(str, clips))
    assert one.to_json() == many[1].to_json()
