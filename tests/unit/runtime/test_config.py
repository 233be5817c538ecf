from __future__ import annotations

from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from veilleur.runtime.config import (
    ConfigError,
    DensiteRule,
    FranchissementRule,
    ParamsError,
    load_params_section,
    load_site_config,
    parse_site_config,
)


def site(**camera: Any) -> dict[str, Any]:
    cam: dict[str, Any] = {
        "id": "cam-01",
        "source": {"url": "clip.mp4"},
        "zones": [
            {"id": "z", "kind": "polygon", "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]},
            {"id": "l", "kind": "line", "points": [[0.5, 0.0], [0.5, 1.0]]},
        ],
        "rules": [{"id": "r", "type": "franchissement", "zone": "z"}],
    }
    cam.update(camera)
    return {"version": 1, "site": {"name": "Démo"}, "cameras": [cam]}


@pytest.mark.req("EX-036", "EX-052")
@pytest.mark.parametrize(
    ("camera", "expectation", "message"),
    [
        ({}, does_not_raise(), None),
        ({"analysis_fps": 30}, pytest.raises(ConfigError), "cameras.0.analysis_fps"),
        ({"colour": "red"}, pytest.raises(ConfigError), "cameras.0.colour: unknown field"),
        (
            {"rules": [{"id": "r", "type": "franchissement", "zone": "nowhere"}]},
            pytest.raises(ConfigError),
            "refers to zone 'nowhere'",
        ),
        (
            {"rules": [{"id": "r", "type": "densite", "zone": "l", "max_count": 3}]},
            pytest.raises(ConfigError),
            "needs a polygon zone",
        ),
        (
            {"rules": [{"id": "r", "type": "teleportation", "zone": "z"}]},
            pytest.raises(ConfigError),
            "cameras.0.rules.0",
        ),
        (
            {"zones": [{"id": "z", "kind": "polygon", "points": [[0.1, 0.1], [0.2, 0.2]]}]},
            pytest.raises(ConfigError),
            "at least 3 points",
        ),
        (
            {"zones": [{"id": "z", "kind": "polygon", "points": [[0, 0], [1.5, 0], [0, 1]]}]},
            pytest.raises(ConfigError),
            "cameras.0.zones.0.points.1.0",
        ),
        (
            {"zones": [{"id": "l", "kind": "line", "points": [[0.2, 0.2], [0.2, 0.2]]}]},
            pytest.raises(ConfigError),
            "two identical points",
        ),
    ],
)
def test_site_config_validation(camera: dict[str, Any], expectation: Any, message: str | None):
    with expectation as exc:
        cfg = parse_site_config(site(**camera), "site.yaml")
        assert isinstance(cfg.cameras[0].rules[0], FranchissementRule)
    if message is not None:
        assert "site.yaml" in str(exc.value)
        assert message in str(exc.value)


@pytest.mark.req("EX-052")
@pytest.mark.parametrize(
    ("version", "message"),
    [(None, "'version' is missing"), (2, "newer than this runtime"), ("1", "not an integer")],
)
def test_version_is_checked(version: Any, message: str):
    doc = site()
    doc["version"] = version
    with pytest.raises(ConfigError, match=message):
        parse_site_config(doc)


def test_rule_union_resolves_type_and_defaults():
    cfg = parse_site_config(
        site(rules=[{"id": "d", "type": "densite", "zone": "z", "max_count": 4}])
    )
    rule = cfg.cameras[0].rules[0]
    assert isinstance(rule, DensiteRule)
    assert (rule.max_count, rule.min_duration_s, rule.classes) == (4, 2.0, ["person"])


def test_digest_changes_with_content():
    a = parse_site_config(site())
    b = parse_site_config(site(analysis_fps=5))
    assert a.digest() == parse_site_config(site()).digest()
    assert a.digest() != b.digest()
    assert len(a.digest()) == 16


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nsite: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_load_reports_file(tmp_path: Path, text: str, message: str):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        load_site_config(p)
    assert str(p) in str(exc.value)


def test_load_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_site_config(tmp_path / "absent.yaml")


def test_load_roundtrip(tmp_path: Path):
    p = tmp_path / "ok.yaml"
    p.write_text(yaml.safe_dump(site()))
    assert load_site_config(p).cameras[0].id == "cam-01"


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    epochs: int = Field(3, ge=1)
    lr: float = 0.01


@pytest.mark.parametrize(
    ("text", "expected", "message"),
    [
        ("stage:\n  epochs: 7\n", _Stage(epochs=7), None),
        ("other: {a: 1}\n", _Stage(), None),
        ("stage:\n", _Stage(), None),
        ("stage:\n  epoch: 7\n", None, "'stage' section (1 error(s))\n  - epoch: unknown field"),
        ("stage:\n  epochs: 0\n", None, "  - epochs: Input should be greater than or equal to 1"),
        ("stage: [1, 2]\n", None, "section 'stage' must be a mapping"),
        ("- a\n", None, "expected a mapping of sections"),
        ("stage: {\n", None, "not valid YAML"),
        (None, None, "cannot read the parameters"),
    ],
)
def test_load_params_section(tmp_path: Path, text: str | None, expected: Any, message: str | None):
    path = tmp_path / "params.yaml"
    if text is not None:
        path.write_text(text)
    if message is None:
        assert load_params_section(path, "stage", _Stage) == expected
    else:
        with pytest.raises(ParamsError) as exc:
            load_params_section(path, "stage", _Stage)
        assert str(path) in str(exc.value) and message in str(exc.value)
    assert load_params_section(None, "stage", _Stage) == _Stage()
