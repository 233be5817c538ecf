"""Several sources into one prepared dataset: the CLI forms, the sources manifest, and the
checks across sources (names, clip ids, shared files, labels treated differently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ingest_fixture import (
    TAXONOMY,
    write_coco_source,
    write_cvat_video_source,
    write_mixed_sources,
    write_yolo_source,
)

from veilleur.data.ingest import IngestError, load_taxonomy
from veilleur.data.ingest.multi import (
    IGNORED,
    ingest_sources,
    load_sources_manifest,
)
from veilleur.data.stages import data as stage


@pytest.fixture(autouse=True)
def _access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's data access log goes to the test's folder, never to the repository's var/."""
    monkeypatch.setenv("VEILLEUR_DATA_ACCESS_LOG", str(tmp_path / "acces-donnees.db"))


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    status = stage.main(["ingest", *args, "--taxonomy", str(TAXONOMY)])
    captured = capsys.readouterr()
    return status, json.loads(captured.out), captured.err


@pytest.mark.req("EX-084", "EX-086")
def test_manifest_mixes_three_formats_with_provenance_per_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = write_mixed_sources(tmp_path)
    out = tmp_path / "out"
    status, summary, _ = _cli(
        ["--sources", str(tmp_path / "sources.yaml"), "--out", str(out)], capsys
    )
    assert status == 0, summary
    assert summary["ok"] is True and summary["label_conflicts"] == []
    per_source = {r["source"]: r for r in summary["sources"]}
    assert {k: v["samples"] for k, v in per_source.items()} == expected["samples"]
    assert {k: v["clips"] for k, v in per_source.items()} == expected["clips"]
    assert {k: v["boxes"] for k, v in per_source.items()} == expected["boxes"]
    assert summary["samples"] == 19 and summary["clips"] == 6 and summary["boxes"] == 33
    assert summary["boxes_per_class"]["person"] == 6 + 4 + 9
    assert summary["boxes_per_class"]["vehicle"] == 9 and summary["boxes_per_class"]["bag"] == 1
    splits = json.loads((out / "splits.json").read_text(encoding="utf-8"))
    assert sum(len(splits[s]) for s in ("train", "val", "test")) == 6
    for clip, record in splits["clips"].items():
        assert clip.startswith(record["source"] + "-")
        assert record["provenance"]["site"] == expected["site"][record["source"]]
        assert record["provenance"]["source_format"] == expected["format"][record["source"]]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in manifest["source"]["sources"]] == [
        "parvis-coco", "quai-yolo", "gare-cvat",
    ]  # fmt: skip
    assert summary["dataset_version"] == manifest["dataset_version"]


@pytest.mark.req("EX-084")
def test_cli_several_src_with_one_format_each_and_single_form_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coco = write_coco_source(tmp_path / "coco", scenes=2)
    yolo = write_yolo_source(tmp_path / "yolo", folders=2)
    args = [str(coco), str(yolo), "--format", "coco", "--format", "yolo"]
    status, summary, _ = _cli([*args, "--out", str(tmp_path / "o1")], capsys)
    assert status == 0, summary
    assert [r["format"] for r in summary["sources"]] == ["coco", "yolo"]
    assert summary["clips"] == 4 and summary["samples"] == 8
    # The single-source form keeps its flat summary.
    status, summary, _ = _cli(
        [
            str(write_coco_source(tmp_path / "c3")),
            "--format",
            "coco",
            "--out",
            str(tmp_path / "o2"),
        ],
        capsys,
    )
    assert status == 0 and summary["source"] == "parvis-coco" and summary["format"] == "coco"
    assert "sources" not in summary and summary["boxes_per_class"]["bag"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["A", "B", "--format", "coco", "--format", "yolo", "--format", "cvat"],
            "3 --format for 2",
        ),
        (["--format", "coco"], "no source"),
        (["A", "--format", "coco", "--sources", "s.yaml"], "not both"),
        (["A", "B", "--format", "coco", "--source-yaml", "x.yaml"], "1 --source-yaml for 2"),
    ],
)
@pytest.mark.req("EX-084")
def test_cli_source_forms_refused_with_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, summary, err = _cli([*args, "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and summary["ok"] is False
    assert message in summary["problems"][0] and message in err
    assert not (tmp_path / "out").exists()


@pytest.mark.req("EX-084")
def test_same_name_and_same_folder_refused(tmp_path: Path) -> None:
    a = write_coco_source(tmp_path / "a", "dup")
    b = write_yolo_source(tmp_path / "b", "dup")
    taxonomy = load_taxonomy(TAXONOMY)
    manifest = tmp_path / "s.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {"sources": [{"path": "a", "format": "coco"}, {"path": "b", "format": "yolo"},
                         {"path": "a", "format": "coco", "source": {"name": "other"}}]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(IngestError) as err:
        ingest_sources(load_sources_manifest(manifest), taxonomy)
    text = str(err.value)
    assert "2 sources are named 'dup'" in text and f"{a}" in text and f"{b}" in text
    assert f"{a.resolve()}: listed 2 times (as dup, other)" in text


@pytest.mark.req("EX-084")
def test_clip_id_and_file_shared_by_two_sources_refused(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(TAXONOMY)
    # "site-x" + camera "cam" and "site" + camera "x-cam" both give clip "site-x-cam".
    one = write_coco_source(tmp_path / "one", "site-x", scenes=1, split_unit="camera", camera="cam")
    write_yolo_source(tmp_path / "two", "site", folders=1, split_unit="camera", camera="x-cam")
    # A second source reading the same images through another annotation file.
    (one / "copy.json").write_text((one / "annotations.json").read_text("utf-8"), "utf-8")
    manifest = tmp_path / "s.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {"sources": [
                {"path": "one", "format": "coco"},
                {"path": "two", "format": "yolo"},
                {"path": "one/copy.json", "format": "coco", "source": {"name": "copie"}},
            ]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(IngestError) as err:
        ingest_sources(load_sources_manifest(manifest), taxonomy)
    text = str(err.value)
    assert "clip id 'site-x-cam' is produced by sources ['site', 'site-x']" in text
    assert "the same file is in sources ['copie', 'site-x']" in text
    assert len(err.value.reports) == 3  # every source was read and reported


@pytest.mark.req("EX-047", "EX-048")
def test_label_treated_differently_by_two_sources_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    doc["sources"] = {"b": {"ignore": ["backpack"]}}
    taxonomy_path = tmp_path / "taxonomy.yaml"
    taxonomy_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    write_coco_source(tmp_path / "a", "a")
    write_coco_source(tmp_path / "b", "b")
    status = stage.main(
        ["ingest", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "coco",
         "--taxonomy", str(taxonomy_path), "--out", str(tmp_path / "out")]
    )  # fmt: skip
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert status == 0
    assert summary["label_conflicts"] == [
        {"label": "backpack", "decisions": {"a": "bag", "b": IGNORED}}
    ]
    assert "warning: label 'backpack' is not treated alike by every source" in captured.err
    assert summary["boxes_per_class"]["bag"] == 1


@pytest.mark.req("EX-084")
def test_manifest_errors_name_entry_and_field(tmp_path: Path) -> None:
    write_cvat_video_source(tmp_path / "v", frames=3)
    (tmp_path / "nosidecar").mkdir()
    manifest = tmp_path / "s.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {"sources": [
                {"path": "v", "format": "cvat", "source": {"metadata": {"lighting": "noon"}}},
                {"path": "nosidecar", "format": "yolo"},
                {"path": "v", "format": "kitti"},
            ]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(IngestError) as err:
        load_sources_manifest(manifest)
    text = str(err.value)
    assert f"{manifest}: sources.2.format" in text
    manifest.write_text(
        yaml.safe_dump(
            {"sources": [
                {"path": "v", "format": "cvat", "source": {"metadata": {"lighting": "noon"}}},
                {"path": "nosidecar", "format": "yolo"},
                {"path": "nosidecar", "format": "yolo",
                 "source": {"name": "bare", "licence": "x", "acquisition": "y"}},
            ]}
        ),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(IngestError) as err:
        load_sources_manifest(manifest)
    problems = [str(p) for p in err.value.problems]
    assert any(p.startswith(f"{manifest}: sources[0].source.metadata.lighting") for p in problems)
    assert any(
        "nosidecar/source.yaml" in p and "cannot read the source sidecar" in p for p in problems
    )
    assert any(p.startswith(f"{manifest}: sources[2].source.selection") for p in problems)
    assert len(problems) == 3


@pytest.mark.req("EX-086")
def test_clips_of_one_scene_stay_in_one_split_and_too_few_scenes_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from veilleur.data.slices import scene_of

    write_mixed_sources(tmp_path)
    out = tmp_path / "out"
    status, summary, _ = _cli(
        ["--sources", str(tmp_path / "sources.yaml"), "--out", str(out)], capsys
    )
    assert status == 0, summary
    splits = json.loads((out / "splits.json").read_text(encoding="utf-8"))
    split_of = {clip: s for s in ("train", "val", "test") for clip in splits[s]}
    scenes: dict[str, set[str]] = {}
    for clip, record in splits["clips"].items():
        scene = scene_of(record)
        assert scene is not None
        scenes.setdefault(scene, set()).add(split_of[clip])
    assert len(scenes) >= 3
    assert all(len(found) == 1 for found in scenes.values()), scenes

    # One camera only: split by clip, and the split notes say the scene is shared.
    single = write_coco_source(tmp_path / "one", scenes=3, camera="cam-unique")
    status, summary, _ = _cli(
        [str(single), "--format", "coco", "--out", str(tmp_path / "o1")], capsys
    )
    assert status == 0, summary
    record = json.loads((tmp_path / "o1" / "splits.json").read_text(encoding="utf-8"))
    scene = "parvis-coco:Parvis nord/cam-unique"
    assert {scene_of(r) for r in record["clips"].values()} == {scene}
    assert sum(len(record[s]) for s in ("train", "val", "test")) == 3
    notes = json.loads((tmp_path / "o1" / "manifest.json").read_text("utf-8"))["split_notes"]
    assert any("only 1 scene(s)" in note for note in notes), notes
