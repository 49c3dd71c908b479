"""Head training speed, end to end (decoding included): cascade's defaults against the seed's steps.

Data: the A2D-sized release made from the real clips, with every frame of its person videos
labelled as the sample table says (baby-none, adult-walking, adult-none, adult-running): the person
head, as in the seed's example (1,397 frames, 67.9 min for 15 epochs on a K80).

* cascade: frames decoded once by threads and kept on the GPU; batch 64, bf16 autocast,
  channels-last.
* seed: the same frames, decoded the same way, batch 4, fp32 (``--batch 4 --no-amp``).
* tsm: cascade's settings with a temporal head (``--temporal tsm --clip-len 8 --clip-stride 2``): each
  sample is a clip of 8 frames around the labelled frame, batch 64 / 8 = 8 clips, so that a step
  holds as many frames as the single-frame head's.

All run the same number of epochs; the script prints images/s of each (clips/s for tsm, and its
frames/s), the ratios, the parts of each run, and the time projected for 15 epochs over 1,397
frames: decode time scaled per frame, set-up, checkpoint write and first-epoch warm-up once, and 15
epochs at the steady rate of the later epochs.

    python benchmarks/train_speed.py --device cuda
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import torch

from _data import REPO, a2d_sized_release, machine, record
from cascade.data import open_dataset
from cascade.data.frames import iter_frames
from cascade.data.sample import SAMPLE_VIDEOS
from cascade import defaults
from cascade.labels import group, pair_name
from cascade.heads.training import train_head

SEED_FRAMES, SEED_EPOCHS, SEED_K80_MINUTES = 1397, 15, 67.9


def person_csv(release: Path, target: Path) -> Path:
    """Every frame of the person videos, labelled as the sample table labels them."""
    person = set(group("person").pairs)
    rows = []
    for spec in SAMPLE_VIDEOS:
        pairs = [p for p, _ in spec.instances]
        if not person & set(pairs):
            continue
        clip = release / "clips320H" / f"{spec.video}.mp4"
        for frame, _ in iter_frames(clip):
            rows.append({"video": str(clip), "frame": frame, "labels": ";".join(map(pair_name, pairs)), "split": "train"})
    pd.DataFrame(rows).to_csv(target, index=False)
    return target


def breakdown(report) -> dict[str, float]:
    """Seconds of each part of a run, and its steady-state training rate (epochs after the first).

    ``fixed``: model set-up and the one checkpoint write; ``warm-up``: what the first epoch took
    beyond the steady rate (lazy cuDNN/cuBLAS set-up; 0 when the first epoch was the faster one).
    Neither grows with the data.
    """
    seconds = [row["seconds"] for row in report.epochs]
    steady = seconds[1:] or seconds
    per_image = sum(steady) / (len(steady) * report.train_samples)
    return {"decode": report.decode_seconds, "fixed": report.seconds - report.decode_seconds - sum(seconds),
            "warm-up": max(0.0, seconds[0] - per_image * report.train_samples), "images/s": 1 / per_image}


def projected_seconds(report) -> float:
    """15 epochs over 1,397 frames: decode scaled per frame, fixed costs and warm-up once, steady steps."""
    parts = breakdown(report)
    return (parts["decode"] / report.train_samples * SEED_FRAMES + parts["fixed"] + parts["warm-up"]
            + SEED_EPOCHS * SEED_FRAMES / parts["images/s"])


def run(csv: Path, device: str, epochs: int, batch: int, amp: bool, imgsz: int, temporal: str = "none"):
    with tempfile.TemporaryDirectory() as run_dir:
        return train_head(csv, run_dir, actor="person", head="finetune", epochs=epochs, batch=batch, imgsz=imgsz, pretrained="none",
                          device=device, amp=amp, val_fraction=0.0, temporal=temporal, clip_len=defaults.CLIP_LEN,
                          clip_stride=defaults.CLIP_STRIDE, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per side (default: 5 GPU, 2 CPU)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--imgsz", type=int, default=defaults.HEAD_IMGSZ, help="head input size (smaller: a quick CPU run)")
    parser.add_argument("--data", type=Path, default=REPO / "runs" / "bench-release")
    args = parser.parse_args()
    epochs = args.epochs or (5 if args.device.startswith("cuda") else 2)
    release = a2d_sized_release(args.data)
    csv = person_csv(release, args.data / "person_frames.csv")
    frames = len(open_dataset(csv).labelled_frames())
    print(f"machine: {machine()}")
    print(f"data: {frames} labelled person frames from real clips (320 px high), {epochs} epochs per side, {args.imgsz} px")
    ours = run(csv, args.device, epochs, args.batch, True, args.imgsz)
    seed = run(csv, args.device, epochs, 4, False, args.imgsz)
    clips = max(1, args.batch // defaults.CLIP_LEN)
    tsm = run(csv, args.device, epochs, clips, True, args.imgsz, temporal="tsm")
    amp = ", bf16, channels-last" if args.device.startswith("cuda") else ", fp32 (no autocast on CPU)"
    sides = {"cascade": (f"cascade (batch {args.batch}{amp})", ours), "seed": ("seed (batch 4, fp32)", seed),
             "tsm": (f"tsm (batch {clips} clips of {defaults.CLIP_LEN}{amp})", tsm)}
    for name, report in sides.values():
        parts = breakdown(report)
        unit = "images/s" if report.frames_per_sample == 1 else "clips/s"
        print(f"{name:40s} {report.images_per_s:8.1f} {unit} end to end ({parts['images/s']:.1f} in steady "
              f"training steps; decode {parts['decode']:.2f} s, set-up and save {parts['fixed']:.2f} s, "
              f"first-epoch warm-up {parts['warm-up']:.2f} s; inputs {report.input_mib:.0f} MiB uint8); projected "
              f"15 epochs x {SEED_FRAMES} frames: {projected_seconds(report):.1f} s")
    print(f"ratio cascade / seed (end to end): {ours.images_per_s / seed.images_per_s:.2f}x; "
          f"seed on a K80: {SEED_K80_MINUTES} min")
    steady = {key: breakdown(report)["images/s"] for key, (_, report) in sides.items()}
    print(f"tsm / single-frame cascade, steady steps: {steady['tsm'] / steady['cascade']:.3f}x samples/s, "
          f"{defaults.CLIP_LEN * steady['tsm'] / steady['cascade']:.2f}x frames/s (a clip is {defaults.CLIP_LEN} frames)")
    record("train_speed", {
        "frames": frames, "epochs": epochs, "device": args.device, "imgsz": args.imgsz,
        **{f"{key}_samples_per_s_end_to_end": round(report.images_per_s, 2) for key, (_, report) in sides.items()},
        **{f"{key}_samples_per_s_steady": round(rate, 2) for key, rate in steady.items()},
        **{f"{key}_projected_s": round(projected_seconds(report), 1) for key, (_, report) in sides.items()},
        "tsm_frames_per_s_steady": round(defaults.CLIP_LEN * steady["tsm"], 2),
        "tsm_input_mib": round(tsm.input_mib, 1), "cascade_input_mib": round(ours.input_mib, 1),
        "cascade_over_seed": round(ours.images_per_s / seed.images_per_s, 3),
        "tsm_over_cascade_samples": round(steady["tsm"] / steady["cascade"], 3),
    })


if __name__ == "__main__":
    main()
