"""Spec: calibration saves never lose work — concurrent, stale, full-disk and restored saves.

* Two processes saving different surfaces at once both keep every surface.
* A save of a file that changed on disk since it was loaded is refused, not silently lost.
* Temporary files live in the target's own folder (a rename, never a cross-device copy).
* A full disk leaves the file and its history intact, with no partial copies behind.
* History can be listed and restored; a restore is itself undoable.
* New metadata (residual_max_px, point pairs) round-trips; version-1 files from before it load.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from calibration import store
from calibration.store import (
    CalibrationFile,
    StaleCalibrationError,
    SurfaceCalibration,
    find_history,
    history_files,
    list_history,
    load_calibration,
    restore_history,
    save_calibration,
    update_calibration,
    with_surface,
)
from mapping.errors import ValidationError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def surface(i: float, method: str = "manual") -> SurfaceCalibration:
    """A distinguishable valid calibration: a translation by ``i`` pixels."""
    H = np.array([[1.0, 0.0, float(i)], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return SurfaceCalibration(output="left", H_canvas_to_projector=H, method=method)


def every_file(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- concurrency


def _save_many(path: str, worker: int, saves: int, start: multiprocessing.synchronize.Event):
    """One technician's tool: saves its own 15 surfaces over and over."""
    start.wait(10)
    for k in range(saves):
        update_calibration(path, f"w{worker}-{k % 15}", surface(k), history=2)


def test_two_processes_saving_different_surfaces_keep_all_of_them(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, CalibrationFile(surfaces={"existing": surface(0)}))
    saves = 60
    ctx = multiprocessing.get_context("fork")  # real processes, each with its own lock fd
    start = ctx.Event()
    workers = [
        ctx.Process(target=_save_many, args=(str(path), worker, saves, start)) for worker in (1, 2)
    ]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    surfaces = load_calibration(path).surfaces
    expected = {"existing"} | {f"w{w}-{k}" for w in (1, 2) for k in range(15)}
    assert set(surfaces) == expected  # 31 of 31
    # and each surface holds its worker's last save of it
    assert surfaces["w1-14"].H_canvas_to_projector[0, 2] == 59.0
    assert surfaces["w2-0"].H_canvas_to_projector[0, 2] == 45.0


def test_update_with_a_function_sees_the_current_file(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    update_calibration(path, "a", surface(1))  # creates the file
    saved = update_calibration(
        path, lambda cal: CalibrationFile(surfaces=cal.surfaces, venue="Old Town Hall")
    )
    assert saved == load_calibration(path)
    assert saved.venue == "Old Town Hall" and list(saved.surfaces) == ["a"]


def test_update_refuses_to_touch_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    path.write_text("schema_version = 1\n[surfaces.a]\noutput = 3\n")
    before = path.read_bytes()
    with pytest.raises(ValidationError):
        update_calibration(path, "b", surface(1))
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- stale saves


def test_saving_a_stale_copy_is_refused_and_the_other_save_survives(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    save_calibration(path, CalibrationFile(surfaces={"a": surface(1)}))
    mine = load_calibration(path)
    update_calibration(path, "b", surface(2))  # someone else, meanwhile
    with pytest.raises(StaleCalibrationError, match="changed on disk since it was loaded"):
        save_calibration(path, with_surface(mine, "a", surface(3)))
    assert set(load_calibration(path).surfaces) == {"a", "b"}
    assert load_calibration(path).surfaces["a"] == surface(1)


def test_saving_a_fresh_copy_or_the_copy_a_save_returned_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    saved = save_calibration(path, CalibrationFile(surfaces={"a": surface(1)}))
    saved = save_calibration(path, with_surface(saved, "b", surface(2)))
    loaded = load_calibration(path)
    save_calibration(path, with_surface(loaded, "c", surface(3)))
    assert set(load_calibration(path).surfaces) == {"a", "b", "c"}
    assert len(history_files(path)) == 2


# --------------------------------------------------------------------------- temp files


def test_temporary_files_are_renamed_within_their_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.replace across file systems fails (EXDEV) or, done as a copy, is not atomic:
    # every temporary file must sit in the folder of the file it replaces.
    path = tmp_path / "venues" / "venue.toml"
    save_calibration(path, CalibrationFile(surfaces={"a": surface(1)}))
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def recording_replace(src: str | Path, dst: str | Path) -> None:
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    update_calibration(path, "b", surface(2))
    assert len(renames) == 2  # the history copy, then the file itself
    for src, dst in renames:
        assert src.parent == dst.parent
        assert src.name.startswith(f".{dst.name}.") and src.name.endswith(".tmp")
    assert {dst for _, dst in renames} == {path, history_files(path)[0]}


def test_a_symlinked_calibration_file_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "venue.toml"
    save_calibration(real, CalibrationFile(surfaces={"a": surface(1)}))
    link = tmp_path / "show" / "venue.toml"
    link.parent.mkdir()
    link.symlink_to(real)
    update_calibration(link, "b", surface(2))
    assert link.is_symlink()
    assert set(load_calibration(real).surfaces) == {"a", "b"}
    assert history_files(link) == history_files(real) != []


# --------------------------------------------------------------------------- full disk


@pytest.mark.parametrize("where", ["history copy", "new file"])
def test_a_full_disk_leaves_the_file_and_history_intact_and_no_partial_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    path = tmp_path / "venue.toml"
    for i in range(3):
        save_calibration(path, CalibrationFile(surfaces={"a": surface(i)}))
    before = path.read_bytes()
    files_before = every_file(tmp_path)
    history_before = history_files(path)
    assert len(history_before) == 2

    real_write = os.write

    def write_until_full(fd: int, data: bytes) -> int:
        target = os.readlink(f"/proc/self/fd/{fd}")
        in_history = f"/{store.HISTORY_DIR_NAME}/" in target
        if in_history == (where == "history copy"):
            # a few bytes reach the disk, then it is full
            if os.fstat(fd).st_size == 0:
                return real_write(fd, bytes(data[:7]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_until_full)
    with pytest.raises(OSError) as info:
        update_calibration(path, "b", surface(9))
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert every_file(tmp_path) == files_before  # no truncated copy, no temporary file
    assert history_files(path) == history_before
    assert [e.problem for e in list_history(path)] == [None, None]


def test_history_listing_ignores_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    for i in range(2):
        save_calibration(path, CalibrationFile(surfaces={"a": surface(i)}))
    (copy,) = history_files(path)
    (copy.parent / f".{copy.name}.0123456789ab.tmp").write_text("schema_vers")
    assert history_files(path) == [copy]
    assert len(list_history(path)) == 1


# --------------------------------------------------------------------------- history


def test_history_lists_versions_newest_first_and_restores_one_undoably(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    versions = [
        CalibrationFile(surfaces={"a": surface(1, "corner-pin")}),
        CalibrationFile(surfaces={"a": surface(2, "point-pairs"), "b": surface(3)}),
        CalibrationFile(surfaces={"a": surface(4, "structured-light")}),
    ]
    for version in versions:
        save_calibration(path, version)

    entries = list_history(path)
    assert [e.number for e in entries] == [1, 2]
    assert [dict(e.methods) for e in entries] == [
        {"a": "point-pairs", "b": "manual"},
        {"a": "corner-pin"},
    ]
    assert entries[0].saved > entries[1].saved

    restore_history(path, 2)
    assert load_calibration(path) == versions[0]
    # the version the restore replaced is now the newest history entry: undo the restore
    assert dict(list_history(path)[0].methods) == {"a": "structured-light"}
    restore_history(path, 1)
    assert load_calibration(path) == versions[2]


def test_history_entries_can_be_named_by_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    for i in range(3):
        save_calibration(path, CalibrationFile(surfaces={"a": surface(i)}))
    oldest = list_history(path)[-1]
    iso = oldest.saved.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert find_history(path, iso) == oldest
    with pytest.raises(LookupError, match="no history version 7; there are 2"):
        find_history(path, 7)
    with pytest.raises(LookupError, match="no history version saved at"):
        find_history(path, "1999-01-01T00:00")


def test_restoring_an_invalid_history_copy_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    for i in range(2):
        save_calibration(path, CalibrationFile(surfaces={"a": surface(i)}))
    (copy,) = history_files(path)
    copy.write_text("schema_version = 1\n[surfaces.a]\n")
    before = path.read_bytes()
    assert "missing" in list_history(path)[0].problem
    with pytest.raises(ValidationError):
        restore_history(path, 1)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- metadata


def test_fit_metadata_and_point_pairs_round_trip_bit_exact(tmp_path: Path) -> None:
    path = tmp_path / "venue.toml"
    rng = np.random.default_rng(1)
    pairs_canvas_px = rng.uniform(0, 1600, (9, 2))
    pairs_projector_px = rng.uniform(0, 1280, (9, 2))
    fitted = SurfaceCalibration(
        output="left",
        H_canvas_to_projector=np.array([[1.1, 0.02, 5.0], [0.0, 0.9, -3.0], [1e-5, 0.0, 1.0]]),
        method="point-pairs",
        residual_rms_px=0.1 + 0.2,
        residual_max_px=0.71,
        points=9,
        updated="2026-11-26T07:00:00Z",
        pairs_canvas_px=pairs_canvas_px,
        pairs_projector_px=pairs_projector_px,
    )
    save_calibration(path, CalibrationFile(surfaces={"wall": fitted}))
    loaded = load_calibration(path).surfaces["wall"]
    assert loaded == fitted
    assert loaded.pairs_canvas_px.tobytes() == pairs_canvas_px.tobytes()
    text = path.read_text()
    assert "residual_max_px = 0.71" in text
    first = f"[{float(pairs_canvas_px[0, 0])!r}, {float(pairs_canvas_px[0, 1])!r}]"
    assert f"pairs_canvas_px = [\n    {first},\n" in text  # one point a line


def test_a_version_1_file_from_before_the_new_metadata_still_loads(tmp_path: Path) -> None:
    # Kept as written by the first release of the calibration store.
    fixture = FIXTURES / "calibration-v1-2026-11.toml"
    cal = load_calibration(fixture)
    wing = cal.surfaces["right-wing"]
    assert wing.method == "point-pairs" and wing.points == 12 and wing.residual_rms_px == 0.41
    assert wing.residual_max_px is None and wing.pairs_canvas_px is None
    # and it is saved back without gaining keys it did not have
    copy = tmp_path / "venue.toml"
    shutil.copy(fixture, copy)
    save_calibration(copy, load_calibration(copy))
    assert "pairs_" not in copy.read_text() and "residual_max_px" not in copy.read_text()
    assert load_calibration(copy) == cal


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("pairs_canvas_px = [[0, 0], [1, 0]]", "pairs_projector_px", "needs pairs_projector_px"),
        (
            "pairs_canvas_px = [[0, 0], [1, 0]]\npairs_projector_px = [[0, 0]]",
            "pairs_projector_px",
            "expected 2 points, one for each of pairs_canvas_px, got 1",
        ),
        (
            "pairs_canvas_px = [[0, 0], [1]]\npairs_projector_px = [[0, 0], [1, 1]]",
            "pairs_canvas_px",
            "expected a list of [x, y] points",
        ),
        ("residual_max_px = -1", "residual_max_px", "expected a number at least 0.0, got -1"),
    ],
)
def test_bad_metadata_is_reported_with_key_and_line(
    tmp_path: Path, extra: str, key: str, words: str
) -> None:
    path = tmp_path / "venue.toml"
    path.write_text(
        'schema_version = 1\n\n[surfaces.wall]\noutput = "left"\n'
        "H_canvas_to_projector = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n"
        f"{extra}\n"
    )
    with pytest.raises(ValidationError) as info:
        load_calibration(path)
    (problem,) = info.value.problems
    assert problem.key_path == f"surfaces.wall.{key}"
    assert words in problem.message
    assert problem.line is not None and problem.line >= 3
