"""A reloaded show keeps its playback state (CueEngine.adopt through LiveShow.reload; pure,
real show folders, no GL)."""

from __future__ import annotations

import pytest

from mapping.live import LiveShow
from mapping.show import load_show


def edit(show_dir, old: str, new: str) -> None:
    text = (show_dir / "show.toml").read_text()
    assert old in text
    (show_dir / "show.toml").write_text(text.replace(old, new, 1))


def test_a_cue_inserted_before_the_current_one_keeps_current_and_standby(show_dir):
    live = LiveShow(load_show(show_dir))
    live.engine.go(0.0)
    live.engine.go(1.0)  # "clip", fading for 2 s; standby "emblem"
    edit(show_dir, '[[cues]]\nname = "clip"', '[[cues]]\nname = "dusk"\n\n[[cues]]\nname = "clip"')
    live.reload(1.5)
    assert [c.name for c in live.show.cues] == ["preshow", "dusk", "clip", "emblem", "out"]
    assert live.engine.current_cue().name == "clip"
    assert live.engine.standby_cue().name == "emblem"
    assert live.engine.opacity("clip", 2.0) == pytest.approx(0.5)  # the fade goes on
    assert live.engine.progress(2.0) == pytest.approx(0.5)
    live.engine.go(3.0)
    assert live.engine.current_cue().name == "emblem"


def test_an_operator_change_to_a_layer_the_edit_did_not_touch_stays(show_dir):
    live = LiveShow(load_show(show_dir))
    live.engine.go(0.0)
    live.engine.set_opacity("logo", 0.7, 0.0)  # by hand, not in any cue so far
    edit(show_dir, "opacity = 0.4", "opacity = 0.3")  # the preshow cue's sky
    live.reload(1.0)
    assert live.engine.opacity("logo", 1.0) == 0.7
    assert live.engine.opacity("sky", 1.0) == 0.3  # what the edit changed applies at once
    assert live.last_changes and "cue 'preshow' layer changes changed" in str(live.last_changes[0])


def test_the_current_cue_removed_leaves_no_current_cue_and_the_show_goes_on(show_dir):
    live = LiveShow(load_show(show_dir))
    live.engine.go(0.0)
    edit(show_dir, '[[cues]]\nname = "preshow"\n[cues.layers.sky]\nopacity = 0.4\n', "")
    live.reload(1.0)
    assert live.engine.current_cue() is None
    assert live.engine.opacity("sky", 1.0) == pytest.approx(0.4)  # nothing jumps
    live.engine.go(2.0)
    assert live.engine.current_cue().name == "clip"


def test_a_cue_added_after_the_last_one_is_the_next_go(show_dir):
    live = LiveShow(load_show(show_dir))
    live.engine.goto("out", 0.0, fade_s=0.0)
    assert live.engine.standby_cue() is None  # the end of the list
    text = (show_dir / "show.toml").read_text()
    (show_dir / "show.toml").write_text(
        text + '\n[[cues]]\nname = "encore"\n[cues.layers.sky]\nopacity = 1.0\n'
    )
    live.reload(1.0)
    assert live.engine.current_cue().name == "out"
    assert live.engine.standby_cue().name == "encore"
    live.engine.go(2.0)
    assert live.engine.opacity("sky", 2.0) == 1.0
