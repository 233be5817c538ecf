"""Configuration compatibility across upgrades (EX-052): a fixture of every schema version,
each migrated to the current one.

``tests/fixtures/config_versions/vN.yaml`` describes one and the same site in the format of
schema version N. When CONFIG_VERSION is bumped, the new version's fixture must be added
(the test of the missing version fails until it is) and every older fixture must still
migrate to exactly the same configuration.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from veilleur.runtime.config import (
    CONFIG_VERSION,
    ArmeRule,
    CompositeRule,
    DensiteRule,
    SiteConfig,
    parse_site_config,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "config_versions"


def load(version: int) -> SiteConfig:
    path = FIXTURES / f"v{version}.yaml"
    assert path.is_file(), (
        f"missing fixture {path.name}: every schema version up to CONFIG_VERSION="
        f"{CONFIG_VERSION} needs one (the same site, written in that version's format)"
    )
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["version"] == version, f"{path.name} declares version {doc['version']}"
    return parse_site_config(doc, str(path))


def test_fixtures_cover_exactly_the_known_versions() -> None:
    found = sorted(
        int(m.group(1))
        for p in FIXTURES.glob("v*.yaml")
        if (m := re.fullmatch(r"v(\d+)\.yaml", p.name))
    )
    assert found == list(range(1, CONFIG_VERSION + 1))


@pytest.mark.req("EX-052")
@pytest.mark.parametrize("version", range(1, CONFIG_VERSION + 1))
def test_every_version_migrates_to_the_current_schema(version: int) -> None:
    site = load(version)
    assert site.version == CONFIG_VERSION
    # every fixture describes the same site: migrated, it equals the current version's file
    assert site == load(CONFIG_VERSION)
    assert site.site.name == "Stade de la Beaujoire — match de gala"
    assert site.model is not None and site.model.adapter == "yolox"
    assert site.model.providers == ["cuda", "cpu"]
    assert str(site.model.class_map_file) == "maps/coco.yaml"
    nord, hall = site.cameras
    assert (nord.id, nord.source.transport, nord.source.is_stream) == (
        "parvis-nord", "udp_multicast", True,
    )  # fmt: skip
    assert nord.calibration is not None and nord.view_monitor.confirm_s == 3
    assert [z.kind for z in nord.zones] == ["polygon", "polygon", "line"]
    assert [r.type for r in nord.rules] == [
        "franchissement", "franchissement", "sens_circulation", "densite", "mouvement_foule",
        "composite",
    ]  # fmt: skip
    assert nord.rules[0].schedule[0].end == "02:00"  # over midnight
    dens = nord.rules[3]
    assert isinstance(dens, DensiteRule) and dens.count_correction == [(0, 0), (20, 24), (40, 55)]
    comp = nord.rules[5]
    assert isinstance(comp, CompositeRule) and comp.window_s == 12
    assert not hall.enabled and not hall.view_monitor.enabled
    assert [r.type for r in hall.rules] == ["objet_abandonne", "arme", "personne_au_sol", "feu"]
    arme = hall.rules[1]
    assert isinstance(arme, ArmeRule) and (arme.k, arme.n) == (2, 4)
    assert hall.rules[2].enabled is False


@pytest.mark.req("EX-052")
def test_a_newer_version_than_supported_is_refused() -> None:
    doc = yaml.safe_load((FIXTURES / f"v{CONFIG_VERSION}.yaml").read_text(encoding="utf-8"))
    doc["version"] = CONFIG_VERSION + 1
    with pytest.raises(ValueError, match="newer than this runtime supports"):
        parse_site_config(doc)
