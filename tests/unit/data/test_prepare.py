"""The prepare stage: fake clip bundle (contracts §3) → prepared dataset (contracts §6).

The bundle is built here with PyAV (plain frames with moving rectangles and matching COCO,
events, site and manifest files), so these tests do not depend on the synth generator.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from veilleur.data.prepare import (
    PrepareError,
    PrepareParams,
    prepare_dataset,
    read_bundle,
)
from veilleur.data.splits import SPLITS
from veilleur.data.stages import prepare as stage
from veilleur.runtime.config import ParamsError, load_params_section
from veilleur.runtime.core.taxonomy import CLASSES

FPS = 12.5

# (clip id, scenario, negative, seconds, width, height)
CLIPS: list[tuple[str, str, bool, float, int, int]] = [
    ("clip_0000", "franchissement", False, 2.0, 704, 576),
    ("clip_0001", "franchissement", False, 2.4, 704, 576),
    ("clip_0002", "densite", False, 2.0, 704, 576),
    ("clip_0003", "densite", False, 3.0, 704, 576),
    ("clip_0004", "negatif", True, 2.0, 704, 576),
]


def _boxes(frame: int, width: int, height: int) -> list[tuple[str, list[float]]]:
    """Ground truth of a frame: a walking person and a static bag, in pixels (x, y, w, h)."""
    sx, sy = width / 704, height / 576
    person = [(40.0 + 9.0 * frame) * sx, 200.0 * sy, 40.0 * sx, 110.0 * sy]
    bag = [500.0 * sx, 420.0 * sy, 30.0 * sx, 24.0 * sy]
    return [("person", person), ("bag", bag)]


def write_clip(
    root: Path,
    clip_id: str,
    scenario: str,
    negative: bool,
    seconds: float,
    width: int,
    height: int,
) -> dict[str, Any]:
    """Write the four files of a clip; return its manifest entry."""
    n_frames = round(seconds * FPS)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    with av.open(str(root / f"{clip_id}.mp4"), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25, 2))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for index in range(n_frames):
            pixels = np.full((height, width, 3), 90, dtype=np.uint8)
            image_id = index + 1
            images.append(
                {
                    "id": image_id,
                    "file_name": f"{clip_id}/{index:06d}.jpg",
                    "width": width,
                    "height": height,
                    "frame_index": index,
                    "timestamp_s": index / FPS,
                    "clip": clip_id,
                }
            )
            for track_id, (name, (x, y, w, h)) in enumerate(_boxes(index, width, height), 1):
                pixels[int(y) : int(y + h), int(x) : int(x + w)] = (40 * track_id, 200, 60)
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": CLASSES.index(name) + 1,
                        "bbox": [x, y, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                        "track_id": track_id,
                    }
                )
            frame = av.VideoFrame.from_ndarray(pixels, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)],
    }
    (root / f"{clip_id}.coco.json").write_text(json.dumps(coco), encoding="utf-8")
    metadata = {
        "lighting": "day",
        "weather": "clear",
        "camera_height_m": 6.0,
        "camera_tilt_deg": 30.0,
        "focal_px": 800.0,
        "density": "low",
        "negative": negative,
        "hard_negatives": [],
        "scenario": scenario,
    }
    events = {
        "clip": clip_id,
        "fps": FPS,
        "width": width,
        "height": height,
        "duration_s": seconds,
        "seed": 0,
        "metadata": metadata,
        "events": []
        if negative
        else [{"type": scenario, "start_s": 0.5, "end_s": 1.5, "zone": None, "track_ids": [1]}],
    }
    (root / f"{clip_id}.events.json").write_text(json.dumps(events), encoding="utf-8")
    (root / f"{clip_id}.site.yaml").write_text(
        f"version: 1\nsite:\n  name: test\ncameras:\n  - id: cam-01\n    source:\n"
        f"      url: {clip_id}.mp4\n    zones: []\n    rules: []\n",
        encoding="utf-8",
    )
    return {
        "id": clip_id,
        "video": f"{clip_id}.mp4",
        "coco": f"{clip_id}.coco.json",
        "events": f"{clip_id}.events.json",
        "site": f"{clip_id}.site.yaml",
        "metadata": metadata,
    }


def write_bundle(root: Path, clips: list[tuple[str, str, bool, float, int, int]]) -> Path:
    """A fake synth bundle with ``clips``."""
    root.mkdir(parents=True, exist_ok=True)
    entries = [write_clip(root, *clip) for clip in clips]
    manifest = {"generator_version": "test", "seed": 0, "params": {}, "clips": entries}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("raw"), CLIPS)


@pytest.fixture(scope="module")
def prepared(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("processed")
    prepare_dataset(bundle, out, PrepareParams())
    return out


@pytest.fixture
def bundle_copy(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle, tmp_path / "raw"))


def _edit_coco(bundle: Path, clip_id: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = bundle / f"{clip_id}.coco.json"
    coco = json.loads(path.read_text(encoding="utf-8"))
    edit(coco)
    path.write_text(json.dumps(coco), encoding="utf-8")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.req("EX-087")
def test_every_clip_is_in_exactly_one_split(prepared: Path) -> None:
    splits = _load(prepared / "splits.json")
    listed = [c for s in SPLITS for c in splits[s]]
    assert sorted(listed) == sorted(c[0] for c in CLIPS)
    assert len(listed) == len(set(listed))
    for split in SPLITS:
        assert splits[split], f"{split} is empty"
        coco = _load(prepared / split / "annotations.json")
        assert {i["clip"] for i in coco["images"]} == set(splits[split])
        on_disk = {p.name for p in (prepared / split / "images").iterdir()}
        assert on_disk == set(splits[split])
        for clip in splits[split]:
            assert splits["clips"][clip]["split"] == split


def test_splits_json_references_replayable_files(prepared: Path, bundle: Path) -> None:
    clips = _load(prepared / "splits.json")["clips"]
    for clip_id, scenario, negative, *_ in CLIPS:
        entry = clips[clip_id]
        for kind in ("video", "coco", "events", "site"):
            assert Path(entry[kind]).is_file()
        assert Path(entry["video"]) == bundle / f"{clip_id}.mp4"
        assert entry["metadata"]["scenario"] == scenario
        assert entry["metadata"]["negative"] is negative


@pytest.mark.parametrize("stride", [1, 3, 4])
def test_image_count_is_ceil_frames_over_stride(bundle: Path, tmp_path: Path, stride: int) -> None:
    result = prepare_dataset(bundle, tmp_path / "out", PrepareParams(frame_stride=stride))
    for clip_id, _, _, seconds, _, _ in CLIPS:
        frames = round(seconds * FPS)
        counts = result.clips[clip_id]
        assert counts.frames == frames
        assert counts.images == math.ceil(frames / stride)
        split = counts.split
        files = sorted((tmp_path / "out" / split / "images" / clip_id).glob("*.jpg"))
        assert [f.name for f in files] == [f"{i:06d}.jpg" for i in range(0, frames, stride)]


def test_kept_frame_carries_its_boxes(prepared: Path, bundle: Path) -> None:
    clip_id, frame = "clip_0003", 6
    split = _load(prepared / "splits.json")["clips"][clip_id]["split"]
    coco = _load(prepared / split / "annotations.json")
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    assert [c["id"] for c in coco["categories"]] == list(range(1, len(CLASSES) + 1))
    (image,) = [i for i in coco["images"] if i["clip"] == clip_id and i["frame_index"] == frame]
    assert image["file_name"] == f"images/{clip_id}/{frame:06d}.jpg"
    assert (prepared / split / image["file_name"]).is_file()
    assert image["timestamp_s"] == pytest.approx(frame / FPS)
    assert (image["width"], image["height"]) == (704, 576)
    got = sorted(
        (names[a["category_id"]], a["bbox"], a["track_id"])
        for a in coco["annotations"]
        if a["image_id"] == image["id"]
    )
    expected = sorted(
        (name, box, track) for track, (name, box) in enumerate(_boxes(frame, 704, 576), 1)
    )
    assert got == expected
    assert len({i["id"] for i in coco["images"]}) == len(coco["images"])
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])


def test_skipped_frames_are_not_written(prepared: Path) -> None:
    for split in SPLITS:
        coco = _load(prepared / split / "annotations.json")
        assert all(i["frame_index"] % 3 == 0 for i in coco["images"])


@pytest.mark.req("EX-084")
def test_manifest_counts_and_provenance(prepared: Path) -> None:
    manifest = _load(prepared / "manifest.json")
    assert len(manifest["dataset_version"]) == 64
    assert manifest["source"]["generator_version"] == "test"
    assert manifest["params"]["frame_stride"] == 3
    total_images = sum(manifest["counts"][s]["images"] for s in SPLITS)
    assert total_images == sum(math.ceil(round(c[3] * FPS) / 3) for c in CLIPS)
    for split in SPLITS:
        counts = manifest["counts"][split]
        assert counts["boxes_per_class"]["person"] == counts["images"]
        assert counts["boxes_per_class"]["bag"] == counts["images"]
        assert counts["boxes_per_class"]["weapon"] == 0
        assert counts["clips"] == len(_load(prepared / "splits.json")[split])


@pytest.mark.req("EX-084")
def test_dataset_version_is_deterministic_and_tracks_labels(
    bundle: Path, prepared: Path, bundle_copy: Path, tmp_path: Path
) -> None:
    again = prepare_dataset(bundle, tmp_path / "again", PrepareParams())
    assert again.dataset_version == _load(prepared / "manifest.json")["dataset_version"]

    same_copy = prepare_dataset(bundle_copy, tmp_path / "copy", PrepareParams())

    def nudge(coco: dict[str, Any]) -> None:
        coco["annotations"][0]["bbox"][0] += 1.0

    _edit_coco(bundle_copy, "clip_0000", nudge)
    relabelled = prepare_dataset(bundle_copy, tmp_path / "relabelled", PrepareParams())
    assert relabelled.dataset_version != same_copy.dataset_version


def test_min_box_px_drops_small_boxes(bundle: Path, tmp_path: Path) -> None:
    result = prepare_dataset(bundle, tmp_path / "out", PrepareParams(min_box_px=30.0))
    # The 24 px high bag is dropped, the person kept.
    for split in SPLITS:
        per_class = result.counts[split]["boxes_per_class"]
        assert per_class["bag"] == 0
        assert per_class["person"] == result.counts[split]["images"]


def test_rerun_replaces_previous_output(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare_dataset(bundle, out, PrepareParams(frame_stride=1))
    prepare_dataset(bundle, out, PrepareParams(frame_stride=5))
    for split in SPLITS:
        for jpg in (out / split / "images").rglob("*.jpg"):
            assert int(jpg.stem) % 5 == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("other: {a: 1}\n", PrepareParams()),
        ("prepare:\n  frame_stride: 5\n  seed: 7\n", PrepareParams(frame_stride=5, seed=7)),
        (
            "prepare:\n  fractions: {train: 0.5, val: 0.25, test: 0.25}\n",
            PrepareParams.model_validate({"fractions": {"train": 0.5, "val": 0.25, "test": 0.25}}),
        ),
    ],
)
def test_load_params(tmp_path: Path, text: str, expected: PrepareParams) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_params_section(path, "prepare", PrepareParams) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("prepare:\n  frame_strid: 5\n", "frame_strid"),
        ("prepare:\n  frame_stride: 0\n", "frame_stride"),
        ("prepare:\n  fractions: {train: 0.5, val: 0.2, test: 0.2}\n", "sum to 1"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_load_params_rejects_bad_sections(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError, match=match):
        load_params_section(path, "prepare", PrepareParams)


def test_missing_bundle_file_is_named(bundle_copy: Path, tmp_path: Path) -> None:
    (bundle_copy / "clip_0002.events.json").unlink()
    with pytest.raises(PrepareError, match=r"events file of clip_0002"):
        read_bundle(bundle_copy)


def test_coco_shorter_than_video_is_refused(bundle_copy: Path, tmp_path: Path) -> None:
    def drop_last_images(coco: dict[str, Any]) -> None:
        coco["images"] = coco["images"][:10]

    _edit_coco(bundle_copy, "clip_0001", drop_last_images)
    with pytest.raises(PrepareError, match=r"no COCO image for decoded frame 12"):
        prepare_dataset(bundle_copy, tmp_path / "out", PrepareParams())


def test_stage_passes_on_good_bundle(bundle: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    status = stage.main(
        [
            "--raw",
            str(bundle),
            "--out",
            str(tmp_path / "out"),
            "--reports",
            str(reports),
            "--data-docs",
        ]
    )
    assert status == 0
    summary = _load(reports / "validation.json")
    assert summary["success"] is True
    assert summary["failed"] == 0
    assert "Validation du jeu de données préparé" in (reports / "index.html").read_text("utf-8")
    assert (reports / "gx" / "index.html").is_file()


@pytest.mark.req("EX-087")
def test_stage_exits_1_and_names_the_sample_on_a_box_outside_the_image(
    bundle_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def push_out(coco: dict[str, Any]) -> None:
        # frame 3 is kept with stride 3; its first box now ends past the right edge.
        (ann,) = [a for a in coco["annotations"] if a["image_id"] == 4 and a["track_id"] == 1]
        ann["bbox"] = [690.0, 200.0, 40.0, 110.0]

    _edit_coco(bundle_copy, "clip_0004", push_out)
    caplog.set_level(logging.ERROR)
    status = stage.main(
        [
            "--raw",
            str(bundle_copy),
            "--out",
            str(tmp_path / "out"),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    assert status == 1
    failed = [r.getMessage() for r in caplog.records if "expectation failed" in r.getMessage()]
    assert len(failed) == 1
    assert "expect_column_pair_values_a_to_be_greater_than_b" in failed[0]
    assert "x2 ≤ width" in failed[0]
    assert "clip=clip_0004" in failed[0]
    assert not (tmp_path / "reports" / "gx").exists()


@pytest.mark.req("EX-006")
def test_stage_rejects_images_below_4cif(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clips = [
        ("clip_0000", "franchissement", False, 1.0, 704, 576),
        ("clip_0001", "franchissement", False, 1.0, 704, 576),
        ("clip_0002", "densite", False, 1.0, 320, 240),
    ]
    raw = write_bundle(tmp_path / "raw", clips)
    caplog.set_level(logging.ERROR)
    status = stage.main(
        [
            "--raw",
            str(raw),
            "--out",
            str(tmp_path / "out"),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    assert status == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "image width ≥ 704 px (4CIF)" in text
    assert "image height ≥ 576 px (4CIF)" in text
    assert "clip=clip_0002" in text
    assert "clip=clip_0000" not in text


def test_stage_exits_2_with_too_few_clips(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raw = write_bundle(tmp_path / "raw", CLIPS[:2])
    caplog.set_level(logging.ERROR)
    status = stage.main(
        ["--raw", str(raw), "--out", str(tmp_path / "out"), "--reports", str(tmp_path / "r")]
    )
    assert status == 2
    assert "need at least 3 clips" in caplog.text


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda b: (b / "manifest.json").write_text("{", "utf-8"), r"manifest\.json: cannot read"),
        (lambda b: (b / "clip_0001.mp4").write_bytes(b"not a video"), r"clip_0001\.mp4: cannot"),
        (
            lambda b: (b / "clip_0002.coco.json").write_text('{"images": [{"id": 1}]}', "utf-8"),
            r"clip_0002\.coco\.json: malformed",
        ),
    ],
    ids=["manifest", "video", "coco"],
)
def test_damaged_bundle_is_named(
    bundle_copy: Path, tmp_path: Path, damage: Callable[[Path], object], match: str
) -> None:
    damage(bundle_copy)
    with pytest.raises(PrepareError, match=match):
        prepare_dataset(bundle_copy, tmp_path / "out", PrepareParams())
