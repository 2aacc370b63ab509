"""docs/osc.md is generated from the registry and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from mapping.control.builtin import build_registry
from mapping.control.osc_docs import render
from tests.conftest import REPO

DOC = REPO / "docs" / "osc.md"


def test_docs_osc_md_is_what_the_generator_writes_today():
    assert DOC.read_text() == render(), (
        "docs/osc.md is stale: run  python -m mapping.control.osc_docs > docs/osc.md"
    )


def test_the_generator_runs_as_a_module():
    out = subprocess.run(
        [sys.executable, "-m", "mapping.control.osc_docs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out == DOC.read_text()


def test_every_registered_address_is_documented_with_its_type_tags():
    text = DOC.read_text()
    for spec in build_registry():
        assert f"### `{spec.address}`" in text, spec.address
    for heading in (
        "### `/go` `[s]`",
        "### `/stop`",
        "### `/panic` `[f]`",
        "### `/back` `[s]`",
        "### `/cue/{cue}/start`",
        "### `/cue/{cue}/load`",
        "### `/master` `f [f]`",
        "### `/blackout` `i`",
        "### `/layer/{layer}/opacity` `f [f]`",
        "### `/layer/{layer}/param/{param}` `f [f]`",
        "### `/surface/{surface}/visible` `i`",
        "### `/output/{output}/testpattern` `s`",
        "### `/show/load` `s`",
    ):
        assert heading in text, heading
