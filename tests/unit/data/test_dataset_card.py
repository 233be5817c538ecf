"""The dataset card is generated from the data alone, deterministically (EX-084, EX-086)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from veilleur.data.coverage import CoverageParams
from veilleur.data.dataset_card import CARD_NAME, raw_dvc_hash, write_dataset_card
from veilleur.data.stages import prepare as stage
from veilleur.runtime.core.taxonomy import CLASSES, coco_categories

VERSION = "ab" * 32
CLIPS = {"train": ["clip_0000", "clip_0001"], "val": ["clip_0002"], "test": ["clip_0003"]}
LIGHTING = {"clip_0000": "day", "clip_0001": "night", "clip_0002": "day", "clip_0003": "night"}


def write_prepared(root: Path, *, ingested: bool = False) -> Path:
    """3 images per clip, 2 person boxes (40 px high) and 1 bag box per image."""
    splits: dict[str, Any] = {s: list(c) for s, c in CLIPS.items()}
    splits["clips"] = {}
    for split, clips in CLIPS.items():
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for clip in clips:
            record: dict[str, Any] = {
                "split": split,
                "metadata": {"lighting": LIGHTING[clip], "camera_height_m": 9.0, "density": "low"},
            }
            if ingested:
                record["source"] = "parvis-nord"
                record["provenance"] = {
                    "source": "parvis-nord", "licence": "convention n° 14", "site": "Parvis nord",
                    "camera": f"cam-{clip[-1]}", "capture_date": "2025-06-14",
                    "acquisition": "Export du VMS", "selection": "Un créneau par heure",
                    "annotation": "CVAT", "source_format": "coco",
                }  # fmt: skip
            splits["clips"][clip] = record
            for frame in range(3):
                images.append(
                    {"id": len(images) + 1, "file_name": f"images/{clip}/{frame}.jpg",
                     "width": 704, "height": 576, "clip": clip, "frame_index": frame}
                )  # fmt: skip
                boxes = [("person", [10, 10, 20, 40]), ("person", [60, 10, 20, 40]),
                         ("bag", [100, 100, 30, 30])]  # fmt: skip
                for name, bbox in boxes:
                    annotations.append(
                        {"id": len(annotations) + 1, "image_id": len(images),
                         "category_id": CLASSES.index(name) + 1, "bbox": bbox}
                    )  # fmt: skip
        (root / split).mkdir(parents=True)
        coco = {"images": images, "annotations": annotations, "categories": coco_categories()}
        (root / split / "annotations.json").write_text(json.dumps(coco), "utf-8")
    (root / "splits.json").write_text(json.dumps(splits), "utf-8")
    source: dict[str, Any] = (
        {"kind": "ingest",
         "sources": [{"name": "parvis-nord", "format": "coco", "root": "data/raw/parvis"}]}
        if ingested
        else {"raw_dir": "data/raw/synth", "generator_version": "veilleur-synth/1.0", "seed": 7,
              "manifest_sha256": "cd" * 32}
    )  # fmt: skip
    manifest = {
        "format_version": 1, "dataset_version": VERSION, "source": source, "files": 40,
        "params": {"frame_stride": 3, "seed": 0, "jpeg_quality": 90, "min_box_px": 2.0,
                   "fractions": {"train": 0.6, "val": 0.2, "test": 0.2}},
        "clips": {}, "counts": {}, "split_notes": [],
    }  # fmt: skip
    (root / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return root


def write_lock(path: Path) -> Path:
    lock = {"schema": "2.0", "stages": {"prepare": {"cmd": "veilleur prepare", "deps": [
        {"path": "data/raw/synth", "hash": "md5", "md5": "0123456789abcdef.dir"}]}}}  # fmt: skip
    path.write_text(yaml.safe_dump(lock), "utf-8")
    return path


TARGETS = CoverageParams.model_validate(
    {"profile_name": "parvis de nuit",
     "required_slices": [{"criterion": "lighting", "value": "night", "min_images": 6}],
     "min_boxes_per_class": {"bag": 13}}
)  # fmt: skip


@pytest.mark.req("EX-084", "EX-086")
def test_card_from_data_alone_holds_the_figures(tmp_path: Path) -> None:
    data = write_prepared(tmp_path / "processed")
    card = write_dataset_card(
        data, tmp_path / "reports", TARGETS, dvc_lock=write_lock(tmp_path / "dvc.lock")
    )
    assert card == tmp_path / "reports" / CARD_NAME
    text = card.read_text("utf-8")
    assert f"| Version du jeu (`dataset_version`) | `{VERSION}` |" in text
    assert "| entraînement | 2 | 6 | 18 |" in text
    assert "| test | 1 | 3 | 9 |" in text
    assert "| tout | 4 | 12 | 36 |" in text
    assert "| person | 12 | 6 | 6 | 24 | 12 |" in text
    assert "| nuit | 3 | 0 | 3 | 6 | 18 | 2 |" in text  # lighting slice
    assert "| petite (< 50 px) | 6 | 3 | 3 | 12 | 36 | 4 |" in text  # person size, measured
    assert "Résolutions : 704×576 (12 images)." in text
    assert "`0123456789abcdef.dir` (dvc.lock, dépendance de l'étape « prepare »)" in text
    assert "Générateur : `veilleur-synth/1.0`, graine 7" in text
    # Targets, gaps and known gaps come from the data too.
    assert "profil « parvis de nuit »" in text
    assert "Classe « bag » sous-représentée dans l'ensemble du jeu : 12 boîtes (minimum 13)" in text
    assert "Éclairage = nuit : absent du jeu validation (6 images au total)." in text
    assert "Classe « weapon » : aucune boîte." in text
    logging_line = "chaque accès aux données brutes et chaque export est journalisé"
    for section in ("Provenance", "Périmètre", "Obtention", "Données personnelles", "Sécurité",
                    "LUKS", "SSE", logging_line, "Versions et empreintes"):  # fmt: skip
        assert section in text
    assert "absente : la validation Great Expectations n'a pas été exécutée" in text


@pytest.mark.req("EX-084")
def test_card_is_byte_identical_on_the_same_data_wherever_it_lies(tmp_path: Path) -> None:
    data = write_prepared(tmp_path / "a" / "processed")
    lock = write_lock(tmp_path / "dvc.lock")
    first = write_dataset_card(data, tmp_path / "r1", TARGETS, dvc_lock=lock).read_bytes()
    again = write_dataset_card(data, tmp_path / "r1", TARGETS, dvc_lock=lock).read_bytes()
    moved = shutil.copytree(data, tmp_path / "b" / "elsewhere")
    other = write_dataset_card(moved, tmp_path / "r2", TARGETS, dvc_lock=lock).read_bytes()
    assert first == again == other


def test_validation_state_follows_the_version(tmp_path: Path) -> None:
    data = write_prepared(tmp_path / "processed")
    reports = tmp_path / "reports"
    reports.mkdir()
    doc = {"dataset_version": "old", "success": True, "evaluated": 9, "failed": 0,
           "expectations": []}  # fmt: skip
    (reports / "validation.json").write_text(json.dumps(doc), "utf-8")
    text = write_dataset_card(data, reports, CoverageParams()).read_text("utf-8")
    assert "périmée : validation.json décrit la version old" in text
    doc |= {"dataset_version": VERSION, "expectations": [{"table": "labels", "success": True}]}
    (reports / "validation.json").write_text(json.dumps(doc), "utf-8")
    text = write_dataset_card(data, reports, CoverageParams()).read_text("utf-8")
    assert "| Validation Great Expectations | conforme (9 attentes réussies) |" in text
    assert "liste de mots refusés : vérifiée : aucun nom biométrique trouvé." in text


@pytest.mark.req("EX-084", "EX-089")
def test_card_of_ingested_data_shows_its_provenance(tmp_path: Path) -> None:
    data = write_prepared(tmp_path / "processed", ingested=True)
    text = write_dataset_card(
        data, tmp_path / "r", CoverageParams(), dvc_lock=tmp_path / "no.lock"
    ).read_text("utf-8")
    assert "### Source : parvis-nord" in text
    assert "- Licence / convention : convention n° 14" in text
    assert "- Caméra : cam-0 ; cam-1 ; cam-2 ; cam-3" in text
    assert "- Acquisition : Export du VMS" in text
    assert "réelles (images de vidéoprotection importées)" in text
    assert "Veilleur ne les floute pas automatiquement" in text
    assert "`non disponible` (non disponible (ni dvc.lock ni fichier .dvc" in text


def test_raw_hash_prefers_the_current_output_then_a_dvc_file(tmp_path: Path) -> None:
    lock = {"stages": {
        "prepare": {"deps": [{"path": "data/raw/synth", "md5": "old.dir"}]},
        "synth": {"outs": [{"path": "data/raw/synth/", "md5": "new.dir"}]},
    }}  # fmt: skip
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock), "utf-8")
    assert raw_dvc_hash("data/raw/synth", tmp_path / "dvc.lock") == (
        "new.dir", "dvc.lock, sortie de l'étape « synth »"
    )  # fmt: skip
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data/raw/parvis.dvc").write_text(yaml.safe_dump({"outs": [{"md5": "x.dir"}]}))
    assert raw_dvc_hash("data/raw/parvis", tmp_path / "dvc.lock") == (
        "x.dir",
        "data/raw/parvis.dvc",
    )


def test_stage_card_only_regenerates_the_card(tmp_path: Path) -> None:
    data = write_prepared(tmp_path / "processed")
    reports = tmp_path / "reports"
    args = ["--card-only", "--out", str(data), "--reports", str(reports)]
    assert stage.main([*args, "--dvc-lock", str(write_lock(tmp_path / "dvc.lock"))]) == 0
    assert VERSION in (reports / CARD_NAME).read_text("utf-8")
    assert not (reports / "validation.json").exists()  # no GX run
    assert (
        stage.main(["--card-only", "--out", str(tmp_path / "none"), "--reports", str(reports)]) == 2
    )
