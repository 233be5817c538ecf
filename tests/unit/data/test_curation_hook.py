"""Curation of a prepared folder, and its hooks in both writers (prepare, data ingest)."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from curation_fixture import file_hashes, scene, version_of, write_prepared
from ingest_fixture import TAXONOMY, write_source

from veilleur.data.curation import CURATION_NAME, CurateParams, CurationError, curate_prepared
from veilleur.data.curation.fiftyone_dataset import sample_records
from veilleur.data.ingest import (
    IngestError,
    export_prepared,
    ingest,
    load_source_config,
    load_taxonomy,
)
from veilleur.data.prepare import PrepareError, PrepareParams, prepare_dataset
from veilleur.data.splits import SplitClip, SplitFractions, split_clips
from veilleur.data.stages import data as data_cli

LAYOUT = {
    "train": {"a": [1, 1], "b": [1, 2]},  # a: two identical frames; b/0 = a's scene
    "val": {"c": [3]},
    "test": {"d": [4]},
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.req("EX-086")
def test_cross_clip_near_duplicate_is_removed_with_its_boxes_same_clip_kept(
    tmp_path: Path,
) -> None:
    root = write_prepared(tmp_path / "p", LAYOUT, boxes={"val/images/c/000000.jpg": [5, 5, 3, 3]})
    hashes = file_hashes(root)
    result = curate_prepared(root, CurateParams(), hashes)

    assert [(r.sample_id, r.kept, r.distance) for r in result.removals] == [
        ("train/images/b/000000.jpg", "train/images/a/000000.jpg", 0)
    ]
    assert not (root / "train/images/b/000000.jpg").exists()
    assert (root / "train/images/a/000001.jpg").exists()  # same clip as its twin: kept
    train = _json(root / "train/annotations.json")
    assert [i["file_name"] for i in train["images"]] == [
        "images/a/000000.jpg", "images/a/000001.jpg", "images/b/000001.jpg",
    ]  # fmt: skip
    assert [a["image_id"] for a in train["annotations"]] == [1, 2, 4]  # image 3's box is gone
    assert result.removed_per_clip == {"b": {"images": 1, "boxes": 1}}
    assert result.documents["train"] == train
    # the writer's hashes follow: removed file dropped, rewritten files rehashed
    assert hashes == file_hashes(root)
    report = _json(root / CURATION_NAME)
    assert report["near_duplicates_removed"] == 1
    assert report["same_clip_near_duplicate_pairs"] == 1
    assert report["near_duplicate_groups"] == {
        "train/images/a/000000.jpg": ["train/images/b/000000.jpg"]
    }
    assert report["findings"] == [
        {
            "check": "tiny_box",
            "severity": "warning",
            "sample_ids": ["val/images/c/000000.jpg"],
            "message": "val/images/c/000000.jpg : boîte minuscule 3×3 px (person, annotation 1), "
            "sous le minimum de 4 px",
            "details": {"annotation_id": 1, "bbox": [5.0, 5.0, 3.0, 3.0]},
        }
    ]
    assert result.summary()["findings"] == {"tiny_box": {"warning": 1}}


@pytest.mark.req("EX-086")
def test_removal_can_be_turned_off(tmp_path: Path) -> None:
    root = write_prepared(tmp_path / "p", LAYOUT)
    result = curate_prepared(root, CurateParams(remove_near_duplicates=False))
    assert result.removals == () and (root / "train/images/b/000000.jpg").exists()
    assert _json(root / CURATION_NAME)["near_duplicate_groups"] == {}


@pytest.mark.req("EX-086")
def test_near_duplicate_across_splits_is_a_leak_error_naming_both_files(tmp_path: Path) -> None:
    layout = {"train": {"a": [1, 2]}, "val": {"c": [1]}, "test": {"d": [4]}}
    root = write_prepared(tmp_path / "p", layout)
    with pytest.raises(CurationError) as info:
        curate_prepared(root, CurateParams())
    assert str(info.value) == (
        f"curation : 1 erreur(s) (cross_split_duplicate : 1) ; détail dans {root / CURATION_NAME}"
        "\n- fuite entre splits : train/images/a/000000.jpg et val/images/c/000000.jpg sont des "
        "quasi-doublons (distance de Hamming 0 ≤ 6) ; regroupez leurs clips dans le même split "
        "(même scène ou caméra) ou retirez l'une des deux images"
    )
    (error,) = info.value.errors
    assert error.sample_ids == ("train/images/a/000000.jpg", "val/images/c/000000.jpg")
    report = _json(root / CURATION_NAME)  # written before failing, for the data scientist
    assert report["findings"][0]["check"] == "cross_split_duplicate"
    # as a warning, the same leak is reported and the curation passes
    params = CurateParams.model_validate({"severity": {"cross_split_duplicate": "warning"}})
    assert [f.severity for f in curate_prepared(root, params).findings] == ["warning"]


@pytest.mark.req("EX-086")
def test_unreadable_image_and_coco_are_errors(tmp_path: Path) -> None:
    root = write_prepared(tmp_path / "p", LAYOUT)
    (root / "test/images/d/000000.jpg").write_bytes(b"broken")
    with pytest.raises(CurationError, match=r"test/images/d/000000.jpg : image illisible"):
        curate_prepared(root, CurateParams())
    coco = _json(root / "test/annotations.json")
    coco["annotations"][0]["bbox"] = [1, 2]
    (root / "test/annotations.json").write_text(json.dumps(coco), encoding="utf-8")
    with pytest.raises(CurationError, match=r"test/annotations.json : image ou annotation "):
        curate_prepared(root, CurateParams())
    (root / "val/annotations.json").write_text("{", encoding="utf-8")
    with pytest.raises(CurationError, match=r"val/annotations.json : COCO illisible"):
        curate_prepared(root, CurateParams())
    (root / "val/annotations.json").write_text('{"images": {}}', encoding="utf-8")
    with pytest.raises(CurationError, match="sans listes « images » et « annotations »"):
        curate_prepared(root, CurateParams())


# --- the prepare hook: a synthetic bundle (contracts §3) of distinct scenes ------------------

FRAMES, WIDTH, HEIGHT = 4, 160, 128


def _write_clip(raw: Path, clip: str, seed: int) -> dict[str, Any]:
    with av.open(str(raw / f"{clip}.mp4"), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(4))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(FRAMES):
            pixels = scene(seed, HEIGHT, WIDTH).copy()
            pixels[40:80, 10 + 8 * i : 30 + 8 * i] = 240
            rgb = np.ascontiguousarray(pixels[:, :, ::-1])
            frame = av.VideoFrame.from_ndarray(rgb, "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    coco = {
        "images": [{"id": i + 1, "file_name": f"{i:06d}.jpg", "width": WIDTH, "height": HEIGHT,
                    "frame_index": i, "timestamp_s": i / 4} for i in range(FRAMES)],
        "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "track_id": 1,
                         "bbox": [10 + 8 * i, 40, 20, 40]} for i in range(FRAMES)],
        "categories": [{"id": 1, "name": "person"}],
    }  # fmt: skip
    (raw / f"{clip}.coco.json").write_text(json.dumps(coco), encoding="utf-8")
    (raw / f"{clip}.events.json").write_text('{"events": []}', encoding="utf-8")
    (raw / f"{clip}.site.yaml").write_text("site: test\n", encoding="utf-8")
    return {"id": clip, "video": f"{clip}.mp4", "coco": f"{clip}.coco.json",
            "events": f"{clip}.events.json", "site": f"{clip}.site.yaml",
            "metadata": {"scenario": "franchissement", "negative": False}}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    clips = [_write_clip(raw, f"clip_{i:04d}", 10 + i) for i in range(5)]
    manifest = {"generator_version": "test", "seed": 0, "clips": clips}
    (raw / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return raw


def _split_of(clips: list[str]) -> dict[str, str]:
    splits = split_clips(
        [SplitClip(c, "franchissement", False) for c in clips], SplitFractions(), seed=0
    )
    return {c: splits.split_of(c) for c in clips}


@pytest.mark.req("EX-086")
def test_prepare_hook_removes_a_copied_clip_and_versions_curation_json(
    bundle: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(bundle, raw)
    split_of = _split_of([f"clip_{i:04d}" for i in range(5)])
    first, second = sorted(c for c, s in split_of.items() if s == "train")[:2]
    shutil.copyfile(raw / f"{first}.mp4", raw / f"{second}.mp4")  # same footage, two clips
    params = PrepareParams(frame_stride=1)

    plain = prepare_dataset(raw, tmp_path / "plain", params)
    assert not (tmp_path / "plain" / CURATION_NAME).exists()
    result = prepare_dataset(raw, tmp_path / "out", params, CurateParams())
    out = tmp_path / "out"
    manifest = _json(out / "manifest.json")
    assert manifest["curation"]["near_duplicates_removed"] == FRAMES
    assert manifest["clips"][second]["images"] == 0
    assert manifest["clips"][first]["images"] == FRAMES
    assert result.counts["train"]["images"] == plain.counts["train"]["images"] - FRAMES
    assert manifest["counts"]["train"]["boxes"] == plain.counts["train"]["boxes"] - FRAMES
    removed = _json(out / CURATION_NAME)["removed"]
    assert [(r["sample_id"], r["kept"]) for r in removed] == [
        (f"train/images/{second}/{i:06d}.jpg", f"train/images/{first}/{i:06d}.jpg")
        for i in range(FRAMES)
    ]
    # dataset_version covers exactly the files on disk, curation.json included
    assert result.dataset_version == version_of(file_hashes(out))
    assert result.dataset_version != plain.dataset_version
    assert manifest["files"] == len(file_hashes(out))


@pytest.mark.req("EX-086")
def test_prepare_hook_fails_on_a_clip_copied_into_another_split(
    bundle: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(bundle, raw)
    split_of = _split_of([f"clip_{i:04d}" for i in range(5)])
    train = min(c for c, s in split_of.items() if s == "train")
    test = min(c for c, s in split_of.items() if s == "test")
    shutil.copyfile(raw / f"{train}.mp4", raw / f"{test}.mp4")
    with pytest.raises(PrepareError, match="fuite entre splits") as info:
        prepare_dataset(raw, tmp_path / "out", PrepareParams(frame_stride=1), CurateParams())
    assert f"test/images/{test}/000000.jpg et train/images/{train}/000000.jpg" in str(info.value)
    assert not (tmp_path / "out" / "manifest.json").exists()  # no manifest: no dataset


# --- the ingest hook: still images, one clip each --------------------------------------------


def _ingest_source(src: Path) -> None:
    (src / "images").mkdir(parents=True)
    for i in range(6):
        assert cv2.imwrite(str(src / "images" / f"im{i}.jpg"), scene(30 + i))
    coco = {
        "images": [{"id": i + 1, "file_name": f"images/im{i}.jpg", "width": 160, "height": 120}
                   for i in range(6)],
        "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1,
                         "bbox": [20, 30, 40, 50]} for i in range(6)],
        "categories": [{"id": 1, "name": "person"}],
    }  # fmt: skip
    (src / "annotations.json").write_text(json.dumps(coco), encoding="utf-8")
    write_source(src, "curation-test", split_unit="image")


def _export(src: Path, out: Path, curate: CurateParams | None) -> Any:
    dataset = ingest(
        src / "annotations.json",
        "coco",
        load_source_config(src / "source.yaml"),
        load_taxonomy(TAXONOMY),
    )
    return export_prepared([dataset], out, PrepareParams(), curate)


def _split_by_image(out: Path) -> dict[str, str]:
    return {
        image["provenance"]["source_path"].rpartition("/")[2]: split
        for split in ("train", "val", "test")
        for image in _json(out / split / "annotations.json")["images"]
    }


@pytest.mark.req("EX-086")
def test_ingest_hook_removes_within_split_and_refuses_cross_split_copies(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    _ingest_source(src)
    split_of = _split_by_image(_export(src, tmp_path / "plain", None).out_dir)
    train = sorted(name for name, s in split_of.items() if s == "train")
    shutil.copyfile(src / "images" / train[0], src / "images" / train[1])
    result = _export(src, tmp_path / "out", CurateParams())
    assert result.counts["train"]["images"] == len(train) - 1
    (removed,) = _json(tmp_path / "out" / CURATION_NAME)["removed"]
    assert removed["distance"] == 0
    manifest = _json(tmp_path / "out" / "manifest.json")
    assert manifest["curation"]["near_duplicates_removed"] == 1
    assert result.dataset_version == version_of(
        {k: v for k, v in file_hashes(tmp_path / "out").items() if k != "ingest_report.json"}
    )

    other = next(name for name, s in split_of.items() if s != "train")
    shutil.copyfile(src / "images" / train[0], src / "images" / other)
    with pytest.raises(IngestError) as info:
        _export(src, tmp_path / "leak", CurateParams())
    problems = info.value.problems  # the copy leaks from both train twins
    assert len(problems) == 2
    for problem in problems:
        assert problem.file == str(tmp_path / "leak" / CURATION_NAME)
        assert problem.where == "cross_split_duplicate"
        assert problem.message.startswith("fuite entre splits : ")
        assert f"{split_of[other]}/images/" in problem.message


# --- FiftyOne records (pure) and the app command without a built dataset ---------------------


@pytest.mark.req("EX-086", "EX-087")
def test_fiftyone_records_carry_boxes_metadata_and_tags(tmp_path: Path) -> None:
    root = write_prepared(
        tmp_path / "p",
        LAYOUT,
        boxes={"val/images/c/000000.jpg": [5, 5, 3, 3]},
        metadata={"c": {"lighting": "night", "camera_height_m": 6, "scenario": "densite"}},
    )
    curate_prepared(root, CurateParams())
    info, records = sample_records(root)
    assert info.name == f"veilleur-{_json(root / 'manifest.json')['dataset_version'][:12]}"
    by_id = {r["sample_id"]: r for r in records}
    assert sorted(by_id) == [
        "test/images/d/000000.jpg", "train/images/a/000000.jpg", "train/images/a/000001.jpg",
        "train/images/b/000001.jpg", "val/images/c/000000.jpg",
    ]  # fmt: skip
    assert by_id["train/images/a/000000.jpg"]["tags"] == ["train", "near_duplicate"]
    c = by_id["val/images/c/000000.jpg"]
    assert c["tags"] == ["val", "tiny_box"]
    assert c["curation"][0].startswith("val/images/c/000000.jpg : boîte minuscule")
    assert (c["lighting"], c["camera_height_m"], c["scenario"]) == ("night", 6.0, "densite")
    assert c["provenance_source"] == "synth" and c["provenance_raw_dir"] == "test"
    (box,) = by_id["train/images/a/000000.jpg"]["ground_truth"]
    assert box["label"] == "person"
    assert box["bounding_box"] == pytest.approx([20 / 160, 30 / 120, 40 / 160, 50 / 120])
    assert Path(c["filepath"]).is_file() and Path(c["filepath"]).is_absolute()


@pytest.mark.req("EX-086")
def test_app_without_a_built_dataset_fails_with_a_french_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_prepared(tmp_path / "p", LAYOUT)
    monkeypatch.setenv("FIFTYONE_DATABASE_DIR", str(tmp_path / "db"))
    monkeypatch.delenv("FIFTYONE_DATABASE_URI", raising=False)
    assert data_cli.main(["app", "--data", str(root)]) == 2
    version = _json(root / "manifest.json")["dataset_version"][:12]
    assert capsys.readouterr().err.strip() == (
        f"app : échec — le jeu FiftyOne veilleur-{version} (version {version}) n'existe pas dans "
        f"la MongoDB embarquée ({tmp_path / 'db'}) : construisez-le d'abord avec « veilleur data "
        f"fiftyone --data {root} »"
    )
    assert data_cli.main(["fiftyone", "--data", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"fiftyone : échec — {tmp_path / 'nothing' / 'manifest.json'} introuvable : ce dossier "
        "n'est pas un jeu préparé ; préparez d'abord le jeu (veilleur prepare ou veilleur data "
        "ingest)"
    )
