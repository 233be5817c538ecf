"""The taxonomy mapping file, the biometric refusal, the source sidecar and event files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ingest_fixture import TAXONOMY, source_doc, write_image, write_source

from veilleur.data.ingest import IngestError, ingest, load_source_config, load_taxonomy
from veilleur.data.ingest.events import read_events
from veilleur.data.ingest.model import Problems
from veilleur.data.stages import data as stage
from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.runtime.detect.class_maps import COCO80, COCO_TO_TAXONOMY


@pytest.fixture(autouse=True)
def _access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's data access log goes to the test's folder, never to the repository's var/."""
    monkeypatch.setenv("VEILLEUR_DATA_ACCESS_LOG", str(tmp_path / "acces-donnees.db"))


@pytest.mark.req("EX-047", "EX-048")
def test_taxonomy_file_matches_runtime_and_covers_coco() -> None:
    taxonomy = load_taxonomy(TAXONOMY)
    assert tuple(taxonomy.doc.classes) == CLASSES
    mapper = taxonomy.mapper("coco", "any")
    for label in COCO80:
        decision, target = mapper.decide(label)
        assert decision in {"map", "ignore"}, label
        # The data side maps COCO exactly as the runtime's adapters do.
        assert target == COCO_TO_TAXONOMY.get(label), label
    for name in CLASSES:
        assert mapper.decide(name) == ("map", name)
    assert mapper.decide("Traffic-Light") == ("ignore", None)
    assert mapper.decide("scooter") == ("unknown", None)


@pytest.mark.req("EX-047", "EX-048")
def test_source_section_wins_over_format_and_default(tmp_path: Path) -> None:
    doc = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    doc["sources"] = {"parvis": {"map": {"dog": "person"}, "ignore": ["car"]}}
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.mapper("coco", "parvis").decide("dog") == ("map", "person")
    assert taxonomy.mapper("coco", "parvis").decide("car") == ("ignore", None)
    assert taxonomy.mapper("coco", "other").decide("dog") == ("ignore", None)
    assert taxonomy.mapper("yolo", "other").decide("car") == ("map", "vehicle")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": ["person", "vehicle"]}, "the runtime knows"),
        ({"default": {"map": {"tram": "train"}}}, "'train' is not a taxonomy class"),
        ({"default": {"map": {"face": "person"}}}, "biometric label 'face'"),
        ({"default": {"ignore": ["head"]}}, "biometric label 'head'"),
        ({"default": {"map": {"dog": "person"}, "ignore": ["dog"]}}, "both mapped and ignored"),
        ({"formats": {"kitti": {}}}, "formats.kitti"),
        ({"colour": "red"}, "colour"),
    ],
)
@pytest.mark.req("EX-047", "EX-089")
def test_bad_taxonomy_file_refused(tmp_path: Path, change: dict[str, object], message: str) -> None:
    doc = {"version": 1, "classes": list(CLASSES), **change}
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(IngestError, match=message):
        load_taxonomy(path)


def _coco_with(src: Path, label: str, used: bool = True) -> Path:
    write_image(src / "images" / "a.jpg")
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 320, "height": 240}],
        "annotations": (
            [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [1, 1, 20, 20]}] if used else []
        ),
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": label}],
    }
    (src / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    write_source(src)
    return src


@pytest.mark.parametrize("label", ["face", "Head", "human_face", "person_id"])
@pytest.mark.req("EX-089")
def test_biometric_labels_refused_even_with_allow_unknown(tmp_path: Path, label: str) -> None:
    src = _coco_with(tmp_path / "src", label)
    with pytest.raises(IngestError) as err:
        ingest(src, "coco", load_source_config(src / "source.yaml"), load_taxonomy(TAXONOMY),
               allow_unknown=True)  # fmt: skip
    text = str(err.value)
    assert f"biometric label {label!r}" in text and "EX-089" in text


@pytest.mark.req("EX-089")
def test_declared_biometric_category_and_attribute_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _coco_with(tmp_path / "a", "face", used=False)
    args = ["ingest", str(src), "--format", "coco", "--taxonomy", str(TAXONOMY),
            "--out", str(tmp_path / "out"), "--allow-unknown"]  # fmt: skip
    assert stage.main(args) == 2
    assert "biometric label 'face'" in capsys.readouterr().err

    src = _coco_with(tmp_path / "b", "backpack")
    doc = json.loads((src / "annotations.json").read_text())
    doc["annotations"][0]["attributes"] = {"identity": "p-17"}
    (src / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(IngestError, match="biometric label 'attribute identity'"):
        ingest(src, "coco", load_source_config(src / "source.yaml"), load_taxonomy(TAXONOMY))


@pytest.mark.req("EX-084")
def test_source_yaml_validated_and_overrides_applied(tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "source.yaml"
    bad.parent.mkdir()
    doc = source_doc("bad name!", licence="", capture_date="14/06/2025", colour="red")
    doc["metadata"]["lighting"] = "sunny"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(IngestError) as err:
        load_source_config(bad)
    wheres = {p.where for p in err.value.problems}
    assert {"name", "licence", "capture_date", "colour", "metadata.lighting"} <= wheres
    assert all(p.file == str(bad) for p in err.value.problems)

    good = write_source(
        tmp_path / "good",
        overrides=[{"match": "cam2/*", "camera": "cam-02",
                    "metadata": {"lighting": "night", "extra": {"scene": "quai"}}}],
    )  # fmt: skip
    config = load_source_config(good)
    site, camera, date, meta = config.resolve("cam2/x.jpg")
    assert (site, camera, date) == ("Parvis nord", "cam-02", "2025-06-14")
    assert (meta.lighting, meta.weather, meta.extra) == ("night", "clear", {"scene": "quai"})
    assert config.resolve("cam1/x.jpg")[1] == "cam-01"


@pytest.mark.req("EX-084")
def test_events_csv_and_json_validated(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.events.csv"
    csv_path.write_text(
        "type,start_s,end_s,zone,track_ids\n"
        "objet_abandonne,1.0,4.5,quai,3;4\n"
        "arme,2,1,,\n"
        "vol,0,1,,\n",
        encoding="utf-8",
    )
    problems = Problems()
    events = read_events(csv_path, "c", 10.0, problems)
    assert [(e.type.value, e.zone, e.track_ids) for e in events] == [
        ("objet_abandonne", "quai", (3, 4)),
    ]  # fmt: skip
    messages = [str(p) for p in problems.items]
    assert any("line 3" in m and "start_s <= end_s" in m for m in messages)
    assert any("line 4" in m and "'vol' is not one of" in m for m in messages)
    bad = tmp_path / "b.events.json"
    bad.write_text('{"events": [', encoding="utf-8")
    problems = Problems()
    assert read_events(bad, "b", None, problems) == []
    assert "invalid JSON" in str(problems.items[0])
