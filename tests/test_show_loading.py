"""Loading a valid show folder: what ``show.toml`` turns into, and how its cues play.

Every test works on a fresh copy of ``shows/demo`` (with ``shows/calibrations`` next to it,
since the demo's right wing uses ``../calibrations/demo-venue.toml``), edited as text where
a test needs a variant. No GL is needed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calibration.store import load_calibration
from mapping import geometry
from mapping.cues import CueEngine
from mapping.show import Show, load_show

REPO = Path(__file__).resolve().parents[1]

WING_POLYGON = [[100, 150], [800, 150], [800, 900], [100, 900]]
WING_CORNERS = [[96, 38], [1188, 84], [1214, 700], [70, 684]]
WINDOW_POLYGON = [[380, 260], [520, 260], [520, 440], [380, 440]]
WINDOW_CORNERS = [[543.1, 147.2], [765.8, 153.6], [768.3, 304.0], [543.1, 296.0]]
CORNICE_POLYGON = [[800, 150], [1500, 150], [1500, 210], [1150, 230], [800, 210]]
CORNICE_H = [
    [1.449728729, -0.036812336, -1073.693598163],
    [-0.055994721, 0.777291943, -4.658402439],
    [-3.9562e-05, -6.1418e-05, 1.0],
]


@pytest.fixture
def demo(show_dir: Path) -> Show:
    return load_show(show_dir)


def edit(file: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur exactly once) with ``new`` in a text file."""
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    file.write_text(text.replace(old, new), encoding="utf-8")


def opacities(engine: CueEngine, show_time_s: float) -> dict[str, float]:
    return {lf.layer.name: lf.opacity for lf in engine.tick(show_time_s).layers}


# --- the show, its canvas and its outputs ---------------------------------------------------


def test_demo_show_loads_with_its_name_canvas_and_reference(demo: Show, show_dir: Path) -> None:
    assert demo.name == "Demo facade"
    assert demo.root == show_dir
    assert demo.file == show_dir / "show.toml"
    assert demo.canvas.size_px == (1600, 900)
    assert demo.canvas.reference == (show_dir / "media" / "facade.png").resolve()


def test_a_show_can_be_loaded_by_its_folder_or_by_its_show_toml(show_dir: Path) -> None:
    assert load_show(show_dir / "show.toml").name == load_show(str(show_dir)).name


def test_name_defaults_to_the_folder_name(show_dir: Path) -> None:
    edit(show_dir / "show.toml", 'name = "Demo facade"\n', "")
    assert load_show(show_dir).name == "demo"


def test_outputs_are_the_projectors_in_file_order(demo: Show) -> None:
    assert [(o.name, o.resolution, o.display, o.position) for o in demo.outputs] == [
        ("left", (1280, 720), 0, (0, 0)),
        ("right", (1280, 720), 1, (0, 0)),
    ]
    assert demo.output("right").display == 1


def test_output_display_and_position_default_to_zero(show_dir: Path) -> None:
    right_output = "display = 1\nposition = [0, 0]               # top-left on its display\n"
    edit(show_dir / "show.toml", right_output, "display = 1\nposition = [1920, -8]\n")
    assert load_show(show_dir).output("right").position == (1920, -8)
    edit(show_dir / "show.toml", "display = 1\nposition = [1920, -8]\n", "")
    right = load_show(show_dir).output("right")
    assert (right.display, right.position) == (0, (0, 0))


# --- surfaces -------------------------------------------------------------------------------


def test_surfaces_keep_file_order_outputs_and_polygons(demo: Show) -> None:
    assert [(s.name, s.output, s.mapping) for s in demo.surfaces] == [
        ("left-wing", "left", "corners"),
        ("right-wing", "right", "calibration"),
        ("window-left-top-centre", "left", "corners"),
        ("cornice-right", "right", "homography"),
        ("pier-left", "left", "corners"),
        ("pier-right", "right", "calibration"),
    ]
    np.testing.assert_array_equal(demo.surfaces[0].polygon_canvas_px, WING_POLYGON)
    np.testing.assert_array_equal(demo.surfaces[3].polygon_canvas_px, CORNICE_POLYGON)
    assert [s.name for s in demo.surfaces_on("left")] == [
        "left-wing",
        "window-left-top-centre",
        "pier-left",
    ]


@pytest.mark.parametrize(
    ("index", "polygon", "corners"),
    [(0, WING_POLYGON, WING_CORNERS), (2, WINDOW_POLYGON, WINDOW_CORNERS)],
)
def test_corner_pin_maps_the_polygon_corners_onto_the_given_projector_corners(
    demo: Show, index: int, polygon: list, corners: list
) -> None:
    surface = demo.surfaces[index]
    assert surface.mapping == "corners"
    mapped_projector_px = geometry.apply_homography(surface.H_canvas_to_projector, polygon)
    np.testing.assert_allclose(mapped_projector_px, corners, rtol=0, atol=1e-6)
    np.testing.assert_allclose(surface.polygon_projector_px, corners, rtol=0, atol=1e-6)
    assert surface.H_canvas_to_projector[2, 2] == 1.0


def test_corner_pin_of_a_non_quad_pins_its_bounding_box_tl_tr_br_bl(show_dir: Path) -> None:
    corners = [[10, 20], [1200, 30], [1190, 200], [15, 190]]
    edit(
        show_dir / "show.toml",
        "homography = [\n  [1.449728729, -0.036812336, -1073.693598163],\n"
        "  [-0.055994721, 0.777291943, -4.658402439],\n"
        "  [-3.9562e-05, -6.1418e-05, 1.0],\n]\n",
        f"corners = {corners}\n",
    )
    cornice = load_show(show_dir).surfaces[3]
    assert cornice.mapping == "corners"
    bbox_canvas_px = [[800, 150], [1500, 150], [1500, 230], [800, 230]]
    mapped = geometry.apply_homography(cornice.H_canvas_to_projector, bbox_canvas_px)
    np.testing.assert_allclose(mapped, corners, rtol=0, atol=1e-6)


def test_pins_choose_which_canvas_points_the_corners_pin(show_dir: Path) -> None:
    pins = [[200, 200], [700, 200], [700, 800], [200, 800]]
    edit(
        show_dir / "show.toml",
        "corners = [[96, 38], [1188, 84], [1214, 700], [70, 684]]",
        f"pins = {pins}\ncorners = [[96, 38], [1188, 84], [1214, 700], [70, 684]]",
    )
    wing = load_show(show_dir).surfaces[0]
    mapped = geometry.apply_homography(wing.H_canvas_to_projector, pins)
    np.testing.assert_allclose(mapped, WING_CORNERS, rtol=0, atol=1e-6)


def test_calibration_surface_takes_its_H_from_the_shared_calibration_file(
    demo: Show, show_dir: Path
) -> None:
    cal_file = (show_dir.parent / "calibrations" / "demo-venue.toml").resolve()
    right_wing = demo.surfaces[1]
    assert right_wing.mapping == "calibration"
    assert right_wing.calibration_file == cal_file
    expected = load_calibration(cal_file).surfaces["right-wing"].H_canvas_to_projector
    np.testing.assert_array_equal(right_wing.H_canvas_to_projector, expected)


def test_calibration_entry_can_be_named_and_the_reference_can_be_a_plain_path(
    show_dir: Path,
) -> None:
    cal_file = show_dir.parent / "calibrations" / "demo-venue.toml"
    cal_file.write_text(
        cal_file.read_text(encoding="utf-8") + '\n[surfaces.east-wing]\noutput = "right"\n'
        "H_canvas_to_projector = [[2.0, 0.0, 5.0], [0.0, 2.0, 7.0], [0.0, 0.0, 1.0]]\n",
        encoding="utf-8",
    )
    edit(
        show_dir / "show.toml",
        'calibration = { file = "../calibrations/demo-venue.toml" }',
        'calibration = { file = "../calibrations/demo-venue.toml", surface = "east-wing" }',
    )
    named = load_show(show_dir).surfaces[1]
    np.testing.assert_array_equal(named.H_canvas_to_projector, [[2, 0, 5], [0, 2, 7], [0, 0, 1]])

    edit(
        show_dir / "show.toml",
        'calibration = { file = "../calibrations/demo-venue.toml", surface = "east-wing" }',
        'calibration = "../calibrations/demo-venue.toml"',
    )
    by_path = load_show(show_dir).surfaces[1]
    assert by_path.mapping == "calibration"
    assert by_path.H_canvas_to_projector[0, 2] == -1073.693598163


def test_homography_surface_has_the_given_H(demo: Show) -> None:
    cornice = demo.surfaces[3]
    assert cornice.mapping == "homography"
    np.testing.assert_array_equal(cornice.H_canvas_to_projector, CORNICE_H)
    np.testing.assert_allclose(
        cornice.H_projector_to_canvas @ cornice.H_canvas_to_projector, np.eye(3), atol=1e-12
    )


def test_a_given_homography_is_normalised_to_H22_equal_1(show_dir: Path) -> None:
    edit(
        show_dir / "show.toml",
        "homography = [\n  [1.449728729, -0.036812336, -1073.693598163],\n"
        "  [-0.055994721, 0.777291943, -4.658402439],\n"
        "  [-3.9562e-05, -6.1418e-05, 1.0],\n]",
        "homography = [[4.0, 0.0, 20.0], [0.0, 4.0, 40.0], [0.0, 0.0, 2.0]]",
    )
    H = load_show(show_dir).surfaces[3].H_canvas_to_projector
    np.testing.assert_array_equal(H, [[2, 0, 10], [0, 2, 20], [0, 0, 1]])


def test_surface_arrays_are_read_only(demo: Show) -> None:
    for surface in demo.surfaces:
        assert surface.H_canvas_to_projector.dtype == np.float64
        assert not surface.H_canvas_to_projector.flags.writeable
        assert not surface.polygon_canvas_px.flags.writeable


# --- layers ---------------------------------------------------------------------------------


def test_layers_bottom_to_top_with_kinds_content_and_defaults(demo: Show, show_dir: Path) -> None:
    sky, clip, logo, wash, tide = demo.layers
    assert [la.name for la in demo.layers] == ["sky", "clip", "logo", "warm-wash", "tide"]
    assert (tide.kind, tide.content) == ("isf", (show_dir / "shaders" / "tide.fs").resolve())
    assert [(f.name, f.file.name, dict(f.params)) for f in clip.filters] == [
        ("ripple", "ripple.fs", {"strength": 0.6})
    ]
    assert clip.params["ripple.strength"] == 0.6  # the filter's inputs are layer parameters
    assert (sky.kind, sky.content) == ("shader", (show_dir / "shaders" / "aurora.glsl").resolve())
    assert (clip.kind, clip.content) == ("video", (show_dir / "media" / "clip.mp4").resolve())
    assert (logo.kind, logo.content) == ("image", (show_dir / "media" / "logo.png").resolve())
    assert wash.kind == "solid"
    assert wash.content == pytest.approx((255 / 255, 217 / 255, 168 / 255, 1.0))
    # defaults: opacity 1, blend normal, region = the whole canvas, loop on
    assert (sky.opacity, sky.blend, sky.region_canvas_px, sky.loop) == (
        1.0,
        "normal",
        (0.0, 0.0, 1600.0, 900.0),
        True,
    )
    assert (clip.opacity, clip.blend, clip.region_canvas_px) == (
        0.0,
        "screen",
        (130, 240, 640, 360),
    )
    assert (logo.blend, logo.region_canvas_px) == ("normal", (1000, 330, 300, 300))
    assert (wash.opacity, wash.blend) == (0.0, "multiply")


@pytest.mark.parametrize(
    ("toml_colour", "rgba"),
    [
        ('"#ffd9a8"', (1.0, 217 / 255, 168 / 255, 1.0)),
        ('"#FF000080"', (1.0, 0.0, 0.0, 128 / 255)),
        ("[0.5, 0.25, 0]", (0.5, 0.25, 0.0, 1.0)),
        ("[1, 1, 1, 0.5]", (1.0, 1.0, 1.0, 0.5)),
    ],
)
def test_solid_colour_forms(show_dir: Path, toml_colour: str, rgba: tuple) -> None:
    edit(show_dir / "show.toml", 'color = "#ffd9a8"', f"color = {toml_colour}")
    assert load_show(show_dir).layer("warm-wash").content == pytest.approx(rgba)


def test_loop_can_be_switched_off(show_dir: Path) -> None:
    edit(show_dir / "show.toml", 'blend = "screen"', 'blend = "screen"\nloop = false')
    assert load_show(show_dir).layer("clip").loop is False


# --- cues -----------------------------------------------------------------------------------


def test_cues_are_parsed_with_fades_and_layer_changes(demo: Show) -> None:
    assert [(c.name, c.fade_s) for c in demo.cues] == [
        ("preshow", 0.0),
        ("clip", 2.0),
        ("emblem", 1.0),
        ("out", 3.0),
    ]
    changes = {
        c.name: {n: (ch.opacity, ch.content) for n, ch in c.layers.items()} for c in demo.cues
    }
    assert changes["preshow"] == {"sky": (0.4, None)}
    assert changes["clip"] == {"sky": (1.0, None), "clip": (1.0, None), "tide": (0.5, None)}
    embers = demo.root / "shaders" / "embers.fs"
    assert changes["emblem"] == {
        "logo": (1.0, None),
        "warm-wash": (0.6, None),
        "clip": (None, None),
        "tide": (None, embers.resolve()),
    }
    emblem = demo.cues[2]
    assert emblem.layers["clip"].params == {"ripple.strength": 0.0}
    tide = emblem.layers["tide"]
    assert (tide.fade_s, tide.transition.file.name, dict(tide.transition.params)) == (
        4.0,
        "sweep.fs",
        {"softness": 0.2},
    )
    layers = ("sky", "clip", "logo", "warm-wash", "tide")
    assert changes["out"] == {n: (0.0, None) for n in layers}
    assert demo.cue_index("emblem") == 2


def test_a_cue_can_change_a_layers_content(show_dir: Path) -> None:
    edit(
        show_dir / "show.toml",
        "[cues.layers.logo]\nopacity = 1.0",
        '[cues.layers.logo]\nfile = "media/facade.png"\n'
        '[cues.layers.sky]\nshader = "shaders/aurora.glsl"',
    )
    edit(
        show_dir / "show.toml",
        "[cues.layers.warm-wash]\nopacity = 0.6",
        '[cues.layers.warm-wash]\ncolor = "#000000"',
    )
    show = load_show(show_dir)
    emblem = show.cues[show.cue_index("emblem")]
    assert emblem.layers["logo"].content == (show_dir / "media" / "facade.png").resolve()
    assert emblem.layers["logo"].opacity is None  # not named: left as it is
    assert emblem.layers["sky"].content == (show_dir / "shaders" / "aurora.glsl").resolve()
    assert emblem.layers["warm-wash"].content == (0.0, 0.0, 0.0, 1.0)
    assert ("cues[2].layers.logo.file", (show_dir / "media" / "facade.png").resolve()) in (
        show.media_files()
    )


def test_every_file_the_show_needs_is_listed_with_its_key_path(demo: Show, show_dir: Path) -> None:
    assert demo.media_files() == [
        ("canvas.reference", (show_dir / "media" / "facade.png").resolve()),
        ("layers[0].shader", (show_dir / "shaders" / "aurora.glsl").resolve()),
        ("layers[1].file", (show_dir / "media" / "clip.mp4").resolve()),
        ("layers[2].file", (show_dir / "media" / "logo.png").resolve()),
        ("layers[4].shader", (show_dir / "shaders" / "tide.fs").resolve()),
        ("cues[2].layers.tide.shader", (show_dir / "shaders" / "embers.fs").resolve()),
        ("layers[1].filters[0].shader", (show_dir / "shaders" / "ripple.fs").resolve()),
        ("cues[2].layers.tide.transition", (show_dir / "shaders" / "sweep.fs").resolve()),
    ]


def test_before_any_cue_layers_show_their_file_opacity(demo: Show) -> None:
    engine = CueEngine(demo)
    frame = engine.tick(5.0)
    assert frame.cue is None
    assert opacities(engine, 5.0) == {
        "sky": 1.0,
        "clip": 0.0,
        "logo": 0.0,
        "warm-wash": 0.0,
        "tide": 0.0,
    }


@pytest.mark.parametrize(
    ("cue", "expected"),
    [
        ("preshow", {"sky": 0.4, "clip": 0.0, "logo": 0.0, "warm-wash": 0.0, "tide": 0.0}),
        ("clip", {"sky": 1.0, "clip": 1.0, "logo": 0.0, "warm-wash": 0.0, "tide": 0.5}),
        # emblem sets no opacity of sky, clip and tide: they track from "clip"
        ("emblem", {"sky": 1.0, "clip": 1.0, "logo": 1.0, "warm-wash": 0.6, "tide": 0.5}),
        ("out", {"sky": 0.0, "clip": 0.0, "logo": 0.0, "warm-wash": 0.0, "tide": 0.0}),
    ],
)
def test_cues_track_like_a_lighting_desk(demo: Show, cue: str, expected: dict) -> None:
    engine = CueEngine.at_cue(demo, cue)
    assert engine.tick(0.0).cue.endswith(" " + cue)
    assert opacities(engine, 0.0) == pytest.approx(expected)


def test_a_fade_is_linear_in_show_time_and_then_holds(demo: Show) -> None:
    engine = CueEngine.at_cue(demo, "preshow")
    engine.start("clip", 10.0)  # fade = 2.0: sky 0.4 → 1.0, clip 0.0 → 1.0
    assert opacities(engine, 10.0) == pytest.approx(
        {"sky": 0.4, "clip": 0.0, "logo": 0, "warm-wash": 0, "tide": 0}
    )
    assert opacities(engine, 11.0)["sky"] == pytest.approx(0.7)
    assert opacities(engine, 11.0)["clip"] == pytest.approx(0.5)
    assert opacities(engine, 11.5)["clip"] == pytest.approx(0.75)
    assert opacities(engine, 12.0)["sky"] == pytest.approx(1.0)
    assert opacities(engine, 500.0) == pytest.approx(
        {"sky": 1.0, "clip": 1.0, "logo": 0, "warm-wash": 0, "tide": 0.5}
    )
    assert engine.tick(11.0).cue == "2 clip"


def test_a_cue_fired_mid_fade_fades_from_where_the_layer_is(demo: Show) -> None:
    engine = CueEngine.at_cue(demo, "preshow")
    engine.start("clip", 10.0)  # 2 s fade up
    engine.start("out", 11.0)  # 3 s fade out, starting from sky 0.7, clip 0.5
    assert opacities(engine, 11.0)["sky"] == pytest.approx(0.7)
    assert opacities(engine, 12.5)["sky"] == pytest.approx(0.35)
    assert opacities(engine, 12.5)["clip"] == pytest.approx(0.25)
    assert opacities(engine, 14.0) == pytest.approx(
        {"sky": 0, "clip": 0, "logo": 0, "warm-wash": 0, "tide": 0}
    )


def test_layers_a_cue_does_not_name_finish_their_running_fade(demo: Show) -> None:
    engine = CueEngine.at_cue(demo, "preshow")
    engine.start("clip", 10.0)  # sky fades 0.4 → 1.0 over 2 s
    engine.start("emblem", 11.0)  # sets the opacity of logo and warm-wash only (1 s fade)
    assert opacities(engine, 11.5)["sky"] == pytest.approx(0.85)
    assert opacities(engine, 11.5)["logo"] == pytest.approx(0.5)
    assert opacities(engine, 11.5)["warm-wash"] == pytest.approx(0.3)
    assert opacities(engine, 12.0) == pytest.approx(
        {"sky": 1, "clip": 1, "logo": 1, "warm-wash": 0.6, "tide": 0.5}
    )


def test_go_can_override_the_fade_time(demo: Show) -> None:
    engine = CueEngine.at_cue(demo, "emblem")
    engine.goto("out", 20.0, fade_s=0.0)
    assert opacities(engine, 20.0) == dict.fromkeys(
        ("sky", "clip", "logo", "warm-wash", "tide"), 0.0
    )


def test_new_content_restarts_the_layers_media_time(show_dir: Path) -> None:
    edit(
        show_dir / "show.toml",
        "[cues.layers.logo]\nopacity = 1.0",
        '[cues.layers.logo]\nopacity = 1.0\nfile = "media/facade.png"',
    )
    show = load_show(show_dir)
    engine = CueEngine(show)
    engine.start("clip", 4.0)  # no content change: media time keeps counting from 0
    engine.start("emblem", 10.0)
    frame = {lf.layer.name: lf for lf in engine.tick(12.5).layers}
    assert frame["clip"].media_time_s == pytest.approx(12.5)
    assert frame["logo"].content == (show_dir / "media" / "facade.png").resolve()
    assert frame["logo"].media_time_s == pytest.approx(2.5)
