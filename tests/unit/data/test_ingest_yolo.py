"""Ingest of YOLO txt datasets; unknown labels are reported, never silently dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ingest_fixture import TAXONOMY, write_image, write_source

from veilleur.data.ingest import IngestError, ingest, load_source_config, load_taxonomy
from veilleur.data.ingest.model import Sample
from veilleur.data.stages import data as stage


@pytest.fixture(autouse=True)
def _access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's data access log goes to the test's folder, never to the repository's var/."""
    monkeypatch.setenv("VEILLEUR_DATA_ACCESS_LOG", str(tmp_path / "acces-donnees.db"))


def _yolo(src: Path, names: list[str], labels: dict[str, str]) -> Path:
    """``labels``: ``images/<split>/<stem>.jpg`` path → label file content."""
    (src).mkdir(parents=True, exist_ok=True)
    (src / "data.yaml").write_text(yaml.safe_dump({"path": ".", "names": names}), "utf-8")
    for rel, content in labels.items():
        write_image(src / rel, 400, 200)
        label = src / rel.replace("images/", "labels/", 1)
        label = label.with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(content, encoding="utf-8")
    return src


def _run(src: Path, **kw: bool) -> tuple[Sample, ...]:
    ds = ingest(src, "yolo", load_source_config(src / "source.yaml"), load_taxonomy(TAXONOMY), **kw)
    return ds.samples


@pytest.mark.req("EX-047", "EX-048", "EX-084")
def test_yolo_boxes_denormalised_and_mapped(tmp_path: Path) -> None:
    src = _yolo(
        tmp_path / "src",
        ["person", "bicycle", "handbag"],
        {
            "images/train/a.jpg": "0 0.5 0.5 0.1 0.5\n1 0.25 0.5 0.1 0.2\n",
            "images/train/b.jpg": "2 0.5 0.5 0.05 0.1\n",
            "images/val/c.jpg": "",
        },
    )
    write_image(src / "images" / "val" / "d.jpg", 400, 200)  # no label file: a negative
    write_source(src, "yolo-test", split_unit="image")
    samples = {s.provenance.source_path: s for s in _run(src)}
    assert sorted(samples) == [
        "images/train/a.jpg", "images/train/b.jpg", "images/val/c.jpg", "images/val/d.jpg",
    ]  # fmt: skip
    a = samples["images/train/a.jpg"]
    person, bike = a.boxes
    assert (person.label, person.x1, person.y1, person.x2, person.y2) == (
        "person", 180.0, 50.0, 220.0, 150.0,
    )  # fmt: skip
    assert bike.label == "bicycle"
    assert samples["images/train/b.jpg"].boxes[0].label == "bag"
    assert samples["images/val/d.jpg"].boxes == ()
    assert a.metadata.extra["source_split"] == "train"
    assert a.metadata.person_height_px == 100.0 and a.metadata.person_size == "medium"
    assert len({s.clip for s in samples.values()}) == 4  # split_unit: image


@pytest.mark.req("EX-047", "EX-048")
def test_yolo_unknown_label_fails_unless_allowed_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _yolo(
        tmp_path / "src",
        ["person", "scooter"],
        {f"images/s{i}/x.jpg": "0 0.5 0.5 0.1 0.5\n1 0.2 0.5 0.1 0.2\n" for i in range(3)},
    )
    write_source(src, "yolo-unknown")
    with pytest.raises(IngestError) as err:
        _run(src)
    (problem,) = err.value.problems
    assert "unknown label 'scooter' (3 boxes" in problem.message
    assert "--allow-unknown" in problem.message and "labels/s0/x.txt:2" in problem.message
    assert err.value.report is not None and err.value.report.unknown_labels[0].count == 3

    samples = _run(src, allow_unknown=True)
    assert [b.label for s in samples for b in s.boxes] == ["person"] * 3

    args = ["ingest", str(src), "--format", "yolo", "--taxonomy", str(TAXONOMY),
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert stage.main(args) == 2
    summary = json.loads(capsys.readouterr().out)
    assert summary["unknown_labels"][0]["label"] == "scooter"
    assert summary["unknown_labels"][0]["count"] == 3
    assert len(summary["unknown_labels"][0]["examples"]) == 3
    assert stage.main([*args, "--allow-unknown"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] and summary["unknown_labels"][0]["count"] == 3
    assert summary["boxes_per_class"]["person"] == 3


def test_yolo_malformed_lines_named(tmp_path: Path) -> None:
    src = _yolo(
        tmp_path / "src",
        ["person"],
        {"images/a.jpg": "0 0.5 0.5 0.1\n3 0.5 0.5 0.1 0.1\n0 x 0.5 0.1 0.1\n0 1.2 0.5 0.5 0.1\n"},
    )
    write_source(src)
    with pytest.raises(IngestError) as err:
        _run(src)
    text = str(err.value)
    assert "a.txt: line 1: expected 'class cx cy w h'" in text
    assert "line 2: class index 3 unknown" in text
    assert "line 3: not numbers" in text
    assert "a.txt:4" in text and "is outside the 400x200 image" in text


def test_yolo_without_names_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_image(src / "a.jpg")
    write_source(src)
    with pytest.raises(IngestError, match=r"no data\.yaml, classes\.txt or obj\.names"):
        _run(src)
