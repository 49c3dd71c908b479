"""The command line as wiring: every flag reaches the library under its own name, help is honest."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cascade

from cascade.cli.common import detect_options, flags_for, unread_flags
from cascade.cli.main import COMMANDS, build_parser, main
from cascade.detect import DetectionCache, DetectOptions, load_detections
from conftest import WEIGHTS, run_cli




def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_each_default_once(command):
    sub = _subparsers(build_parser())[command]
    formatter = sub._get_formatter()
    for action in sub._actions:
        if action.help and action.help != argparse.SUPPRESS:
            text = formatter._expand_help(action)
            assert text.count("default") <= 1, f"{command} {action.option_strings}: {text}"
            if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings != ["-h", "--help"]:
                assert "default" in text, f"{command} {action.option_strings} hides its default: {text}"


def test_a_flag_that_reaches_no_library_call_is_reported():
    args = argparse.Namespace(data="d", run_dir="r", stride=5, json=True, command="x")

    def reads_data(data, run_dir):
        pass

    assert flags_for(args, reads_data) == {"data": "d", "run_dir": "r"}
    assert unread_flags(args) == {"stride"}

    assert detect_options(args) == DetectOptions(stride=5)  # the detector's flags become one object
    assert unread_flags(args) == set()


def test_reading_the_cache_imports_no_torch():
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cascade.detect.cache, cascade.scores"],
                         capture_output=True, text=True, check=True).stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
    assert "pyarrow.parquet" in modules and "torch" not in modules


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"cascade {cascade.__version__}"


def test_a_bug_is_one_line_and_a_saved_traceback(capsys):
    from cascade.cli.main import run_command

    args = build_parser().parse_args(["detect", "--data", "x"])

    def broken(parsed):
        return 1 / 0

    args.run = broken
    assert run_command(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unexpected error (ZeroDivisionError: division by zero); this is a bug" in err
    saved = Path(err.rsplit("written to ", 1)[1])
    assert "Traceback" in saved.read_text() and "ZeroDivisionError" in saved.read_text()
    saved.unlink()


def test_a_run_dir_that_is_a_file_is_bad_input(tmp_path, sample_release, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "detect", "--data", sample_release, "--run-dir", blocker, "--weights", WEIGHTS,
                        "--device", "cpu", "--workers", "0")
    assert code == 2 and err.count("\n") == 1 and f"{blocker}: is a file, not a folder" in err


def test_evaluate_checks_the_data_it_is_given_before_the_run_dir(tmp_path, capsys):
    missing = tmp_path / "nonexistent"
    code, _, err = run_cli(capsys, "evaluate", "--data", missing, "--run-dir", tmp_path / "run")  # no thresholds.json
    assert code == 2 and err == (f"cascade evaluate: error: {missing}: A2D release root not found; pass --data with "
                                 "the folder holding videoset.csv\n")


def test_labels_whose_videos_cannot_be_read_name_the_first_one_not_the_cache(tmp_path, capsys):
    labels = tmp_path / "missing.csv"
    labels.write_text("video,frame,labels\nnothere.mp4,1,dog-running\n")
    detect = ["--run-dir", tmp_path / "run", "--weights", WEIGHTS, "--device", "cpu", "--workers", "0"]
    for command in (["tune-thresholds"], ["evaluate", "--split", "train", "--thresholds", "builtin"]):
        code, _, err = run_cli(capsys, *command, "--data", labels, *detect)
        errors = [line for line in err.splitlines() if line.startswith(f"cascade {command[0]}: error:")]
        assert code == 2 and "Traceback" not in err and errors == [
            f"cascade {command[0]}: error: {labels}: none of the 1 train video(s) it lists could be read; "
            f"first: {tmp_path / 'nothere.mp4'}: video not found"]


def test_detect_json_and_a_corrupt_cache(run_copy, sample_release, capsys):
    code, out, _ = run_cli(capsys, "detect", "--data", sample_release, "--run-dir", run_copy, "--json")
    report = json.loads(out)
    assert code == 0 and report["videos_cached"] == 16 and report["videos_done"] == 0
    assert report["mean_scores"]["person"] > 0 and report["scores_conf"] == 0.5
    part = sorted((run_copy / "detections").glob("part-*.parquet"))[0]
    part.write_bytes(b"PAR1 torn in half")  # a disk fault: commits themselves never leave a torn part
    code, _, err = run_cli(capsys, "detect", "--data", sample_release, "--run-dir", run_copy)
    assert code == 2 and err.count("\n") == 1
    assert f"{part}: unreadable part of the detections cache" in err and f"delete {part.parent} to start" in err
    (run_copy / "detections.parquet").write_bytes(b"PAR1 torn in half")  # a single-file cache of before
    for command in (["detect", "--data", sample_release], ["predict", sample_release / "clips320H" / "cat_c.mp4"]):
        code, _, err = run_cli(capsys, *command, "--run-dir", run_copy)
        assert code == 2 and err.count("\n") == 1
        assert "detections.parquet: unreadable detections cache" in err and "delete it to start again" in err


def test_ctrl_c_stops_detect_with_130_and_keeps_what_was_finished(tmp_path, sample_release, detected_run):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "cascade.cli.main", "detect", "--data", str(sample_release), "--run-dir",
               str(run), "--weights", str(WEIGHTS), "--device", "cpu", "--workers", "0"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "YOLO_OFFLINE": "1"})
    lines = []
    for line in proc.stderr:  # the model is loaded and detection starts right after this line
        lines.append(line)
        if "Using OpenVINO" in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=120) == 130
    assert lines[-1].strip() == "cascade detect: interrupted; finished work is saved, run it again to continue"
    done = DetectionCache(run).videos()
    assert len(done) < 16  # it was stopped
    assert subprocess.run(command, capture_output=True, env={**os.environ, "YOLO_OFFLINE": "1"}).returncode == 0
    order = ["video", "frame", "conf", "cls"]
    again, reference = (load_detections(r).sort_values(order).reset_index(drop=True) for r in (run, detected_run))
    assert again.equals(reference)


def test_tune_thresholds_twice_gives_the_same_file(run_copy, sample_release, capsys):
    tune = ["tune-thresholds", "--data", sample_release, "--run-dir", run_copy, "--particles", "8", "--iters", "3",
            "--restarts", "2"]
    for method in ("margin", "pso"):
        assert main([str(a) for a in [*tune, "--method", method]]) == 0
        first = (run_copy / "thresholds.json").read_bytes()
        assert main([str(a) for a in [*tune, "--method", method]]) == 0
        assert (run_copy / "thresholds.json").read_bytes() == first
    capsys.readouterr()


@pytest.mark.parametrize("fitness", ["p", "f1"])
def test_other_fitnesses_maximise_what_they_name(run_copy, sample_release, capsys, fitness):
    code, out, _ = run_cli(capsys, "tune-thresholds", "--data", sample_release, "--run-dir", run_copy, "--fitness", fitness,
                        "--method", "pso", "--particles", "8", "--iters", "3", "--restarts", "1", "--json")
    result = json.loads(out)
    assert code == 0 and result["thresholds"]["fitness"] == fitness
    for row in result["table"]:
        assert row[f"fitness_{fitness}"] == pytest.approx(row["precision" if fitness == "p" else "f1"])
    pso = next(row for row in result["table"] if row["method"] == "pso")
    assert pso[f"fitness_{fitness}"] >= max(row[f"fitness_{fitness}"] for row in result["table"]
                                             if row["method"] in ("constant", "builtin"))


def test_predict_says_when_no_actor_is_found(tmp_path, capsys):
    from cascade.data.frames import write_video

    blank = tmp_path / "blank.mp4"
    write_video(blank, (np.full((240, 320, 3), 128, np.uint8) for _ in range(12)), 25.0)
    code, out, _ = run_cli(capsys, "predict", blank, "--run-dir", tmp_path / "run", "--weights", WEIGHTS, "--device",
                        "cpu", "--workers", "0")
    assert code == 0 and out.startswith(f"{blank}: no actor found (highest score: ")
    code, out, _ = run_cli(capsys, "predict", blank, "--run-dir", tmp_path / "run", "--json")
    result = json.loads(out)
    assert result["actors"] == [] and result["labels"] == [] and result["untrained"] == {}
