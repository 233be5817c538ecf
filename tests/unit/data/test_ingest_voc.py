"""Ingest of Pascal VOC XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_image, write_source

from veilleur.data.ingest import (
    IngestedDataset,
    IngestError,
    ingest,
    load_source_config,
    load_taxonomy,
)


def _voc_xml(filename: str, objects: str, width: int = 320, height: int = 240) -> str:
    return f"""<annotation>
  <folder>VOC</folder><filename>{filename}</filename>
  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>
  {objects}
</annotation>
"""


def _obj(name: str, box: tuple[int, int, int, int], difficult: int = 0) -> str:
    x1, y1, x2, y2 = box
    return (
        f"<object><name>{name}</name><pose>Frontal</pose><truncated>0</truncated>"
        f"<difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
        f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
    )


def _load(src: Path) -> IngestedDataset:
    return ingest(src, "voc", load_source_config(src / "source.yaml"), load_taxonomy(TAXONOMY))


@pytest.mark.req("EX-047", "EX-048", "EX-084")
def test_voc_devkit_layout(tmp_path: Path) -> None:
    src = tmp_path / "VOC"
    write_image(src / "JPEGImages" / "000001.jpg")
    write_image(src / "JPEGImages" / "000002.jpg")
    (src / "Annotations").mkdir(parents=True)
    (src / "Annotations" / "000001.xml").write_text(
        _voc_xml("000001.jpg", _obj("person", (11, 21, 40, 220), 1) + _obj("motorbike",
                 (100, 100, 200, 180)) + _obj("dog", (1, 1, 10, 10))),
        encoding="utf-8",
    )  # fmt: skip
    (src / "Annotations" / "000002.xml").write_text(
        _voc_xml("000002.jpg", _obj("bicycle", (1, 1, 320, 240))), encoding="utf-8"
    )
    write_source(src, "voc-test", split_unit="camera")
    ds = _load(src)
    first = next(s for s in ds.samples if s.path.name == "000001.jpg")
    person, bike = first.boxes
    assert (person.label, person.x1, person.y1, person.x2, person.y2) == (
        "person", 10.0, 20.0, 40.0, 220.0,
    )  # fmt: skip
    assert person.attributes == {"difficult": 1, "truncated": 0, "pose": "Frontal"}
    assert (bike.label, bike.source_label) == ("vehicle", "motorbike")
    assert ds.report.ignored_labels == {"dog": 1}
    assert ds.report.boxes_per_class["bicycle"] == 1
    assert {s.clip for s in ds.samples} == {"voc-test-cam-01"}  # split_unit: camera
    assert first.metadata.person_height_px == 200.0 and first.metadata.person_size == "large"


def test_voc_errors(tmp_path: Path) -> None:
    src = tmp_path / "VOC"
    write_image(src / "JPEGImages" / "a.jpg")
    (src / "Annotations").mkdir(parents=True)
    (src / "Annotations" / "a.xml").write_text(
        _voc_xml("a.jpg", _obj("person", (50, 50, 20, 80)) + _obj("person", (1, 1, 500, 80))),
        encoding="utf-8",
    )
    (src / "Annotations" / "b.xml").write_text(_voc_xml("b.jpg", ""), encoding="utf-8")
    (src / "Annotations" / "c.xml").write_text("<annotation><filename>", encoding="utf-8")
    (src / "Annotations" / "d.xml").write_text(_voc_xml("a.jpg", "", width=640), encoding="utf-8")
    write_source(src)
    with pytest.raises(IngestError) as err:
        _load(src)
    text = str(err.value)
    assert "a.xml: <object #1 name='person'>: box has zero or negative size" in text
    assert "a.xml: <object #2 name='person'>: box (0, 0, 500, 80) is outside" in text
    assert "b.xml" in text and "image file not found" in text
    assert "c.xml: line 1" in text and "invalid XML" in text
    assert "d.xml" in text and "declared size 640x240 but a.jpg is 320x240" in text
