"""Ingest of COCO JSON (images and COCO-video), the export to the prepared layout, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ingest_fixture import TAXONOMY, write_image, write_source, write_video

from veilleur.data.ingest import (
    IngestError,
    export_prepared,
    ingest,
    load_source_config,
    load_taxonomy,
)
from veilleur.data.prepare import PrepareParams
from veilleur.data.stages import data as stage
from veilleur.runtime.core.taxonomy import CLASSES


@pytest.fixture(autouse=True)
def _access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's data access log goes to the test's folder, never to the repository's var/."""
    monkeypatch.setenv("VEILLEUR_DATA_ACCESS_LOG", str(tmp_path / "acces-donnees.db"))


W, H = 704, 576


def _coco(
    src: Path, images: list[dict[str, Any]], anns: list[dict[str, Any]], **extra: Any
) -> Path:
    cats = [
        {"id": 1, "name": "person"},
        {"id": 2, "name": "backpack"},
        {"id": 3, "name": "knife"},
        {"id": 4, "name": "dog"},
        {"id": 5, "name": "car"},
    ]
    path = src / "annotations.json"
    doc = {"images": images, "annotations": anns, "categories": cats, **extra}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _image_dataset(src: Path) -> Path:
    """Three scenes (folders) of two images; persons of 40 and 120 px, a backpack, a dog."""
    images, anns = [], []
    for s, scene in enumerate(("scene_a", "scene_b", "scene_c")):
        for k in range(2):
            iid = 2 * s + k + 1
            write_image(src / "images" / scene / f"{k}.jpg", W, H)
            images.append({"id": iid, "file_name": f"{scene}/{k}.jpg", "width": W, "height": H})
            anns.append({"id": len(anns) + 1, "image_id": iid, "category_id": 1,
                         "bbox": [10, 10, 20, 40 if s == 0 else 120]})  # fmt: skip
    anns.append({"id": 99, "image_id": 1, "category_id": 2, "bbox": [100, 100, 30, 30]})
    anns.append({"id": 100, "image_id": 2, "category_id": 4, "bbox": [200, 100, 50, 30]})
    anns.append({"id": 101, "image_id": 3, "category_id": 3, "bbox": [300, 100, 10, 30]})
    _coco(src, images, anns)
    write_source(src, "coco-test")
    return src


def _ingest(src: Path, **kw: Any) -> Any:
    return ingest(
        src,
        "coco",
        load_source_config(src / "source.yaml"),
        load_taxonomy(TAXONOMY),
        **kw,
    )


@pytest.mark.req("EX-047", "EX-048", "EX-084", "EX-086")
def test_coco_images_mapped_with_provenance_and_metadata(tmp_path: Path) -> None:
    ds = _ingest(_image_dataset(tmp_path / "src"))
    report = ds.report
    assert (report.samples, report.images, report.video_frames, report.clips) == (6, 6, 0, 3)
    assert report.boxes_per_class == {**dict.fromkeys(CLASSES, 0), "person": 6, "bag": 1,
                                      "weapon": 1}  # fmt: skip
    assert report.ignored_labels == {"dog": 1}
    assert report.unknown_labels == ()
    first = next(s for s in ds.samples if s.provenance.source_path == "images/scene_a/0.jpg")
    assert first.clip == "coco-test-images_scene_a"
    assert {b.source_label: b.label for b in first.boxes} == {"person": "person", "backpack": "bag"}
    prov = first.provenance
    assert (prov.source, prov.licence, prov.site, prov.camera, prov.capture_date) == (
        "coco-test", "CC-BY-4.0", "Parvis nord", "cam-01", "2025-06-14",
    )  # fmt: skip
    assert prov.acquisition.startswith("Export du VMS") and prov.selection
    meta = first.metadata
    assert (meta.lighting, meta.weather, meta.camera_height_m, meta.camera_angle_deg) == (
        "day", "clear", 4.5, 30.0,
    )  # fmt: skip
    assert (meta.person_count, meta.person_height_px, meta.person_size) == (1, 40.0, "small")
    assert meta.density == "low" and meta.resolution == f"{W}x{H}" and meta.fps is None
    other = next(s for s in ds.samples if s.provenance.source_path == "images/scene_b/0.jpg")
    assert (other.metadata.person_height_px, other.metadata.person_size) == (120.0, "medium")


@pytest.mark.req("EX-084", "EX-086")
def test_coco_export_is_a_prepared_dataset_that_validates(tmp_path: Path) -> None:
    from veilleur.data.expectations import validate_dataset

    ds = _ingest(_image_dataset(tmp_path / "src"))
    out = tmp_path / "out"
    result = export_prepared([ds], out, PrepareParams())
    splits = json.loads((out / "splits.json").read_text())
    assert sorted(splits["train"] + splits["val"] + splits["test"]) == sorted(
        {s.clip for s in ds.samples}
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset_version"] == result.dataset_version
    assert manifest["source"]["sources"][0]["name"] == "coco-test"
    images = 0
    for split in ("train", "val", "test"):
        coco = json.loads((out / split / "annotations.json").read_text())
        assert [c["name"] for c in coco["categories"]] == list(CLASSES)
        for image in coco["images"]:
            images += 1
            assert (out / split / image["file_name"]).is_file()
            assert image["provenance"]["licence"] == "CC-BY-4.0"
            assert image["metadata"]["lighting"] == "day"
            assert image["metadata"]["person_size"] in {"small", "medium"}
    assert images == 6
    # Same input, same version; the synthetic pipeline's validation accepts the layout.
    assert export_prepared([ds], out, PrepareParams()).dataset_version == result.dataset_version
    report = validate_dataset(out, tmp_path / "reports")
    assert report.success, [f.describe() for f in report.failures]


@pytest.mark.req("EX-047", "EX-048")
def test_coco_video_style_keeps_tracks_and_clips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    images, anns = [], []
    for v in range(3):
        for f in range(2):
            iid = 10 * v + f + 1
            write_image(src / "images" / f"vid{v}" / f"{f:04d}.jpg", 320, 240)
            images.append({"id": iid, "file_name": f"vid{v}/{f:04d}.jpg", "width": 320,
                           "height": 240, "video_id": v, "frame_id": f})  # fmt: skip
            anns.append({"id": iid, "image_id": iid, "category_id": 5, "bbox": [5 + f, 5, 50, 30],
                         "track_id": 100 + v})  # fmt: skip
    videos = [{"id": v, "name": f"vid{v}", "fps": 5.0} for v in range(3)]
    _coco(src, images, anns, videos=videos)
    write_source(src, "coco-vid")
    ds = _ingest(src)
    assert ds.report.clips == 3
    tracks = {(s.clip, s.frame_index): [b.track_id for b in s.boxes] for s in ds.samples}
    assert tracks[("coco-vid-vid1", 1)] == [101]
    assert {b.label for s in ds.samples for b in s.boxes} == {"vehicle"}
    assert {s.metadata.fps for s in ds.samples} == {5.0}


@pytest.mark.req("EX-084")
def test_coco_problems_are_all_reported_with_their_place(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_image(src / "images" / "a.jpg", 320, 240)
    images = [
        {"id": 1, "file_name": "a.jpg", "width": 320, "height": 240},
        {"id": 2, "file_name": "missing.jpg", "width": 320, "height": 240},
    ]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [300, 200, 100, 100]},  # outside
        {"id": 2, "image_id": 1, "category_id": 42, "bbox": [0, 0, 10, 10]},  # unknown id
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, -5, 10]},  # negative
        {"id": 4, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 10]},  # unknown image
    ]
    _coco(src, images, anns)
    write_source(src)
    with pytest.raises(IngestError) as err:
        _ingest(src)
    text = str(err.value)
    assert "annotations[1] (id=2)" in text and "unknown category id 42" in text
    assert "unknown image id 7" in text
    assert "image file not found" in text and "missing.jpg" in text
    assert "is outside the 320x240 image" in text
    assert "zero or negative size" in text
    assert all(str(src) in str(p.file) or p.file.endswith(".json") for p in err.value.problems)


def test_coco_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "annotations.json").write_text('{"images": [\n  {"id": 1,}\n]}', encoding="utf-8")
    write_source(src)
    with pytest.raises(IngestError) as err:
        _ingest(src)
    (problem,) = err.value.problems
    assert problem.file.endswith("annotations.json") and problem.where.startswith("line 2")


@pytest.mark.req("EX-047", "EX-048")
def test_cli_ingest_prints_summary_and_fails_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _image_dataset(tmp_path / "src")
    out = tmp_path / "out"
    args = ["ingest", str(src), "--format", "coco", "--taxonomy", str(TAXONOMY), "--out", str(out)]
    assert stage.main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is True and summary["samples"] == 6
    assert summary["boxes_per_class"]["bag"] == 1 and summary["unknown_labels"] == []
    assert len(summary["dataset_version"]) == 64
    assert sum(s["images"] for s in summary["splits"].values()) == 6

    (src / "images" / "scene_c" / "1.jpg").unlink()
    assert stage.main(args) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False
    assert "image file not found" in captured.err and "scene_c/1.jpg" in captured.err


def test_umbrella_cli_registers_data() -> None:
    from veilleur.cli import STAGES

    assert STAGES["data"][0] == "veilleur.data.stages.data"


def test_video_fixture_helper_roundtrip(tmp_path: Path) -> None:
    from veilleur.data.ingest.media import probe_video

    info = probe_video(write_video(tmp_path / "v.mp4", frames=7))
    assert (info.width, info.height, info.frames) == (320, 240, 7)


def test_export_needs_three_clips_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    write_image(src / "images" / "a.jpg", 320, 240)
    write_image(src / "images" / "b.jpg", 320, 240)
    images = [
        {"id": 1, "file_name": "a.jpg", "width": 320, "height": 240},
        {"id": 2, "file_name": "b.jpg", "width": 320, "height": 240},
    ]
    _coco(src, images, [])
    write_source(src)  # split_unit: folder → one clip
    with pytest.raises(IngestError, match="need at least 3 clips") as err:
        export_prepared([_ingest(src)], tmp_path / "out", PrepareParams())
    assert "split_unit" in str(err.value)
    args = ["ingest", str(src), "--format", "coco", "--taxonomy", str(TAXONOMY),
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert stage.main([*args, "--frame-stride", "0"]) == 2
    assert "frame_stride" in capsys.readouterr().err
