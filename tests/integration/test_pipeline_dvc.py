"""The whole loop, end to end: `dvc repro` of the project's own dvc.yaml on small parameters.

The repository's tracked files are copied to a temporary folder (a fresh clone, in effect),
``params.yaml`` is shrunk so the pipeline runs in a few minutes on 2 cores, and every stage runs
for real: synth → prepare (great-expectations) → train (Lightning, MLflow) → export (ONNX,
parity) → evaluate (runtime replay) → report (French HTML).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import yaml

BIN = Path(sys.executable).parent

SMALL = {
    "synth": {"n_clips": 12, "duration_s": 6.0, "seed": 7},
    # 12 short clips cannot meet the demo's coverage targets: a lenient profile (the failing
    # paths are tested in tests/unit/data/test_expectations.py).
    "prepare": {
        "frame_stride": 4,
        "coverage": {"profile_name": "test rapide", "min_boxes_per_class": {"person": 10}},
    },
    "train": {
        "epochs": 2,
        "input_size": [256, 320],
        "max_train_images": 200,
        "max_val_images": 40,
        "batch_size": 8,
        # 12 short clips may miss a rare class: trained anyway (the stop is tested in
        # tests/unit/training/test_registry.py).
        "missing_classes": "warn",
    },
    # The density model's stage: one short epoch (its learning is tested in
    # tests/unit/training/test_density.py).
    "density": {
        "epochs": 1,
        "input_size": [128, 160],
        "max_train_images": 40,
        "max_val_images": 8,
    },
    # A 2-epoch model: the INT8 cost is measured and reported, not gated here.
    "export": {"parity_images": 4, "int8_min_agreement": 0.0, "int8_max_map50_drop": 1.0},
    # A 2-epoch model on a handful of test clips: the bias gates are reported, not enforced
    # (their failing path is tested in tests/unit/evaluation/test_bias.py).
    "evaluate": {"n_bootstrap": 100, "detection_bootstrap": 50, "gates": {"enforce": False}},
}


def _copy_checkout(src: Path, dst: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=src, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    for rel in filter(None, (f.decode() for f in files)):
        if (src / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dst / rel)


@pytest.fixture(scope="module")
def pipeline(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("clone")
    _copy_checkout(repo_root, work)
    (work / "dvc.lock").unlink(missing_ok=True)
    params = yaml.safe_load((work / "params.yaml").read_text())
    for section, values in SMALL.items():
        params[section].update(values)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    r = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=work, env=env, capture_output=True, text=True, timeout=1500
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return work


@pytest.mark.slow
@pytest.mark.req("EX-051", "EX-084", "EX-085")
def test_every_stage_ran_and_is_locked(pipeline: Path):
    lock = yaml.safe_load((pipeline / "dvc.lock").read_text())
    assert set(lock["stages"]) == {
        "synth", "prepare", "train", "export", "train_density", "evaluate", "report"
    }  # fmt: skip
    density = json.loads((pipeline / "models/density_export_report.json").read_text())
    assert density["passed"] and density["registered"]["name"] == "veilleur-density"
    for path in (
        "data/raw/synth/manifest.json",
        "data/processed/manifest.json",
        "reports/data/validation.json",
        "models/detector.ckpt",
        "models/detector.onnx",
        "reports/evaluation/metrics.json",
        "reports/validation/index.html",
        "reports/validation/rapport.pdf",
        "reports/validation/erreurs_fiftyone.json",
    ):
        assert (pipeline / path).is_file(), path
    assert json.loads((pipeline / "reports/data/validation.json").read_text())["success"] is True


@pytest.mark.slow
@pytest.mark.req("EX-084", "EX-131")
def test_onnx_parity_and_provenance(pipeline: Path):
    export = json.loads((pipeline / "models/export_report.json").read_text())
    assert export["max_abs_diff"] < 1e-3
    dataset_version = json.loads((pipeline / "data/processed/manifest.json").read_text())[
        "dataset_version"
    ]
    meta = {
        p.key: p.value for p in onnx.load(str(pipeline / "models/detector.onnx")).metadata_props
    }
    assert meta["veilleur_contract"] == "1"
    assert json.loads(meta["classes"])[0] == "person"
    assert meta["dataset_version"] == dataset_version
    side = json.loads((pipeline / "models/detector.onnx.json").read_text())
    assert side["dataset_version"] == dataset_version and len(side["sha256"]) == 64

    # the training run in the local MLflow store carries the same dataset version
    with sqlite3.connect(pipeline / "mlflow.db") as db:
        params = dict(
            db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (side["mlflow_run_id"],))
        )
        metrics = {k for (k,) in db.execute("SELECT DISTINCT key FROM metrics")}
    assert params["dataset_version"] == dataset_version
    assert {"train/loss", "val/loss"} <= metrics
    assert not (pipeline / "mlruns").exists()


@pytest.mark.slow
@pytest.mark.req("EX-085", "EX-131")
def test_int8_model_card_and_registry_candidate(pipeline: Path):
    export = json.loads((pipeline / "models/export_report.json").read_text())
    side = json.loads((pipeline / "models/detector.onnx.json").read_text())
    assert export["int8"]["n_images"] > 0 and (pipeline / "models/detector.int8.onnx").is_file()
    card = (pipeline / "reports/models/model_card.md").read_text(encoding="utf-8")
    assert side["sha256"] in card and side["mlflow_run_id"] in card
    assert f"{export['int8']['map50_delta']:.4f}" in card
    assert export["registered"]["alias"] == "candidate"
    # Two registered models (veilleur-detector, veilleur-density): select the detector's.
    name = "veilleur-detector"
    with sqlite3.connect(pipeline / "mlflow.db") as db:
        aliases = dict(
            db.execute(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ?", (name,)
            )
        )
        tags = dict(
            db.execute(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                (name, aliases["candidate"]),
            )
        )
    assert tags["sha256"] == side["sha256"]


@pytest.mark.slow
@pytest.mark.req("EX-045", "EX-065", "EX-085")
def test_evaluation_and_french_report(pipeline: Path):
    metrics = json.loads((pipeline / "reports/evaluation/metrics.json").read_text())
    text = json.dumps(metrics)
    assert "franchissement" in text
    side = json.loads((pipeline / "models/detector.onnx.json").read_text())
    html = (pipeline / "reports/validation/index.html").read_text(encoding="utf-8")
    assert "Rapport de validation" in html
    assert side["sha256"] in html
    assert side["dataset_version"] in html
    assert "data:image/png;base64," in html
    assert "non implémenté" not in html  # the eight events are all implemented and evaluated
    for label in ("Mouvement de Foule", "Objets abandonnés", "Armes", "Personne au sol", "Feu"):
        assert label in html
    for event in ("objet_abandonne", "personne_au_sol", "feu", "arme", "mouvement_foule"):
        assert metrics["events"]["per_event"][event]["status"] != "not_implemented", event
    # the replay journal of the evaluation verifies
    journal = pipeline / "reports/evaluation/journal.db"
    r = subprocess.run(
        [str(BIN / "veilleur"), "journal", "verify", str(journal)], capture_output=True, text=True
    )
    assert r.returncode == 0 and '"ok": true' in r.stdout


@pytest.mark.slow
@pytest.mark.req("EX-084", "EX-086")
def test_data_card_and_push_to_the_default_local_remote(pipeline: Path):
    manifest = json.loads((pipeline / "data/processed/manifest.json").read_text())
    card = (pipeline / "reports/data/dataset_card.md").read_text(encoding="utf-8")
    assert manifest["dataset_version"] in card
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    r = subprocess.run(
        [str(BIN / "dvc"), "push"], cwd=pipeline, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    remote = pipeline / "var" / "dvc-remote"
    lock = yaml.safe_load((pipeline / "dvc.lock").read_text())
    raw = next(o for o in lock["stages"]["synth"]["outs"] if o["path"] == "data/raw/synth")
    digest = raw["md5"].removesuffix(".dir")
    assert (remote / "files" / "md5" / digest[:2] / (digest[2:] + ".dir")).is_file()
    status = subprocess.run(
        [str(BIN / "dvc"), "status", "--cloud", "--json"],
        cwd=pipeline, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout or "{}") == {}
