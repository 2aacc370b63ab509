"""``run_show.py media SHOW_DIR``: every media file of a show folder, probed, as a table.

:func:`media_report` lists each file the show names (:meth:`Show.content_files`, with the
key paths that name it and the kind it is used as) and each file under the folder's
``media/`` and ``shaders/`` even when nothing names it (marked "not used"), each inspected
once by
:func:`mapping.media.probe.probe`. :meth:`MediaReport.table` is the text an artist reads;
:meth:`MediaReport.to_json` the same for programs. The command's exit status
(:func:`exit_status`): 0 when no file has a problem, 1 when some file has (used or not),
2 when the show file itself does not load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapping.media.probe import KINDS, SHADER_EXTENSIONS, MachineLimits, MediaInfo, probe
from mapping.show import Show

SCANNED_FOLDERS = ("media", "shaders")
"""Folders of a show whose files are listed even when the show names none of them."""

EXIT_OK, EXIT_PROBLEMS, EXIT_INVALID_SHOW = 0, 1, 2


@dataclass
class MediaEntry:
    """One file: what :func:`probe` found, and which keys of the show name it."""

    info: MediaInfo
    uses: list[str] = field(default_factory=list)

    @property
    def used(self) -> bool:
        return bool(self.uses)


@dataclass
class MediaReport:
    """Every media file of one show, in the order the show names them, then the unused."""

    show: Show
    entries: list[MediaEntry]

    @property
    def problem_count(self) -> int:
        return sum(len(e.info.problems) for e in self.entries)

    def exit_status(self) -> int:
        return EXIT_PROBLEMS if self.problem_count else EXIT_OK

    def name_of(self, path: Path) -> str:
        """The file as the show folder sees it (relative where it is inside)."""
        try:
            return path.resolve().relative_to(self.show.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def table(self) -> str:
        """A fixed-width table, each file's problems (✗) and notes (·) under its row."""
        header = ("file", "kind", "codec", "resolution", "fps", "duration", "audio", "alpha")
        rows = [header]
        for entry in self.entries:
            rows.append(_cells(self.name_of(entry.info.path), entry))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [f"media of show '{self.show.name}' ({self.show.root})", ""]
        for index, row in enumerate(rows):
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            if index == 0:
                line += "  problems"
            else:
                entry = self.entries[index - 1]
                n = len(entry.info.problems)
                line += "  " + ("—" if not n else f"{n} problem{'s' if n != 1 else ''}")
                if not entry.used:
                    line += "  (not used)"
            lines.append(line.rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths) + "  --------")
                continue
            entry = self.entries[index - 1]
            lines += [f"    ✗ {p}" for p in entry.info.problems]
            lines += [f"    · {n}" for n in entry.info.notes]
        used = sum(e.used for e in self.entries)
        bad = sum(not e.info.ok for e in self.entries)
        lines += [
            "",
            f"{len(self.entries)} file(s), {used} used by the show, "
            + (f"{bad} with problems ({self.problem_count} in all)" if bad else "no problems"),
        ]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        files = []
        for entry in self.entries:
            item = entry.info.to_dict()
            item["file"] = self.name_of(entry.info.path)
            item["used"] = entry.used
            item["uses"] = list(entry.uses)
            files.append(item)
        return {
            "show": self.show.name,
            "root": str(self.show.root),
            "files": files,
            "problem_count": self.problem_count,
            "exit_status": self.exit_status(),
        }


def media_report(show: Show, limits: MachineLimits | None = None) -> MediaReport:
    """Probe every file the show names or holds under media/ and shaders/ (see module)."""
    by_file: dict[Path, MediaEntry] = {}
    kinds: dict[Path, str | None] = {}
    for key_path, file, kind in show.content_files():
        resolved = file.resolve()
        if resolved not in by_file:
            by_file[resolved] = MediaEntry(MediaInfo(file, "other"))
            kinds[resolved] = kind if kind in KINDS else None
        by_file[resolved].uses.append(key_path)
    for folder in SCANNED_FOLDERS:
        base = show.root / folder
        if not base.is_dir():
            continue
        for file in sorted(base.rglob("*")):
            hidden = any(part.startswith(".") for part in file.relative_to(base).parts)
            if file.is_file() and not hidden and file.resolve() not in by_file:
                by_file[file.resolve()] = MediaEntry(MediaInfo(file, "other"))
                # shaders/ also holds what shaders read (an ISF file's IMPORTED images):
                # only shader suffixes are taken as shaders there, the rest by their kind
                shader = folder == "shaders" and file.suffix.lower() in SHADER_EXTENSIONS
                kinds[file.resolve()] = "shader" if shader else None
    for resolved, entry in by_file.items():
        entry.info = probe(entry.info.path, kinds[resolved], limits=limits)
    return MediaReport(show, list(by_file.values()))


def _cells(name: str, entry: MediaEntry) -> tuple[str, ...]:
    info = entry.info
    fps = f"{info.fps:.3g}" if info.fps else ""
    if info.vfr:
        fps = f"{fps} VFR".strip()
    duration = f"{info.duration_s:.2f} s" if info.duration_s else ""
    audio = ""
    if info.audio_codec:
        parts = [info.audio_codec]
        if info.audio_channels:
            parts.append(f"{info.audio_channels} ch")
        if info.audio_rate:
            parts.append(f"{info.audio_rate / 1000:g} kHz")
        audio = " ".join(parts)
    codec = info.codec or ""
    if info.colour is not None and info.colour.matrix != "RGB":
        codec += f" ({info.colour.matrix}{'?' if info.colour.guessed else ''})"
    return (
        name,
        info.kind,
        codec,
        info.resolution,
        fps,
        duration,
        audio,
        "yes" if info.alpha else "",
    )
