"""Synthetic CCTV clip generator: determinism, ground truth validity, site files, videos."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from veilleur.data.stages.synth import main as synth_main
from veilleur.data.synth import SCENARIOS, SynthParams, assign_scenarios, generate, generate_clip
from veilleur.data.synth.camera import PinholeCamera
from veilleur.data.synth.params import NEGATIVE_SCENARIOS
from veilleur.runtime.analytics.rules import RuleSet
from veilleur.runtime.config import load_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.taxonomy import CLASSES

EXPECTED_EVENT = {
    "intrusion": (EventType.FRANCHISSEMENT, "zone-interdite"),
    "line_crossing": (EventType.FRANCHISSEMENT, "ligne-quai"),
    "wrong_way": (EventType.SENS_CIRCULATION, "couloir"),
    "density": (EventType.DENSITE, "zone-densite"),
    "crowd_rush": (EventType.MOUVEMENT_FOULE, None),
    "abandoned_bag": (EventType.OBJET_ABANDONNE, None),
    "weapon": (EventType.ARME, None),
    "fall": (EventType.PERSONNE_AU_SOL, None),
    "fire": (EventType.FEU, None),
}
RULE_SCENARIOS = ("intrusion", "line_crossing", "wrong_way", "density")

# Short clips with thresholds scaled down so that every event fits in 5 s.
FAST = SynthParams(
    seed=5,
    duration_s=5.0,
    fall_min_lying_s=1.0,
    abandon_min_s=1.0,
    abandon_distance_m=2.0,
    wrong_way_min_s=1.5,
    density_min_duration_s=0.5,
    preset="ultrafast",
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 5 s clip per scenario (clip i has scenario SCENARIOS[i])."""
    out = tmp_path_factory.mktemp("synth")
    for i, scenario in enumerate(SCENARIOS):
        generate_clip(FAST, i, out, scenario)
    return out


def _clip(bundle: Path, scenario: str) -> str:
    return f"clip_{SCENARIOS.index(scenario) + 1:04d}"  # type: ignore[arg-type]


@pytest.mark.req("EX-006", "EX-007")
def test_params_default_to_4cif_at_12_5_fps() -> None:
    p = SynthParams()
    assert (p.width, p.height, p.fps) == (704, 576, 12.5)
    assert SynthParams(fps=12).fps == 12 and SynthParams(fps=25).fps == 25
    assert SynthParams(width=1280, height=720).width == 1280


@pytest.mark.req("EX-006", "EX-007")
@pytest.mark.parametrize(
    "override",
    [{"fps": 30.0}, {"fps": 10.0}, {"width": 640}, {"width": 705}, {"height": 480}, {"typo": 1}],
)
def test_params_reject_out_of_range(override: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SynthParams(**override)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    params = SynthParams(n_clips=2, seed=11, duration_s=1.5)
    a = generate(params, tmp_path / "a")
    generate(params, tmp_path / "b")
    generate(params.model_copy(update={"seed": 12}), tmp_path / "c")
    names = ["manifest.json"] + [f for c in a.clips for f in (c.coco, c.events, c.site, c.video)]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("clip_0001.coco.json", "clip_0001.events.json", "clip_0001.mp4"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_boxes_are_inside_the_image_with_positive_size(bundle: Path, scenario: str) -> None:
    coco = _load(bundle / f"{_clip(bundle, scenario)}.coco.json")
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    assert [c["id"] for c in coco["categories"]] == list(range(1, len(CLASSES) + 1))
    images = {im["id"]: im for im in coco["images"]}
    assert len(images) == FAST.n_frames
    assert coco["annotations"], "every scenario shows at least one object"
    for ann in coco["annotations"]:
        im = images[ann["image_id"]]
        x, y, w, h = ann["bbox"]
        assert w >= 2 and h >= 2
        assert x >= 0 and y >= 0 and x + w <= im["width"] + 1e-6 and y + h <= im["height"] + 1e-6
        assert 1 <= ann["category_id"] <= len(CLASSES)
        assert ann["iscrowd"] == 0 and isinstance(ann["track_id"], int)
    first = coco["images"][0]
    assert first["file_name"] == f"{_clip(bundle, scenario)}/000000.jpg"
    assert first["frame_index"] == 0 and first["timestamp_s"] == 0.0


def test_a_person_farther_away_is_smaller() -> None:
    cam = PinholeCamera(704, 576, focal_px=500.0, height_m=6.0, tilt_deg=25.0)
    heights = []
    for y in (6.0, 12.0, 24.0):
        uv, _ = cam.project(np.array([[0.0, y, 0.0], [0.0, y, 1.75]]))
        heights.append(uv[0, 1] - uv[1, 1])
    assert heights[0] > heights[1] > heights[2] > 0


def test_boxes_shrink_towards_the_horizon(bundle: Path) -> None:
    coco = _load(bundle / f"{_clip(bundle, 'normal')}.coco.json")
    persons = [a["bbox"] for a in coco["annotations"] if a["category_id"] == 1]
    feet = np.array([y + h for _, y, _, h in persons if y > 0 and y + h < 575])
    heights = np.array([h for _, y, _, h in persons if y > 0 and y + h < 575])
    assert len(feet) > 20
    assert np.corrcoef(feet, heights)[0, 1] > 0.6


@pytest.mark.parametrize("scenario", sorted(EXPECTED_EVENT))
def test_each_scenario_stages_its_event(bundle: Path, scenario: str) -> None:
    doc = _load(bundle / f"{_clip(bundle, scenario)}.events.json")
    kind, zone = EXPECTED_EVENT[scenario]
    matching = [e for e in doc["events"] if e["type"] == kind and e["zone"] == zone]
    assert matching, doc["events"]
    for e in doc["events"]:
        assert 0 <= e["start_s"] < e["end_s"] <= doc["duration_s"] + 1e-6
        assert e["track_ids"]
    assert doc["metadata"]["negative"] is False


@pytest.mark.parametrize("scenario", sorted(NEGATIVE_SCENARIOS))
def test_negative_clips_have_no_event(bundle: Path, scenario: str) -> None:
    doc = _load(bundle / f"{_clip(bundle, scenario)}.events.json")
    assert doc["events"] == []
    assert doc["metadata"]["negative"] is True


@pytest.mark.parametrize("scenario", [*RULE_SCENARIOS, "normal", "hard_negative"])
def test_runtime_rules_on_ground_truth_boxes_match_the_events(bundle: Path, scenario: str) -> None:
    """The site file and the event ground truth use the runtime's geometry conventions."""
    cid = _clip(bundle, scenario)
    site = load_site_config(bundle / f"{cid}.site.yaml")
    coco = _load(bundle / f"{cid}.coco.json")
    doc = _load(bundle / f"{cid}.events.json")
    rules = RuleSet(site.cameras[0])
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    hits = set()
    for im in coco["images"]:
        anns = by_image.get(im["id"], [])
        xyxy = [
            [x / 704, y / 576, (x + w) / 704, (y + h) / 576]
            for x, y, w, h in (a["bbox"] for a in anns)
        ]
        dets = Detections.from_arrays(
            np.reshape(xyxy, (-1, 4)),
            [1.0] * len(anns),
            [a["category_id"] - 1 for a in anns],
            [a["track_id"] for a in anns],
        )
        hits |= {(str(h.event), h.zone) for h in rules.update(dets, im["timestamp_s"])}
    expected = {(e["type"], e["zone"]) for e in doc["events"] if e["zone"] is not None}
    assert hits == expected


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_site_file_is_a_valid_site_configuration(bundle: Path, scenario: str) -> None:
    path = bundle / f"{_clip(bundle, scenario)}.site.yaml"
    site = load_site_config(path)
    cam = site.cameras[0]
    assert (path.parent / cam.source.url).is_file()
    assert {z.id for z in cam.zones} == {
        "zone-interdite", "ligne-quai", "zone-densite", "couloir", "scene"
    }  # fmt: skip
    assert {r.type for r in cam.rules} == {e.value for e in EventType}  # all eight events
    assert cam.calibration is not None
    assert cam.analysis_fps <= FAST.fps
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    line = next(r for r in raw["cameras"][0]["rules"] if r["zone"] == "ligne-quai")
    assert line["direction"] in ("left_to_right", "right_to_left")


@pytest.mark.req("EX-008")
def test_site_calibration_gives_walking_speeds_in_metres(bundle: Path) -> None:
    """Through the clip's calibration, ground-truth walkers move at human speeds (0.8–2 m/s)."""
    clip = _clip(bundle, "line_crossing")
    site = load_site_config(bundle / f"{clip}.site.yaml")
    calibration = site.cameras[0].calibration
    assert calibration is not None
    plane = calibration.ground_plane()
    coco = _load(bundle / f"{clip}.coco.json")
    w, h = coco["images"][0]["width"], coco["images"][0]["height"]
    times = {im["id"]: im["timestamp_s"] for im in coco["images"]}
    feet: dict[int, list[tuple[float, float, float]]] = {}
    for a in coco["annotations"]:
        if a["category_id"] == 1:  # person
            x, y, bw, bh = a["bbox"]
            feet.setdefault(a["track_id"], []).append(
                (times[a["image_id"]], (x + bw / 2) / w, (y + bh) / h)
            )
    speeds = []
    for track in feet.values():
        if len(track) < 12:
            continue
        (t0, *p0), (t1, *p1) = track[0], track[-1]
        speeds.append(plane.distance_m(p0, p1) / (t1 - t0))
    assert speeds
    assert 0.8 < float(np.median(speeds)) < 2.0, speeds


@pytest.mark.req("EX-006", "EX-007")
@pytest.mark.parametrize("fps", [12.5, 25.0])
def test_mp4_decodes_to_the_stated_frames(tmp_path: Path, fps: float) -> None:
    params = SynthParams(duration_s=2.0, fps=fps, seed=3)
    rec = generate_clip(params, 0, tmp_path, "normal")
    with av.open(str(tmp_path / rec.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert Fraction(stream.average_rate) == Fraction(fps)
        frames = list(container.decode(video=0))
    assert len(frames) == params.n_frames
    assert (frames[0].width, frames[0].height) == (704, 576)
    coco = _load(tmp_path / rec.coco)
    assert len(coco["images"]) == len(frames)


@pytest.mark.req("EX-084", "EX-086")
def test_metadata_describes_the_conditions(bundle: Path) -> None:
    seen = set()
    for scenario in SCENARIOS:
        meta = _load(bundle / f"{_clip(bundle, scenario)}.events.json")["metadata"]
        assert meta["scenario"] == scenario
        assert meta["lighting"] in ("day", "dusk", "night")
        assert meta["weather"] in ("clear", "rain", "fog")
        assert meta["density"] in ("low", "medium", "high")
        assert 3.0 <= meta["camera_height_m"] <= 12.0
        assert 15.0 <= meta["camera_tilt_deg"] <= 60.0
        assert meta["focal_px"] > 0
        assert "street_furniture" in meta["hard_negatives"]
        seen.add(meta["lighting"])
    assert len(seen) >= 2


@pytest.mark.req("EX-084", "EX-086")
def test_scenario_mix_covers_every_scenario() -> None:
    mix = assign_scenarios(SynthParams(n_clips=16, seed=1))
    assert set(mix) == set(SCENARIOS)
    assert mix.count("hard_negative") >= 2
    assert assign_scenarios(SynthParams(n_clips=16, seed=1)) == mix
    only = assign_scenarios(SynthParams(n_clips=3, scenario_weights={"fire": 1.0}))
    assert only == ["fire", "fire", "fire"]


def test_stage_reads_params_and_overrides(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("synth:\n  n_clips: 5\n  duration_s: 1.5\n  seed: 4\n", encoding="utf-8")
    out = tmp_path / "bundle"
    assert synth_main(["--params", str(params), "--out", str(out), "--clips", "1"]) == 0
    manifest = _load(out / "manifest.json")
    assert manifest["seed"] == 4 and manifest["params"]["duration_s"] == 1.5
    assert [c["id"] for c in manifest["clips"]] == ["clip_0001"]
    params.write_text("synth:\n  n_clip: 5\n", encoding="utf-8")
    assert synth_main(["--params", str(params), "--out", str(out)]) == 2
