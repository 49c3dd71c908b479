"""The labelled demo clips, on any machine: fetched from their sources, checked byte for byte.

``scripts/demo.sh`` runs on real clips we labelled. Beside ``../shared`` they are on disk; anywhere
else they come from the public repositories they were taken from, each at a fixed commit. The
manifest ``demo_clips.csv`` (package data, written by ``scripts/demo_manifest.py``) lists each clip's
URL, size and sha256 beside our labels, so a moved branch or a proxy cannot change the demo unseen.

:func:`fetch_demo_clips` downloads what the folder lacks with pooch, which streams each file to a
temporary name and moves it into place only when its sha256 matches: a cut or corrupted download never
passes for a clip, and a rerun fetches only what is still missing. Clips found whole in a local
folder (``clips``) are used where they are. ``labels.csv`` is removed before anything is fetched and
written last, listing verified clips only, so a folder holds it only when it is complete.

What stops the fetch is one :class:`~cascade.errors.CascadeError` line (the CLI exits 2): no network
(with how to point the demo at local files), or a file whose sha256 differs. A clip its source no
longer has (HTTP 404 or 410) is skipped with a warning: the demo runs on the others, rather than
third-party repositories deciding whether it runs at all.

Example::

    fetched = fetch_demo_clips()          # ~/.cache/cascade/demo-clips (or $CASCADE_DATA/demo-clips)
    build_sample_clips(fetched.labels, "demo-clips")
    # cascade demo-data [DIR] [--clips ../shared/clips]  ->  prints DIR/labels.csv
"""

from __future__ import annotations

import csv
import io
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pooch
import requests
from tqdm import tqdm

from cascade import defaults
from cascade.errors import CascadeError
from cascade.fileio import write_text_atomic

#: The committed manifest of the demo clips, and its columns.
MANIFEST = Path(__file__).with_name("demo_clips.csv")
MANIFEST_COLUMNS = ["video", "labels", "note", "size_bytes", "sha256", "url", "source"]
LABELS = "labels.csv"
GONE = (404, 410)  # the source no longer has the file: skipped, not retried
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoClip:
    """One row of the manifest: a clip, our labels for it, and where its checked bytes come from."""

    video: str
    labels: str
    note: str
    size_bytes: int
    sha256: str
    url: str  # empty where no direct URL exists (a file inside a Debian or PyPI package)
    source: str


@dataclass
class DemoData:
    """What :func:`fetch_demo_clips` left in its folder: the labels CSV and where each clip came from."""

    labels: Path
    fetched: list[str] = field(default_factory=list)
    fetched_bytes: int = 0
    cached: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def clips(self) -> int:
        return len(self.fetched) + len(self.cached) + len(self.local)

    def summary(self) -> str:
        skipped = f"; skipped {len(self.skipped)}: {', '.join(self.skipped)}" if self.skipped else ""
        return (f"{self.labels}: {self.clips} clips (fetched {len(self.fetched)}, "
                f"{self.fetched_bytes / 1e6:.1f} MB; {len(self.cached)} already there; "
                f"{len(self.local)} from --clips){skipped}")

    def to_json(self) -> dict[str, Any]:
        return {"labels": str(self.labels), "clips": self.clips, "fetched": self.fetched,
                "fetched_bytes": self.fetched_bytes, "cached": self.cached, "local": self.local,
                "skipped": self.skipped}


def data_root() -> Path:
    """Where cascade keeps what it downloads: ``$CASCADE_DATA``, else the platform's cache folder."""
    return Path(os.environ.get(defaults.DATA_ENV) or pooch.os_cache("cascade"))


def read_manifest(path: str | Path = MANIFEST) -> list[DemoClip]:
    """The clips a manifest lists, in its order; a missing file or column is one line naming it."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise CascadeError(f"{path}: not a demo clips manifest: missing column(s) "
                                   f"{', '.join(sorted(missing))}; need {','.join(MANIFEST_COLUMNS)}")
            return [DemoClip(**{**{name: row[name] or "" for name in MANIFEST_COLUMNS},  # a short row: ""
                                "size_bytes": int(row["size_bytes"] or "")}) for row in reader]
    except FileNotFoundError:
        raise CascadeError(f"{path}: manifest not found") from None
    except ValueError as exc:
        raise CascadeError(f"{path}: a size_bytes that is not a whole number ({exc})") from None


def fetch_demo_clips(root: str | Path | None = None, clips: str | Path | None = None,
                     manifest: str | Path | None = None, base_url: str | None = None,
                     retries: int = defaults.DEMO_RETRIES, progress: bool = True) -> DemoData:
    """Make ``root`` (default :func:`data_root`/demo-clips) hold every clip of ``manifest`` (default the
    package's), each verified by sha256, and a ``labels.csv`` listing them; return what was done.

    A clip found whole in the folder ``clips`` is listed where it is and not fetched. ``base_url``
    (default ``$CASCADE_DEMO_URL``) replaces each URL's scheme and host, for a mirror laid out like
    the sources. ``retries`` more tries per clip; ``progress`` draws one bar on stderr."""
    if retries < 0:
        raise CascadeError(f"--retries must be 0 or more, got {retries}")
    root = Path(root) if root is not None else data_root() / defaults.DEMO_FOLDER
    local = Path(clips) if clips is not None else None
    if local is not None and not local.is_dir():
        raise CascadeError(f"--clips {local}: not a folder; name the folder that holds the clips")
    base_url = base_url or os.environ.get(defaults.DEMO_URL_ENV) or None
    entries = read_manifest(manifest if manifest is not None else MANIFEST)
    result = DemoData(labels=root / LABELS)
    rows: dict[str, str] = {}  # video -> its path as labels.csv lists it
    todo: list[DemoClip] = []
    for entry in entries:
        if local is not None and _whole(local / entry.video, entry):
            rows[entry.video] = str((local / entry.video).resolve())
            result.local.append(entry.video)
        elif _whole(root / entry.video, entry):
            rows[entry.video] = entry.video
            result.cached.append(entry.video)
        elif not entry.url:
            result.skipped[entry.video] = f"no download URL ({entry.source}); put it in a folder given as --clips"
            log.warning("skipping %s: %s", entry.video, result.skipped[entry.video])
        else:
            todo.append(entry)
    if todo:
        (root / LABELS).unlink(missing_ok=True)  # the folder is not complete until labels.csv is written again
        _download(todo, root, base_url, retries, progress, result)
        rows.update((video, video) for video in result.fetched)
    if not rows:
        (root / LABELS).unlink(missing_ok=True)
        raise CascadeError(f"{root}: none of the {len(entries)} demo clips could be had "
                           f"({'; '.join(f'{v}: {why}' for v, why in list(result.skipped.items())[:2])})")
    _write_labels(root / LABELS, [entry for entry in entries if entry.video in rows], rows)
    return result


def _download(todo: list[DemoClip], root: Path, base_url: str | None, retries: int, progress: bool,
              result: DemoData) -> None:
    """Fetch ``todo`` into ``root`` with pooch (temporary file, sha256, move), one clip after another;
    the first failure other than a clip gone from its source stops the fetch with one line."""
    urls = {entry.video: _mirrored(entry.url, base_url) for entry in todo}
    fetcher = pooch.create(path=root, base_url="", retry_if_failed=retries, urls=urls,
                           registry={entry.video: f"sha256:{entry.sha256}" for entry in todo})
    total = sum(entry.size_bytes for entry in todo)
    with _quiet_pooch(), tqdm(total=total, unit="B", unit_scale=True, desc=f"fetching {len(todo)} demo clips",
                              disable=not progress) as bar:
        downloader = _Downloader(_BarFeed(bar) if progress else False)
        for entry in todo:
            url = urls[entry.video]
            try:
                fetcher.fetch(entry.video, downloader=downloader)
            except _Gone as gone:
                result.skipped[entry.video] = f"gone from its source (HTTP {gone.status} for {url})"
                log.warning("skipping %s: %s", entry.video, result.skipped[entry.video])
                continue
            except ValueError:  # pooch: the sha256 of every try differed
                raise CascadeError(
                    f"{entry.video}: what {url} sent ({_tries(retries)}) does not match the manifest's sha256 "
                    f"{entry.sha256[:12]}..., so it was not kept; the source or something between changed it: "
                    "fetch the clip yourself, check it, and pass its folder as --clips") from None
            except requests.RequestException as exc:
                raise CascadeError(_offline_line(entry, url, exc, todo, result, root)) from None
            result.fetched.append(entry.video)
            result.fetched_bytes += entry.size_bytes


def _offline_line(entry: DemoClip, url: str, exc: Exception, todo: list[DemoClip], result: DemoData,
                  root: Path) -> str:
    """The one line for a fetch the network stopped: what is missing, and how to go on without it."""
    missing = len(todo) - len(result.fetched) - len(result.skipped)
    kept = (f"; the {len(result.fetched)} fetched are kept in {root} and a rerun fetches the rest"
            if result.fetched else "")
    return (f"could not fetch {missing} demo clip{'s' if missing > 1 else ''} (first {entry.video} from {url}: "
            f"{_network_reason(exc)}){kept}. Offline, point the demo at local files: --clips DIR (a folder "
            "holding the clips), or CASCADE_SHARED=DIR (with clips/labels.csv) for scripts/demo.sh, and "
            "CASCADE_WEIGHTS=YOLO weights")


def _network_reason(exc: Exception) -> str:
    """What requests' exception says went wrong, without the connection pool's wrapping: urllib3's
    MaxRetryError holds the reason, whose text starts by repeating the host already in the URL."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    cause = getattr(cause, "reason", None) or cause
    text = str(cause)
    if text.startswith(("HTTPConnection(", "HTTPSConnection(")) and "): " in text:
        text = text.split("): ", 1)[1]
    text = text.strip().splitlines()[0][:160] if text.strip() else ""
    return f"{type(exc).__name__}: {text}"


def _tries(retries: int) -> str:
    return "1 try" if retries == 0 else f"{1 + retries} tries"


def _mirrored(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url`` (which may add a path prefix)."""
    return url if base_url is None else base_url.rstrip("/") + urlsplit(url).path


def _whole(path: Path, entry: DemoClip) -> bool:
    """The file is there with the manifest's size and sha256 (size first: a cheap refusal)."""
    if not path.is_file() or path.stat().st_size != entry.size_bytes:
        return False
    if pooch.file_hash(str(path), alg="sha256") == entry.sha256:
        return True
    log.warning("%s: sha256 differs from the manifest's; not used", path)
    return False


def _write_labels(path: Path, entries: list[DemoClip], rows: dict[str, str]) -> None:
    """``labels.csv`` in the clip-level format ``sample-clips`` and ``--data`` read (video, labels, note, and
    group: the clip's source, which keeps look-alike clips on one side of a split or fold)."""
    buffer = io.StringIO()
    table = csv.writer(buffer, lineterminator="\n")
    table.writerow(["video", "labels", "note", "group"])
    table.writerows([rows[entry.video], entry.labels, entry.note, entry.source] for entry in entries)
    write_text_atomic(path, buffer.getvalue())


class _Gone(Exception):
    """The source answered that it has no such file. Deliberately neither a ValueError nor a requests
    exception, the two that pooch retries: asking again would get the same answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Downloader:
    """pooch's HTTP downloader, except that a file its source no longer has is :class:`_Gone`."""

    def __init__(self, progressbar: Any) -> None:
        self.http = pooch.HTTPDownloader(progressbar=progressbar, timeout=defaults.DOWNLOAD_TIMEOUT_S)

    def __call__(self, url: str, output_file: str, caller: Any, check_only: bool = False) -> Any:
        try:
            return self.http(url, output_file, caller, check_only)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE:
                raise _Gone(status) from None
            raise


class _BarFeed:
    """One bar over all clips' bytes, fed by pooch's per-file progress calls. pooch sets ``total`` as
    each try starts (a failed try's bytes are taken back then), ``update``s per chunk, and on success
    calls ``reset``, ``update(total)`` and ``close``."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar
        self.counted = 0  # bytes of the current try on the bar

    @property
    def total(self) -> int:
        return self.counted

    @total.setter
    def total(self, _size: int) -> None:
        self.reset()

    def update(self, size: int) -> None:
        self.bar.update(size)
        self.counted += size

    def reset(self) -> None:
        self.bar.update(-self.counted)
        self.counted = 0

    def close(self) -> None:
        self.counted = 0  # the file is done: its bytes stay on the bar


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch logs each file it fetches on stderr; the bar and the summary already say it."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
