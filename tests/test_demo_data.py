"""``cascade demo-data``: the demo clips fetched over real HTTP, checked, and resumed.

A real HTTP server (the standard library's) on 127.0.0.1 serves three small clips of ../shared/clips
under their manifest URLs' paths, as raw.githubusercontent.com would; the code under test is pointed
at it through its base URL, exactly as a mirror would be. The server can corrupt a file or cut a
download midway; nothing else is faked.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from conftest import CLIPS, REPO, run_cli
from cascade.data.demo import MANIFEST, MANIFEST_COLUMNS, fetch_demo_clips, read_manifest
from cascade.errors import CascadeError

#: Three of the smallest labelled clips (85 kB to 260 kB), in the manifest's order: a cat, a baby, a dog.
SERVED = ("MarcinMoskala_cat1.mp4", "v_BabyCrawling_g21_c01.avi", "Elhison__dog0.mp4")


class ClipServer(http.server.ThreadingHTTPServer):
    """Serves a folder. Files are named as in their source (``dog0.mp4``, not ``Elhison__dog0.mp4``):
    those in ``corrupt`` are sent with one byte changed, those in ``cut`` (name -> how many more times)
    get their full Content-Length but half the bytes before the connection closes."""

    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.corrupt: set[str] = set()
        self.cut: dict[str, int] = {}
        self.requested: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ClipServer

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        path = self.server.folder / unquote(urlsplit(self.path).path).lstrip("/")
        name = path.name
        self.server.requested.append(name)
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if name in self.server.corrupt:
            body = body[:1000] + bytes([body[1000] ^ 0xFF]) + body[1001:]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut.get(name, 0) > 0:
            self.server.cut[name] -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def served(tmp_path):
    """The three clips laid out under their manifest URL paths, a manifest of just them, and a server
    running on 127.0.0.1: (server, manifest path)."""
    rows = [row for row in _manifest_rows() if row["video"] in SERVED]
    assert [row["video"] for row in rows] == list(SERVED)
    folder = tmp_path / "www"
    for row in rows:
        target = folder / unquote(urlsplit(row["url"]).path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CLIPS / row["video"], target)
    manifest = tmp_path / "manifest.csv"
    _write_manifest(manifest, rows)
    server = ClipServer(folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, manifest
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_clips_land_whole_listed_with_our_labels_and_a_rerun_fetches_nothing(served, tmp_path, capsys):
    server, manifest = served
    cache = tmp_path / "cache"
    code, out, err = run_cli(capsys, "demo-data", cache, "--manifest", manifest, "--base-url", server.url)
    assert code == 0, err
    assert out == f"{cache / 'labels.csv'}\n"  # stdout: the path only, for labels=$(cascade demo-data)
    assert "3 clips (fetched 3, 0.6 MB; 0 already there" in err
    expected = {clip.video: clip for clip in read_manifest(manifest)}
    for video, clip in expected.items():
        assert _sha256(cache / video) == clip.sha256 == _sha256(CLIPS / video)
    assert sorted(p.name for p in cache.iterdir()) == sorted([*SERVED, "labels.csv"])  # no temporary file left
    labels = pd.read_csv(cache / "labels.csv", keep_default_na=False)
    assert list(labels.columns) == ["video", "labels", "note", "group"]
    assert {row.video: row.labels for row in labels.itertuples()} == {v: c.labels for v, c in expected.items()}
    assert {row.video: row.group for row in labels.itertuples()} == {v: c.source for v, c in expected.items()}

    server.requested.clear()
    result = fetch_demo_clips(cache, manifest=manifest, base_url=server.url, progress=False)
    assert server.requested == [] and sorted(result.cached) == sorted(SERVED) and result.fetched == []

    # what it wrote is what sample-clips condenses, as from ../shared/clips/labels.csv
    code, _, err = run_cli(capsys, "sample-clips", cache / "labels.csv", tmp_path / "demo", "--frames-per-clip", "3")
    assert code == 0, err
    condensed = pd.read_csv(tmp_path / "demo" / "labels.csv")
    assert sorted(condensed.video) == sorted(f"{Path(v).stem}.mp4" for v in SERVED)
    assert sorted(condensed.group) == sorted(c.source for c in expected.values())  # sources kept for the folds


def test_a_clip_served_corrupted_is_refused_and_not_kept(served, tmp_path):
    server, manifest = served
    server.corrupt.add("dog0.mp4")  # Elhison__dog0.mp4, the last of the three
    cache = tmp_path / "cache"
    with pytest.raises(CascadeError, match=r"Elhison__dog0.mp4: what http://127.0.0.1:\d+/Elhison/CottonTheBotton/"
                                           r"\w+/videos/dog0.mp4 sent \(1 try\) does not match the manifest's sha256"):
        fetch_demo_clips(cache, manifest=manifest, base_url=server.url, retries=0, progress=False)
    assert sorted(p.name for p in cache.iterdir()) == sorted(SERVED[:2])  # no dog, no temporary file
    assert not (cache / "labels.csv").exists()  # not taken for complete
    assert all(_sha256(path) == _sha256(CLIPS / path.name) for path in cache.iterdir())  # only whole clips


def test_a_download_cut_midway_is_kept_nowhere_and_the_next_run_completes_it(served, tmp_path):
    server, manifest = served
    cache = tmp_path / "cache"
    server.cut["v_BabyCrawling_g21_c01.avi"] = 1  # the second of the three
    with pytest.raises(CascadeError, match=r"could not fetch 2 demo clips \(first v_BabyCrawling_g21_c01.avi .*"
                                           r"the 1 fetched are kept in .* and a rerun fetches the rest"):
        fetch_demo_clips(cache, manifest=manifest, base_url=server.url, retries=0, progress=False)
    assert sorted(p.name for p in cache.iterdir()) == [SERVED[0]]  # the cat, whole; nothing of the baby

    server.requested.clear()
    result = fetch_demo_clips(cache, manifest=manifest, base_url=server.url, retries=0, progress=False)
    assert server.requested == ["v_BabyCrawling_g21_c01.avi", "dog0.mp4"] and result.cached == [SERVED[0]]
    assert _sha256(cache / "v_BabyCrawling_g21_c01.avi") == _sha256(CLIPS / "v_BabyCrawling_g21_c01.avi")
    assert len(pd.read_csv(cache / "labels.csv")) == 3


def test_a_retry_completes_a_cut_download_in_the_same_run(served, tmp_path):
    server, manifest = served
    server.cut["v_BabyCrawling_g21_c01.avi"] = 1
    result = fetch_demo_clips(tmp_path / "cache", manifest=manifest, base_url=server.url, retries=1, progress=False)
    assert server.requested.count("v_BabyCrawling_g21_c01.avi") == 2 and len(result.fetched) == 3
    assert _sha256(tmp_path / "cache" / "v_BabyCrawling_g21_c01.avi") == _sha256(CLIPS / "v_BabyCrawling_g21_c01.avi")


def test_with_the_server_down_one_line_says_what_is_missing_and_how_to_use_local_files(served, tmp_path, capsys):
    server, manifest = served
    server.shutdown()
    server.server_close()  # nothing listens on the port now
    code, out, err = run_cli(capsys, "demo-data", tmp_path / "cache", "--manifest", manifest,
                             "--base-url", server.url, "--retries", "0")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cascade demo-data: error: could not fetch 3 demo clips (first MarcinMoskala_cat1.mp4 from ")
    assert "Connection refused" in err and "--clips DIR" in err and "CASCADE_WEIGHTS" in err
    assert not (tmp_path / "cache" / "labels.csv").exists()

    # ... and pointed at local files it needs no network
    code, out, err = run_cli(capsys, "demo-data", tmp_path / "cache", "--manifest", manifest,
                             "--base-url", server.url, "--clips", CLIPS, "--json")
    assert code == 0, err
    labels = pd.read_csv(tmp_path / "cache" / "labels.csv")
    assert sorted(labels.video) == sorted(str(CLIPS.resolve() / v) for v in SERVED)


def test_a_clip_gone_from_its_source_is_skipped_and_the_rest_fetched(served, tmp_path, caplog):
    server, manifest = served
    rows = _manifest_rows(manifest)
    gone = {**rows[0], "video": "gone.mp4", "url": rows[0]["url"].replace(".mp4", "-deleted.mp4")}
    _write_manifest(manifest, [*rows, gone])
    result = fetch_demo_clips(tmp_path / "cache", manifest=manifest, base_url=server.url, progress=False)
    assert sorted(result.fetched) == sorted(SERVED) and list(result.skipped) == ["gone.mp4"]
    assert server.requested.count("cat1-deleted.mp4") == 1  # a 404 is not asked again
    assert "skipping gone.mp4: gone from its source (HTTP 404" in caplog.text
    assert "gone.mp4" not in (tmp_path / "cache" / "labels.csv").read_text()


def test_the_environment_names_the_folder_and_the_mirror(served, tmp_path, monkeypatch, capsys):
    server, manifest = served
    monkeypatch.setenv("CASCADE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CASCADE_DEMO_URL", server.url)
    code, out, err = run_cli(capsys, "demo-data", "--manifest", manifest)
    assert code == 0, err
    assert out == f"{tmp_path / 'data' / 'demo-clips' / 'labels.csv'}\n" and len(server.requested) == 3


def test_a_manifest_without_a_column_is_one_line_naming_it(tmp_path):
    (tmp_path / "manifest.csv").write_text("video,labels,url\nx.mp4,dog-running,http://127.0.0.1/x.mp4\n")
    with pytest.raises(CascadeError, match=r"manifest.csv: not a demo clips manifest: missing column\(s\) note, "
                                           "sha256, size_bytes, source; need video,labels,note"):
        fetch_demo_clips(tmp_path / "cache", manifest=tmp_path / "manifest.csv", progress=False)


def test_the_shipped_manifest_is_what_the_script_makes_from_the_shared_clips(tmp_path):
    """Every labelled clip, at a fixed commit, with our labels: the committed file is up to date."""
    subprocess.run([sys.executable, REPO / "scripts" / "demo_manifest.py", "--clips", CLIPS,
                    "--output", tmp_path / "manifest.csv"], check=True, capture_output=True)
    assert (tmp_path / "manifest.csv").read_text() == MANIFEST.read_text()
    clips = read_manifest(MANIFEST)
    labelled = pd.read_csv(CLIPS / "labels.csv", keep_default_na=False)
    assert [clip.video for clip in clips] == list(labelled.video)
    assert [clip.labels for clip in clips] == list(labelled.labels)
    assert all(clip.url.startswith(f"https://raw.githubusercontent.com/{clip.source}/") for clip in clips if clip.url)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest_rows(path: Path = MANIFEST) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
