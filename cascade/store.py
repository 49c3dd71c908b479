"""An append-only Parquet dataset in one folder: what every cascade cache is made of.

A cache of one row set per video (detections, features) must grow to hundreds of thousands of
videos, survive a kill at any instant, and take commits from several processes at once (two
commands on one run dir, Ray workers on many machines). Rewriting one file per commit does none of
that, so a :class:`PartStore` is a folder of immutable part files and a small index::

    FOLDER/part-<time>-<random>.parquet   one per commit: the rows of whole videos, settings in its metadata
    FOLDER/index.jsonl                     one line per part: its name, rows, videos and settings
    FOLDER/.lock                           taken (filelock) by whatever changes the folder

A commit, under the lock, re-reads the index (only the lines added since it last looked), drops the
videos already present, writes ONE part aside (:func:`cascade.fileio.atomic_path`: fsync'd, renamed
in) and appends its index line (one ``write``, fsync'd). The index is the truth: a part is in the
cache once its line is complete. So a kill before the rename leaves a hidden temporary file, a kill
between the rename and the line leaves an orphan part nobody reads (the next compaction deletes
both), and a torn last line is ignored by readers and cut by the next writer. A commit costs what it
adds, whatever the size of the cache.

Readers take no lock: they read the index (videos -> part), then only the parts that hold the
videos asked for, as one ``pyarrow.dataset`` filtered by video. The set of videos comes from the
index alone, never from the rows.

Compaction merges parts (size-tiered: whenever ``FANIN`` parts of the same size class exist, after a
commit; or everything into one with :meth:`PartStore.compact`): the merged part is written and
renamed in first, then the index is replaced atomically, then the old parts are deleted. A reader
sees the old index and old parts, or the new index and the merged part; one that read the old index
just before the old parts vanished finds a part missing, re-reads the index and reads again.

Example::

    store = PartStore(run / "detections", SCHEMA, checked=("model", "stride"), what="detections cache")
    store.commit(table, {"model": "yolo11n.pt", "stride": 1})   # rows must carry a "video" column
    rows = store.read(["clip"])                                  # only that video's rows
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import filelock
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cascade.errors import CascadeError, short_reason
from cascade.fileio import atomic_path, fsync_path, write_text_atomic

INDEX_NAME = "index.jsonl"
LOCK_NAME = ".lock"
META_KEY = b"cascade"
#: Parts of one size class (rows, in powers of FANIN) that trigger a merge of that class.
FANIN = 16
#: Parts of this size class and above (FANIN**5 = 1 M rows) are never merged automatically: a merge
#: holds its rows in memory to sort them, so automatic merges stay under FANIN**5 rows x FANIN.
MAX_AUTO_TIER = 5
#: Rows per Parquet row group: reading one video skips the groups whose video range excludes it.
ROW_GROUP = 64 * 1024
#: Times a reader re-reads the index when a compaction deleted a part under it.
READ_RETRIES = 5


@dataclass(frozen=True)
class Part:
    """One index line: a part file and what it holds."""

    name: str
    rows: int
    videos: tuple[str, ...]
    settings: dict

    def line(self) -> str:
        return json.dumps({"part": self.name, "rows": self.rows, "videos": list(self.videos),
                           "settings": self.settings}, separators=(",", ":")) + "\n"


class PartStore:
    """Append-only Parquet dataset in one folder (part files + small index), safe for concurrent writers."""

    def __init__(self, folder: str | Path, schema: pa.Schema, checked: Sequence[str], what: str) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise CascadeError(f"{self.folder}: is a file, not a folder; the {what} is a folder of part files")
        self.schema = schema.remove_metadata()
        self.checked = tuple(checked)
        self.what = what
        self.index_path = self.folder / INDEX_NAME
        self._parts: dict[str, Part] = {}
        self._where: dict[str, str] = {}  # video -> part name
        self._settings: dict | None = None
        self._seen: tuple[int, int] | None = None  # (device, inode) of the index file read so far
        self._offset = 0  # bytes of complete lines read so far
        self._refresh()

    # -- reading the index ------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Bring the view of the index up to date: the new lines only, or all of it if it was replaced."""
        try:
            with open(self.index_path, "rb") as f:
                stat = os.fstat(f.fileno())
                if (stat.st_dev, stat.st_ino) != self._seen or stat.st_size < self._offset:
                    self._parts, self._where, self._settings, self._offset = {}, {}, None, 0
                    self._seen = (stat.st_dev, stat.st_ino)
                if stat.st_size == self._offset:
                    return
                f.seek(self._offset)
                tail = f.read()
        except FileNotFoundError:
            self._parts, self._where, self._settings, self._seen, self._offset = {}, {}, None, None, 0
            return
        complete = tail[: tail.rfind(b"\n") + 1]  # a line without its newline is still being written, or torn
        for raw in complete.splitlines():
            try:
                entry = json.loads(raw)
                part = Part(entry["part"], int(entry["rows"]), tuple(entry["videos"]), dict(entry["settings"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise CascadeError(f"{self.index_path}: unreadable {self.what} index ({short_reason(exc)}); "
                                   f"delete {self.folder} to start the {self.what} again") from None
            self._add(part)
        self._offset += len(complete)

    def _add(self, part: Part) -> None:
        self._parts[part.name] = part
        for video in part.videos:
            self._where[video] = part.name
        self._settings = {**(self._settings or {}), **part.settings}

    @property
    def settings(self) -> dict | None:
        """Settings recorded by earlier commits (later commits' values win for unchecked keys), None if empty."""
        self._refresh()
        return None if self._settings is None else dict(self._settings)

    def videos(self) -> set[str]:
        """Videos in the store (whole: videos are only ever committed whole), from the index alone."""
        self._refresh()
        return set(self._where)

    def parts(self) -> list[str]:
        """Names of the part files the index lists, oldest first."""
        self._refresh()
        return list(self._parts)

    def check_settings(self, settings: dict) -> None:
        """Refuse rows made otherwise: the ``checked`` keys given in ``settings`` must match what is stored."""
        stored = self.settings
        if stored is None:
            return
        differ = [k for k in self.checked if k in settings and stored.get(k) != settings[k]]
        if differ:
            was = ", ".join(f"{k}={stored.get(k)}" for k in differ)
            now = ", ".join(f"{k}={settings[k]}" for k in differ)
            raise CascadeError(f"{self.folder}: {self.what} made with {was}, not {now}; use another --run-dir "
                               f"or delete {self.folder} to start again with the new settings")

    # -- reading rows -----------------------------------------------------------------------------------------

    def read(self, videos: Iterable[str] | None = None, columns: Sequence[str] | None = None) -> pa.Table:
        """Rows of the given videos (all with None; unknown videos give no rows), as one table of the schema."""
        wanted = None if videos is None else set(videos)
        for attempt in range(READ_RETRIES + 1):
            self._refresh()
            if wanted is None:
                names = list(self._parts)
            else:
                names = sorted({self._where[v] for v in wanted if v in self._where})
            try:
                return self._read_parts(names, wanted, columns)
            except FileNotFoundError:  # a compaction replaced the index and deleted the part: read it again
                if attempt == READ_RETRIES:
                    raise
        raise AssertionError("unreachable")

    def _read_parts(self, names: list[str], wanted: set[str] | None, columns: Sequence[str] | None) -> pa.Table:
        schema = self.schema if columns is None else pa.schema([self.schema.field(c) for c in columns])
        if not names:
            return schema.empty_table()
        paths = [str(self.folder / n) for n in names]
        try:
            dataset = ds.dataset(paths, schema=self.schema, format="parquet")
            filtered = None if wanted is None else pc.field("video").isin(sorted(wanted))
            return dataset.to_table(columns=list(schema.names), filter=filtered)
        except FileNotFoundError:
            raise
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
            if "No such file" in str(exc) or any(not Path(p).exists() for p in paths):
                raise FileNotFoundError(str(exc)) from None
            raise CascadeError(f"{self.folder}: unreadable part of the {self.what} ({short_reason(exc)}); "
                               f"delete {self.folder} to start the {self.what} again") from None

    # -- writing ----------------------------------------------------------------------------------------------

    def _lock(self) -> filelock.BaseFileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(self.folder / LOCK_NAME)

    def commit(self, new: pa.Table | list[pa.Table], settings: dict) -> int:
        """Add the rows of finished videos as one new part; videos already present are not added twice.

        Under the lock: re-read the index, check the settings, drop known videos, write the part aside,
        fsync, rename it in, append its index line. Returns the number of videos added.
        """
        tables = [new] if isinstance(new, pa.Table) else list(new)
        tables = [t.select(self.schema.names).cast(self.schema) for t in tables if t.num_rows]
        if not tables:
            return 0
        table = pa.concat_tables(tables)
        with self._lock():
            self._refresh()
            self.check_settings(settings)
            if self._where:
                known = pa.array(list(self._where.keys() & set(pc.unique(table.column("video")).to_pylist())),
                                 pa.string())
                if len(known):
                    table = table.filter(pc.invert(pc.is_in(table.column("video"), known)))
            if not table.num_rows:
                return 0
            part = self._write_part(table, {**(self._settings or {}), **settings})
            self._append(part)
            self._merge_full_tiers()
        return len(part.videos)

    def _write_part(self, table: pa.Table, settings: dict) -> Part:
        """Write rows, sorted by video, as a new uniquely named part (atomically, fsync'd) and describe it.
        Sorted parts let a reader of one video skip every row group whose video range excludes it."""
        table = table.take(pc.sort_indices(table, [("video", "ascending")]))  # stable: frames keep their order
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        table = table.replace_schema_metadata({META_KEY: json.dumps(settings)})
        with atomic_path(self.folder / name) as tmp:
            pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP)
        videos = tuple(pc.unique(table.column("video")).to_pylist())
        return Part(name, table.num_rows, videos, settings)

    def _append(self, part: Part) -> None:
        """Append a part's line to the index (one write, fsync'd), first cutting a line a killed writer tore."""
        fresh = not self.index_path.exists()
        with open(self.index_path, "ab") as f:
            if f.tell() > self._offset:
                f.truncate(self._offset)
            f.write(part.line().encode())
            f.flush()
            os.fsync(f.fileno())
        if fresh:
            fsync_path(self.folder)
        self._refresh()

    # -- compaction -------------------------------------------------------------------------------------------

    def compact(self) -> int:
        """Merge every part into one (and delete files a killed writer left); returns the parts merged
        (0 when there was at most one)."""
        with self._lock():
            self._refresh()
            names = list(self._parts)
            if len(names) > 1:
                self._merge(names)
            self._delete_strays()
            return len(names) if len(names) > 1 else 0

    def _merge_full_tiers(self) -> None:
        """Size-tiered compaction: while FANIN parts share a size class, merge them, so that the number of
        parts grows with the log of the cache and each row is rewritten about log_FANIN(rows) times."""
        while True:
            tiers: dict[int, list[str]] = {}
            for part in self._parts.values():
                tier = int(math.log(max(part.rows, 1), FANIN))
                if tier < MAX_AUTO_TIER:
                    tiers.setdefault(tier, []).append(part.name)
            full = [names for names in tiers.values() if len(names) >= FANIN]
            if not full:
                return
            self._merge(full[0])

    def _merge(self, names: list[str]) -> None:
        """Replace parts by one (caller holds the lock): merged part renamed in, then the index replaced,
        then the old parts deleted; readers see the old state or the new one."""
        merged = self._read_parts(names, None, None)
        settings: dict = {}
        for name in names:
            settings.update(self._parts[name].settings)
        part = self._write_part(merged, settings)
        del merged
        gone = set(names)
        keep = [p for n, p in self._parts.items() if n not in gone] + [part]
        write_text_atomic(self.index_path, "".join(p.line() for p in keep))
        self._refresh()
        self._delete_strays()

    def _delete_strays(self) -> None:
        """Delete part files the index does not list and temporary files of killed writers (lock held)."""
        listed = set(self._parts)
        for path in self.folder.glob("part-*.parquet"):
            if path.name not in listed:
                path.unlink(missing_ok=True)
        for path in self.folder.glob(".part-*.tmp"):
            path.unlink(missing_ok=True)

    # -- taking in old files ----------------------------------------------------------------------------------

    def adopt(self, path: str | Path, settings: dict | None = None) -> int:
        """Take an old single-file table in (rows committed as one part, known videos skipped), then delete
        it; ``settings`` default to those in its metadata. A kill in between leaves the file to adopt
        again, adding nothing twice. Returns the videos added."""
        path = Path(path)
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
            raise CascadeError(f"{path}: unreadable {self.what} ({short_reason(exc)}); delete it to start "
                               "again") from None
        raw = (table.schema.metadata or {}).get(META_KEY)
        recorded = json.loads(raw) if raw else {}
        added = self.commit(table, {**recorded, **(settings or {})}) if table.num_rows else 0
        path.unlink(missing_ok=True)
        fsync_path(path.parent)
        return added
