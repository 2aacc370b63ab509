"""The content hash of a show folder, the same on every machine that has the same show (pure).

Before GO every node reports :attr:`ShowHash.digest`; a node whose digest differs from the
controller's has a different show, and the two :class:`ShowHash` manifests name the files
that differ (:func:`compare`).

Which files: every file under the show folder except state, logs and temporary files
(:func:`ignored`: hidden names — rsync's and Syncthing's temporary files, ``.history`` —
``*.tmp``, ``*.log``, ``*.swp``, ``*~`` and the folders ``state``, ``logs``,
``__pycache__``), plus every file the show uses that lies outside the folder (the
calibration files it references, LUTs, media: :meth:`Show.watched_files`). Files are named
by their path relative to the show folder (``media/clip.mp4``,
``../calibrations/venue.toml``), so the digest is the same wherever the venue keeps its
shows, and hashed by content (SHA-256; the manifest is :meth:`ShowHash.sha256sum_text`,
which coreutils' ``sha256sum -c`` checks). File names, sizes and contents enter the digest;
modification times do not.

:class:`HashCache` keeps each file's hash by path, size and modification time (optionally in
a JSON file), so hashing an unchanged multi-gigabyte folder again reads no file contents.
A file modified within :data:`RACY_S` of being hashed is not cached (its next change could
keep the same size and time stamp).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapping.atomic import write_atomic

log = logging.getLogger(__name__)

FORMAT = "facade-mapper show hash 1"
"""The first line hashed into every digest; a change of the recipe changes it."""

IGNORED_FOLDERS = frozenset({"state", "logs", "__pycache__"})
IGNORED_SUFFIXES = (".tmp", ".log", ".swp", ".swx", "~", ".part")
RACY_S = 2.0
_CHUNK = 1 << 20


def ignored(name: str, *, folder: bool) -> bool:
    """A file or folder name that is state, a log or a temporary file, not show content."""
    if name.startswith("."):
        return True
    if folder:
        return name in IGNORED_FOLDERS
    return name.endswith(IGNORED_SUFFIXES) or name in ("Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class FileEntry:
    """One file of the manifest: its name relative to the show folder, size, SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ShowHash:
    """A show folder's digest and the manifest it was computed from (sorted by name)."""

    digest: str
    files: tuple[FileEntry, ...]
    notes: tuple[str, ...] = ()
    """What the hash could not include (a show file that does not load, unreadable files)."""

    @property
    def manifest(self) -> dict[str, FileEntry]:
        return {f.name: f for f in self.files}

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def sha256sum_text(self) -> str:
        """The manifest as ``sha256sum`` writes it (check it with ``sha256sum -c`` run in the
        show folder)."""
        return "".join(f"{f.sha256}  {f.name}\n" for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "digest": self.digest,
            "files": [[f.name, f.size, f.sha256] for f in self.files],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShowHash:
        """Read :meth:`to_json`'s form (as a node sends it). Raises ValueError."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"show hash: expected format {FORMAT!r}")
        try:
            files = tuple(FileEntry(str(n), int(s), str(h)) for n, s, h in data["files"])
            return cls(str(data["digest"]), files, tuple(map(str, data.get("notes", ()))))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"show hash: malformed manifest ({e})") from None


def digest_of(files: tuple[FileEntry, ...]) -> str:
    """The digest of a manifest: SHA-256 of :data:`FORMAT` and one line per file, in order
    of name: ``name NUL size NUL sha256 LF``."""
    h = hashlib.sha256(FORMAT.encode() + b"\n")
    for f in sorted(files, key=lambda f: f.name):
        h.update(f"{f.name}\0{f.size}\0{f.sha256}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Difference:
    """One file that differs: its name and how ("missing here", "only here", "differs")."""

    name: str
    what: str

    def __str__(self) -> str:
        return f"{self.name}: {self.what}"


def compare(mine: ShowHash, theirs: ShowHash) -> list[Difference]:
    """The files that differ between two manifests, by name ("here" is ``theirs``: the node
    compared against the reference ``mine``)."""
    a, b = mine.manifest, theirs.manifest
    out: list[Difference] = []
    for name in sorted(a.keys() | b.keys()):
        if name not in b:
            out.append(Difference(name, "missing here"))
        elif name not in a:
            out.append(Difference(name, "only here"))
        elif a[name].sha256 != b[name].sha256 or a[name].size != b[name].size:
            sizes = (
                f" ({b[name].size} bytes here, {a[name].size} expected)"
                if a[name].size != b[name].size
                else " (same size, other content)"
            )
            out.append(Difference(name, "differs" + sizes))
    return out


def describe(differences: list[Difference], limit: int = 10) -> str:
    """A short line naming the first ``limit`` differing files and how many more."""
    head = "; ".join(map(str, differences[:limit]))
    more = len(differences) - limit
    return head + (f"; and {more} more" if more > 0 else "")


class HashCache:
    """File hashes by (resolved path, size, mtime_ns); optionally kept in a JSON file."""

    VERSION = 1

    def __init__(self, file: Path | None = None) -> None:
        self.file = file
        self.entries: dict[str, tuple[int, int, str]] = {}
        self.hits = 0
        self.bytes_read = 0
        if file is not None:
            self._load(file)

    def _load(self, file: Path) -> None:
        try:
            data = json.loads(file.read_text())
            if data.get("version") != self.VERSION:
                return
            self.entries = {k: (int(s), int(m), str(h)) for k, (s, m, h) in data["entries"].items()}
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            log.warning("show hash cache %s unreadable (%s): hashing afresh", file, e)
            self.entries = {}

    def save(self) -> None:
        """Write the cache file (atomically), if there is one; a failure is only logged."""
        if self.file is None:
            return
        data = {"version": self.VERSION, "entries": self.entries}
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.file, json.dumps(data).encode(), durable=False)
        except OSError as e:
            log.warning("show hash cache %s not written: %s", self.file, e)

    def sha256(self, path: Path) -> tuple[int, str]:
        """(size, SHA-256 hex) of a file, from the cache when its size and time match.
        Raises OSError when the file cannot be read."""
        key = str(path.resolve())
        st = path.stat()
        cached = self.entries.get(key)
        if cached is not None and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            self.hits += 1
            return st.st_size, cached[2]
        h = hashlib.sha256()
        with open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                h.update(chunk)
                self.bytes_read += len(chunk)
        after = path.stat()
        digest = h.hexdigest()
        stable = after.st_size == st.st_size and after.st_mtime_ns == st.st_mtime_ns
        if stable and time.time() - after.st_mtime_ns / 1e9 > RACY_S:
            self.entries[key] = (st.st_size, st.st_mtime_ns, digest)
        return after.st_size if stable else st.st_size, digest


def folder_files(root: Path) -> list[Path]:
    """Every file under ``root`` that is not :func:`ignored` (folder links followed once)."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for here, folders, names in os.walk(root, followlinks=True):
        st = os.stat(here)
        if (st.st_dev, st.st_ino) in seen:
            folders[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        folders[:] = sorted(d for d in folders if not ignored(d, folder=True))
        for name in names:
            if not ignored(name, folder=False):
                path = Path(here) / name
                if path.is_file():
                    found.append(path)
    return found


def used_files(root: Path) -> tuple[list[Path], list[str]]:
    """Files the show names (calibrations, LUTs, media, wherever they are), and notes."""
    from mapping.errors import ValidationError
    from mapping.show import load_show

    try:
        show = load_show(root)
    except ValidationError as e:
        return [], [f"show file does not load ({len(e.problems)} problems): only the folder hashed"]
    return sorted(p for p in show.watched_files() if p.is_file()), []


def name_in_show(root: Path, path: Path) -> str:
    """The file's name relative to the show folder (``../x`` for files beside it)."""
    return Path(os.path.relpath(path, root)).as_posix()


def hash_show(root: Path | str, cache: HashCache | None = None) -> ShowHash:
    """Hash a show folder (see the module's description). Unreadable files become notes
    (and change the digest: they are hashed as missing)."""
    root = Path(root).resolve()  # the show's own paths are resolved
    cache = cache if cache is not None else HashCache()
    used, notes = used_files(root)
    paths: dict[str, Path] = {}
    for path in [*folder_files(root), *used]:
        paths.setdefault(name_in_show(root, path), path)
    entries: list[FileEntry] = []
    for name in sorted(paths):
        try:
            size, digest = cache.sha256(paths[name])
        except OSError as e:
            notes.append(f"{name}: not readable ({e.strerror or e})")
            continue
        entries.append(FileEntry(name, size, digest))
    files = tuple(entries)
    cache.save()
    return ShowHash(digest_of(files), files, tuple(notes))


def table(h: ShowHash, root: Path) -> str:
    """The digest and the manifest as ``run_show.py hash`` prints it."""
    lines = [f"show folder {root}", f"digest {h.digest}", ""]
    width = max((len(f"{f.size:,}") for f in h.files), default=1)
    for f in h.files:
        lines.append(f"{f.sha256[:16]}  {f.size:>{width},}  {f.name}")
    lines.append("")
    lines.append(f"{len(h.files)} files, {h.total_bytes:,} bytes")
    lines += [f"note: {note}" for note in h.notes]
    return "\n".join(lines)


def run_cli(show: Path, *, as_json: bool, against: Path | None, cache_file: Path | None) -> int:
    """``run_show.py hash SHOW [--json] [--against MANIFEST.json]``: print the digest and
    manifest; with ``--against`` (another machine's ``--json`` output) name the files that
    differ. Exit 0 (same, or no comparison), 1 (different), 2 (no such folder, bad file)."""
    if not show.is_dir():
        print(f"{show}: not a folder (expected a show folder)", file=sys.stderr)
        return 2
    reference: ShowHash | None = None
    if against is not None:
        try:
            reference = ShowHash.from_json(json.loads(against.read_text()))
        except (OSError, ValueError) as e:
            print(f"{against}: expected a show hash from 'run_show.py hash --json' ({e})",
                  file=sys.stderr)  # fmt: skip
            return 2
    h = hash_show(show, HashCache(cache_file))
    print(json.dumps(h.to_json(), indent=1) if as_json else table(h, show))
    if reference is None:
        return 0
    differences = compare(reference, h)
    if not differences:
        print(f"same show as {against}", file=sys.stderr)
        return 0
    n = len(differences)
    print(f"{n} file{'s differ' if n != 1 else ' differs'} from {against}:", file=sys.stderr)
    for d in differences:
        print(f"  {d}", file=sys.stderr)
    return 1
