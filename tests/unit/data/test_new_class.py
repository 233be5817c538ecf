"""Adding a class (docs/nouvelle-classe.md, EX-049 … EX-051), exercised on ``train``.

The runtime taxonomy is a hard-coded tuple (``veilleur/runtime/core/taxonomy.py``), so the
test takes the class list that the runtime would have after the change, ``CLASSES + ("train",)``,
and passes it where the code takes a class list: the taxonomy loader, the training data reader
and the detector. It checks that the taxonomy file and the runtime must change together, that a
class cannot stay in an ``ignore`` list, that ``train`` boxes are kept and counted once mapped
and reported as unknown before, and that the detector built from the new list has one more
output class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ingest_fixture import TAXONOMY, write_cvat_video_source, write_yolo_source

from veilleur.data.ingest import IngestedDataset, IngestError, ingest, load_taxonomy
from veilleur.data.ingest.multi import SourceSpec, ingest_sources
from veilleur.data.ingest.source import load_source_config
from veilleur.runtime.core.taxonomy import CLASSES

NEW = "train"
CLASSES_AFTER = (*CLASSES, NEW)


def _taxonomy_with_train(tmp_path: Path, *, keep_ignored: bool = False) -> Path:
    """The taxonomy file after the documented change: the class appended, source labels mapped,
    and ``train`` taken out of the COCO and VOC ignore lists."""
    doc: dict[str, Any] = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    doc["classes"] = list(CLASSES_AFTER)
    doc["default"]["map"].update({"tram": NEW, "rame": NEW, "locomotive": NEW})
    if not keep_ignored:
        for fmt in ("coco", "voc"):
            doc["formats"][fmt]["ignore"].remove(NEW)
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _sources(tmp_path: Path) -> tuple[Path, Path]:
    video = write_cvat_video_source(tmp_path / "gare", "gare-cvat", frames=6, label=NEW)
    yolo = write_yolo_source(
        tmp_path / "quai", "quai-yolo", folders=1, names=("person", "tram"),
        line="0 0.5 0.5 0.05 0.2\n1 0.5 0.3 0.6 0.3\n",
    )  # fmt: skip
    return video, yolo


@pytest.mark.req("EX-049", "EX-050")
def test_taxonomy_and_runtime_must_change_together(tmp_path: Path) -> None:
    path = _taxonomy_with_train(tmp_path)
    assert load_taxonomy(path, CLASSES_AFTER).classes == CLASSES_AFTER
    with pytest.raises(IngestError, match=r"the runtime knows .* change the runtime taxonomy"):
        load_taxonomy(path)  # today's runtime has 8 classes
    # A source mapping to the class before the class is declared is refused.
    doc = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    doc["default"]["map"]["tram"] = NEW
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(IngestError, match="'train' is not a taxonomy class"):
        load_taxonomy(bad)


@pytest.mark.req("EX-049")
def test_new_class_left_in_an_ignore_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as err:
        load_taxonomy(_taxonomy_with_train(tmp_path, keep_ignored=True), CLASSES_AFTER)
    text = str(err.value)
    assert "formats.coco.ignore: 'train' is a taxonomy class" in text
    assert "formats.voc.ignore: 'train' is a taxonomy class" in text


@pytest.mark.req("EX-049", "EX-050")
def test_train_boxes_kept_and_counted_once_mapped_unknown_before(tmp_path: Path) -> None:
    video, yolo = _sources(tmp_path)
    specs = [
        SourceSpec(video, "cvat", load_source_config(video / "source.yaml")),
        SourceSpec(yolo, "yolo", load_source_config(yolo / "source.yaml")),
    ]
    # Before: the label is unknown, with its count and an example, and the ingest fails.
    with pytest.raises(IngestError) as err:
        ingest_sources(specs, load_taxonomy(TAXONOMY))
    text = str(err.value)
    assert "unknown label 'train' (6 boxes" in text and "unknown label 'tram' (2 boxes" in text
    assert {u.label: u.count for r in err.value.reports for u in r.unknown_labels} == {
        "train": 6,
        "tram": 2,
    }
    # After: kept and counted under the new class.
    taxonomy = load_taxonomy(_taxonomy_with_train(tmp_path), CLASSES_AFTER)
    result = ingest_sources(specs, taxonomy)
    totals = result.totals()["boxes_per_class"]
    assert list(totals) == list(CLASSES_AFTER)
    assert totals[NEW] == 6 + 2 and totals["person"] == 2 and totals["vehicle"] == 6
    video_report = result.datasets[0].report
    assert video_report.mapped_labels == {"car": "vehicle", "train": NEW}
    assert result.datasets[1].report.mapped_labels == {"person": "person", "tram": NEW}
    assert result.datasets[1].report.unknown_labels == ()


def _coco_split(dataset: IngestedDataset, classes: tuple[str, ...], out: Path) -> Path:
    """What the prepared split holds once the runtime knows the class (id = index + 1)."""
    images, anns = [], []
    for i, sample in enumerate(dataset.samples, start=1):
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 704, "height": 576})
        for box in sample.boxes:
            anns.append(
                {"id": len(anns) + 1, "image_id": i, "category_id": classes.index(box.label) + 1,
                 "bbox": [box.x1, box.y1, box.width, box.height], "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": i + 1, "name": c} for i, c in enumerate(classes)]
    out.mkdir(parents=True)
    doc = {"images": images, "annotations": anns, "categories": categories}
    (out / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    return out


@pytest.mark.req("EX-050", "EX-051")
def test_training_reads_the_class_and_detector_gets_one_more_output(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from veilleur.training.datamodule import load_coco_split
    from veilleur.training.module import DetectorModule

    video, _ = _sources(tmp_path)
    taxonomy = load_taxonomy(_taxonomy_with_train(tmp_path), CLASSES_AFTER)
    dataset = ingest(video, "cvat", load_source_config(video / "source.yaml"), taxonomy)
    split = _coco_split(dataset, taxonomy.classes, tmp_path / "prepared" / "train")

    records = load_coco_split(split, taxonomy.classes)
    labels = [int(label) for r in records for label in r.labels]
    assert labels.count(len(CLASSES)) == 6  # "train" is the 9th class, id 8
    with pytest.raises(ValueError, match="does not match the taxonomy"):
        load_coco_split(split, CLASSES)  # a model of the old taxonomy cannot read it

    params = {"input_size": [64, 96], "val_map": False}
    old = DetectorModule(params, list(CLASSES)).export_wrapper()
    new = DetectorModule(params, list(taxonomy.classes)).export_wrapper()
    with torch.no_grad():
        before = old(torch.zeros(1, 3, 64, 96))
        after = new(torch.zeros(1, 3, 64, 96))
    # contract v1: [B, A, 4 + C]; A = 8*12 + 4*6 + 2*3 points for a 64x96 input
    assert tuple(before.shape) == (1, 126, 4 + 8)
    assert tuple(after.shape) == (1, 126, 4 + 9)
