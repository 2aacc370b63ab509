"""The web panel's view of the live show and what changed since the last push (pure).

:func:`panel_state` reads, on the render thread, the per-frame
:class:`~mapping.player.Status` snapshot (the one OSC feedback compares) and a few things
the pages need beside it: the cue list, the outputs with their test patterns, the surfaces
with their corners in ``projector_px``, the selected corner, undo/redo, the renderer's
content errors, tonight's schedule and, on the controller of a multi-machine show, the
render nodes' health (``nodes``, twice a second). Values are rounded to what a page shows
(progress in steps of 0.01, fps to 0.1), so an unchanged picture sends nothing. :class:`StateDiff`
keeps the last state pushed and returns only the keys that changed.

Structure that only changes with the show (cues, outputs, surfaces) is recomputed when the
live show object changes (a reload, a corner edit), not every frame.
"""

from __future__ import annotations

from typing import Any

from mapping.control.corners import corners_projector_px

SCHEDULE_PERIOD_S = 1.0
NODES_PERIOD_S = 0.5


def _structure(live: Any) -> dict[str, Any]:
    show = live.show
    engine = live.engine
    active = engine.active_list
    return {
        "cues": [
            {"number": c.number, "name": c.name, "label": c.label, "list": c.cue_list}
            for c in show.cues
            if c.cue_list == active
        ],
        "outputs": [
            {"name": o.name, "width": o.resolution[0], "height": o.resolution[1]}
            for o in show.outputs
        ],
        "surfaces": [
            {
                "name": s.name,
                "output": s.output,
                "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in c],
                # mesh warp points across and down, or None (surface.mesh adds one)
                "mesh": None if s.mesh is None else list(s.mesh.offsets_px.shape[1::-1]),
            }
            for s in show.surfaces
            for c in [corners_projector_px(s)]
        ],
        "patterns": list(live.pattern_kinds()),
    }


class StateDiff:
    """The panel state of each frame, and its differences from the last one pushed."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}
        self._structure_key: tuple[int, int, int] | None = None
        self._structure: dict[str, Any] = {}
        self._schedule_at = -1.0e9
        self._schedule: Any = None
        self._nodes_at = -1.0e9
        self._nodes: list[dict[str, Any]] | None = None

    def state(self, player: Any, now_s: float) -> dict[str, Any]:
        """The whole panel state now (render thread)."""
        live = player.live
        status = player.status
        key = (id(live.show), live.generation, id(live.engine))
        if key != self._structure_key:
            self._structure_key = key
            self._structure = _structure(live)
        if now_s - self._schedule_at >= SCHEDULE_PERIOD_S:
            self._schedule_at = now_s
            self._schedule = schedule_line(live)
        cluster = getattr(player, "cluster", None)  # a multi-machine show's controller
        if cluster is not None and now_s - self._nodes_at >= NODES_PERIOD_S:
            self._nodes_at = now_s
            self._nodes = node_lines(cluster.health())
        processor = player.processor
        selected = live.corners.selected
        return {
            "show": status.show,
            "cue": status.cue,
            "next_cue": status.next_cue,
            "progress": round(float(status.progress), 2),
            "master": round(float(status.master), 3),
            "master_target": round(float(live.master.end), 3),
            "blackout": bool(status.blackout),
            "paused": bool(status.paused),
            "locked": bool(status.locked),
            "fps": round(float(status.fps), 1),
            "late_frames": int(status.late_frames),
            "render_failures": int(player.render_failures),
            "clock": int(status.show_time_s),
            "selection": None if selected is None else [selected[0], int(selected[1])],
            "mesh_selection": None
            if live.mesh.selected is None
            else [live.mesh.selected[0], *map(int, live.mesh.selected[1:])],
            "can_undo": processor.can_undo,
            "can_redo": processor.can_redo,
            "errors": dict(player.renderer.errors),
            "reload_error": live.reload_error,
            "test_patterns": {o: (p or "") for o, p in live.patterns.items()},
            "schedule": self._schedule,
            "nodes": self._nodes,
            **self._structure,
        }

    def changes(self, player: Any, now_s: float) -> dict[str, Any]:
        """The keys whose values differ from the last call (everything the first time)."""
        state = self.state(player, now_s)
        changed = {k: v for k, v in state.items() if self.last.get(k, _MISSING) != v}
        self.last = state
        return changed


_MISSING = object()


def node_lines(health: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The render nodes' health as the operator page shows it, rounded so that a steady
    node sends nothing (``ClusterController.health``)."""
    out = []
    for h in health:
        offset = h.get("clock_offset_s")
        cpu = h.get("cpu_load")
        gpu_load = h.get("gpu_load")
        out.append(
            {
                "name": h["name"],
                "state": h["state"],
                "cue": h.get("cue"),
                "late_frames": int(h.get("late_frames") or 0),
                "behind": int(h.get("behind") or 0),
                "clock": h.get("clock_source") or "",
                "clock_alarm": bool(h.get("clock_alarm")),
                "clock_offset_ms": None if offset is None else round(offset * 1000, 1),
                "cpu": None if cpu is None else round(cpu * 20) / 20,
                "gpu": h.get("gpu"),
                "gpu_load": None if gpu_load is None else round(gpu_load * 20) / 20,
                "rejoins": int(h.get("rejoins") or 0),
                "problem": "; ".join(
                    p
                    for p in (
                        h.get("refused"),
                        h.get("files_differ") and f"files: {h['files_differ']}",
                        h.get("clock_reason") if h.get("clock_alarm") else None,
                    )
                    if p
                )
                or None,
            }
        )
    return out


def schedule_line(live: Any) -> str | None:
    """Tonight's schedule in one line (what runs now, what comes next), when one runs."""
    schedule = getattr(live, "schedule", None)
    if schedule is None:
        return None
    try:
        return str(schedule.now().describe())
    except Exception as exc:  # a broken schedule must not stop the panel's frame listener
        return f"schedule: {exc}"
