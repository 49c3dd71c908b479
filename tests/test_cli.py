"""The command line as wiring: every flag reaches the library under its own name, help is honest."""

import argparse
import subprocess
import sys

import pytest

from cascade.cli.common import flags_for, unread_flags
from cascade.cli.main import COMMANDS, build_parser, main
from cascade.detect import load_detections
from conftest import WEIGHTS

TINY = ["--epochs", "1", "--batch", "8", "--imgsz", "64", "--pretrained", "none", "--device", "cpu"]


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


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

    def detects(data, run_dir, **detect_options):
        pass

    assert flags_for(args, detects) == {"data": "d", "run_dir": "r", "stride": 5}
    assert unread_flags(args) == set()


def test_reading_the_cache_imports_no_torch():
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cascade.detect.cache, cascade.scores"],
                         capture_output=True, text=True, check=True).stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
    assert "pyarrow.parquet" in modules and "torch" not in modules


def test_predict_and_evaluate_pass_stride_to_the_detector(tmp_path, sample_release, capsys):
    run = tmp_path / "run"
    detect = ["--weights", WEIGHTS, "--device", "cpu", "--workers", "0"]
    code, out, _ = _cli(capsys, "detect", "--data", sample_release, "--run-dir", run, *detect, "--stride", "5")
    assert code == 0 and "stride 5" in out
    assert main([str(a) for a in ["train-head", "--actor", "dog", "--data", sample_release, "--run-dir", run, *TINY]]) == 0
    clip = sample_release / "clips320H" / "dog_c.mp4"  # cached as dog_c; predict detects it again under its path

    code, _, err = _cli(capsys, "predict", clip, "--run-dir", run, *detect)
    assert code == 2 and "made with stride=5" in err
    code, out, _ = _cli(capsys, "predict", clip, "--run-dir", run, *detect, "--stride", "5", "--json")
    assert code == 0
    frames = load_detections(run, [str(clip.resolve())]).frame.unique()
    assert sorted(frames) == [1, 6, 11, 16, 21]  # 24 frames, every fifth

    evaluate = ["evaluate", "--data", sample_release, "--run-dir", run, *detect, "--thresholds", "builtin"]
    code, _, err = _cli(capsys, *evaluate)
    assert code == 2 and "made with stride=5" in err
    code, _, _ = _cli(capsys, *evaluate, "--stride", "5")
    assert code == 0
