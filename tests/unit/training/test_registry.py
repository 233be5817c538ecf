"""Export → MLflow registry (candidate → validated → deployed), INT8 cost, model card, bad input.

One tiny training (1 epoch, 2 batches at 96×128) and one export, shared by the module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from rect_dataset import make_rect_dataset

from veilleur.runtime.core.taxonomy import CLASSES
from veilleur.training.stages import export as export_stage
from veilleur.training.stages import models as models_stage
from veilleur.training.stages import train as train_stage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

TRAIN = (
    "train:\n  input_size: [96, 128]\n  epochs: 1\n  batch_size: 4\n  limit_train_batches: 2\n"
    "  limit_val_batches: 1\n  num_workers: 0\n  missing_classes: warn\n"
)
EXPORT = (
    "export:\n  parity_images: 2\n  int8_calibration_images: 4\n  int8_eval_images: 8\n"
    "  int8_max_map50_drop: 1.0\n  int8_min_agreement: 0.0\n"
)
NAME = "veilleur-detector"


@dataclass(frozen=True)
class Exported:
    root: Path
    data: Path
    models: Path
    uri: str
    run_id: str
    report: dict[str, object]
    card: Path


def run_train(root: Path, data: Path, uri: str, params: str = TRAIN) -> int:
    (root / "params.yaml").write_text(params + EXPORT, encoding="utf-8")
    return train_stage.main(
        [
            "--params", str(root / "params.yaml"), "--data", str(data),
            "--out", str(root / "models"), "--mlflow-uri", uri,
            "--artifacts", str(root / "mlartifacts"), "--experiment", "test-registry",
        ]
    )  # fmt: skip


def run_export(ex_root: Path, data: Path, uri: str, ckpt: Path, out: Path, *extra: str) -> int:
    return export_stage.main(
        [
            "--params", str(ex_root / "params.yaml"), "--ckpt", str(ckpt), "--out", str(out),
            "--data", str(data), "--mlflow-uri", uri,
            "--model-card", str(out.parent / "model_card.md"), *extra,
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def exported(rect_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    assert run_train(root, rect_dataset, uri) == 0
    models = root / "models"
    rc = run_export(root, rect_dataset, uri, models / "detector.ckpt", models / "detector.onnx")
    assert rc == 0
    summary = json.loads((models / "train_summary.json").read_text())
    report = json.loads((models / "export_report.json").read_text())
    return Exported(
        root, rect_dataset, models, uri, summary["mlflow_run_id"], report, models / "model_card.md"
    )


def report(exported: Exported, metrics: dict[str, object]) -> None:
    """What ``veilleur report --mlflow-uri`` does to the model's run (metrics.json + gates)."""
    from veilleur.evaluation.mlflow_log import log_report

    out = exported.root / "validation"
    out.mkdir(exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    log_report(exported.uri, exported.run_id, out, metrics)


def _client(uri: str):  # type: ignore[no-untyped-def]
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.mark.req("EX-051", "EX-131")
def test_a_passing_export_is_registered_as_candidate(exported: Exported) -> None:
    client = _client(exported.uri)
    mv = client.get_model_version_by_alias(NAME, "candidate")
    sidecar = json.loads((exported.models / "detector.onnx.json").read_text())
    assert mv.run_id == exported.run_id
    assert mv.tags["sha256"] == sidecar["sha256"] == exported.report["sha256"]
    manifest = json.loads((exported.data / "manifest.json").read_text())
    assert mv.tags["dataset_version"] == manifest["dataset_version"]
    assert exported.report["registered"] == {
        "name": NAME,
        "version": str(mv.version),
        "alias": "candidate",
    }
    history = json.loads(mv.tags["promotion.history"])
    assert history[0]["alias"] == "candidate"
    artifacts = {a.path for a in client.list_artifacts(exported.run_id)}
    assert {
        "detector.onnx",
        "detector.int8.onnx",
        "model_card.md",
        "export_report.json",
        "training_curves.png",
    } <= artifacts


@pytest.mark.req("EX-012", "EX-051")
def test_int8_variant_is_measured_against_fp32(exported: Exported) -> None:
    int8 = exported.report["int8"]
    assert isinstance(int8, dict)
    for key in ("max_abs_diff", "agreement", "map50", "map50_fp32", "map50_delta"):
        assert isinstance(int8[key], float)
    assert int8["map50_delta"] == pytest.approx(int8["map50"] - int8["map50_fp32"])
    assert int8["n_images"] == 8 and int8["n_calibration"] == 4
    assert int8["size_bytes"] < int8["size_bytes_fp32"]
    # The runtime loads the INT8 file (its sidecar SHA-256 checked) like the FP32 one.
    import numpy as np

    from veilleur.runtime.detect.onnx import OnnxDetector

    det = OnnxDetector(exported.models / "detector.int8.onnx", confidence=0.01)
    assert det.info.classes == CLASSES
    assert len(det.detect_batch([np.full((144, 176, 3), 80, np.uint8)] * 2)) == 2


@pytest.mark.req("EX-085", "EX-089")
def test_model_card_figures_equal_the_reports(exported: Exported) -> None:
    from veilleur.training.model_card import card_figures

    text = exported.card.read_text(encoding="utf-8")
    summary = json.loads((exported.models / "train_summary.json").read_text())
    sidecar = json.loads((exported.models / "detector.onnx.json").read_text())
    figures = card_figures(summary, exported.report, sidecar)
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|$", text, flags=re.M))
    int8 = exported.report["int8"]
    assert isinstance(int8, dict)
    assert rows["INT8 : écart de mAP@0.5"] == f"{int8['map50_delta']:.4f}"
    assert rows["INT8 : accord des détections"] == f"{int8['agreement']:.4f}"
    assert rows["Écart max. torch / ONNX"] == f"{exported.report['max_abs_diff']:.4f}"
    assert rows["mAP@0.5 validation (FP32, fin d'entraînement)"] == (
        f"{summary['final_metrics']['val/map50']:.4f}"
    )
    for label, value in figures.items():
        if label != "SHA-256 ONNX":
            assert rows[label] == value
    for needle in (
        sidecar["sha256"], summary["mlflow_run_id"], summary["git_commit"],
        summary["dataset_version"], "reconnaissance faciale", "biométrique", "densite",
    ):  # fmt: skip
        assert needle in text
    assert "[reports/data/index.html](" in text


@pytest.mark.req("EX-131", "EX-134")
def test_promotion_rules_and_audit_trail(
    exported: Exported, capsys: pytest.CaptureFixture[str]
) -> None:
    client = _client(exported.uri)
    version = str(client.get_model_version_by_alias(NAME, "candidate").version)
    base = ["--mlflow-uri", exported.uri, "promote", "--name", NAME, "--version", version]

    def promote(alias: str) -> int:
        return models_stage.main(
            [*base, "--alias", alias, "--reason", f"test {alias}", "--by", "qa"]
        )

    # Not validated yet: neither 'validated' nor 'deployed'.
    assert promote("validated") == 2
    assert promote("deployed") == 2
    # The report stage says the gates failed: still refused.
    report(exported, {"bias": {"passed": False}, "model": {"sha256": exported.report["sha256"]}})
    assert promote("validated") == 2
    # Gates passed, but on another file (e.g. an earlier export of the same run): refused.
    report(exported, {"bias": {"passed": True}, "model": {"sha256": "0" * 64}})
    assert promote("validated") == 2
    report(exported, {"bias": {"passed": True}, "model": {"sha256": exported.report["sha256"]}})
    assert promote("validated") == 0
    assert promote("deployed") == 0
    mv = client.get_model_version(NAME, version)
    record = json.loads(mv.tags["promotion.deployed"])
    assert record["by"] == "qa" and record["why"] == "test deployed" and record["at"]
    assert [h["alias"] for h in json.loads(mv.tags["promotion.history"])] == [
        "candidate", "validated", "deployed",
    ]  # fmt: skip
    capsys.readouterr()
    assert models_stage.main(["--mlflow-uri", exported.uri, "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["version"] == version)
    assert set(row["aliases"]) == {"candidate", "validated", "deployed"}
    assert row["sha256"] == exported.report["sha256"] and row["gates"] == "passed"
    assert row["dataset_version"] == mv.tags["dataset_version"]
    assert models_stage.main(["--mlflow-uri", exported.uri, "list", "--name", NAME]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:4] == ["name", "version", "aliases", "sha256"]
    assert f"{NAME}\t{version}\tcandidate,validated,deployed\t" in "\n".join(lines[1:])


@pytest.mark.req("EX-012")
def test_fp16_variant_is_measured_against_fp32(exported: Exported) -> None:
    from veilleur.training.datamodule import load_coco_split
    from veilleur.training.quantize import compare_variant, convert_fp16

    fp32 = exported.models / "detector.onnx"
    fp16 = exported.root / "fp16" / "detector.fp16.onnx"
    convert_fp16(fp32, fp16)
    records = load_coco_split(exported.data / "val", CLASSES)[:4]
    r = compare_variant(fp32, fp16, records, (96, 128), 0.3, 0.5)
    assert r["n_images"] == 4 and r["size_bytes"] < 0.6 * r["size_bytes_fp32"]
    assert r["max_abs_diff_scores"] < 0.05 and r["agreement"] >= 0.0


def test_promotion_needs_a_reason_and_a_known_version(exported: Exported) -> None:
    from veilleur.training.registry import PromotionRefused, promote

    with pytest.raises(PromotionRefused, match="reason"):
        promote(exported.uri, NAME, "1", "candidate", "qa", " ")
    with pytest.raises(PromotionRefused, match="not found"):
        promote(exported.uri, NAME, "999", "candidate", "qa", "x")


@pytest.mark.req("EX-131")
def test_an_export_failing_its_gates_is_not_registered(exported: Exported) -> None:
    client = _client(exported.uri)
    before = len(client.search_model_versions(f"name='{NAME}'"))
    strict = exported.root / "strict"
    strict.mkdir()
    (strict / "params.yaml").write_text(
        "export:\n  parity_images: 2\n  parity_tolerance: 1.0e-12\n  int8: false\n"
    )
    rc = run_export(
        strict, exported.data, exported.uri, exported.models / "detector.ckpt",
        strict / "detector.onnx", "--train-summary", str(exported.models / "train_summary.json"),
    )  # fmt: skip
    assert rc == 1
    assert len(client.search_model_versions(f"name='{NAME}'")) == before
    assert "registered" not in json.loads((strict / "export_report.json").read_text())


# --- bad input: each stops with a clear message (exit 2), nothing registered -------------


def test_corrupt_checkpoint_is_refused(
    exported: Exported, caplog: pytest.LogCaptureFixture
) -> None:
    bad = exported.root / "bad"
    bad.mkdir()
    (bad / "garbage.ckpt").write_bytes(b"not a checkpoint")
    good = (exported.models / "detector.ckpt").read_bytes()
    (bad / "truncated.ckpt").write_bytes(good[: len(good) // 2])
    for name in ("garbage.ckpt", "truncated.ckpt", "absent.ckpt"):
        caplog.clear()
        rc = run_export(exported.root, exported.data, exported.uri, bad / name, bad / "m.onnx")
        assert rc == 2
        assert name in caplog.text and "export refused" in caplog.text
    assert not (bad / "m.onnx").exists()


def test_mismatched_class_list_at_export_is_refused(
    exported: Exported, caplog: pytest.LogCaptureFixture
) -> None:
    ckpt = torch.load(exported.models / "detector.ckpt", map_location="cpu", weights_only=True)
    ckpt["hyper_parameters"]["classes"] = list(reversed(CLASSES))
    other = exported.root / "reversed.ckpt"
    torch.save(ckpt, other)
    rc = run_export(exported.root, exported.data, exported.uri, other, exported.root / "r.onnx")
    assert rc == 2 and "differs from the runtime taxonomy" in caplog.text
    assert not (exported.root / "r.onnx").exists()


def test_missing_class_in_the_data_stops_training(
    rect_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rc = run_train(tmp_path, rect_dataset, uri, TRAIN.replace("missing_classes: warn", ""))
    assert rc == 2
    assert "no training box for class(es)" in caplog.text and "missing_classes: warn" in caplog.text
    assert not (tmp_path / "models/detector.ckpt").exists()


def test_empty_split_stops_training(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_rect_dataset(tmp_path / "data", n_train=4, n_val=2)
    coco = json.loads((data / "val/annotations.json").read_text())
    (data / "val/annotations.json").write_text(
        json.dumps({**coco, "images": [], "annotations": []})
    )
    rc = run_train(tmp_path, data, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert rc == 2 and "the val split is empty" in caplog.text


def test_out_of_memory_names_the_batch_size(
    rect_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import lightning as L

    def oom(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(L.Trainer, "fit", oom)
    rc = run_train(tmp_path, rect_dataset, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert rc == 2 and "lower `train.batch_size`" in caplog.text and "batch_size 4" in caplog.text


def test_models_is_a_command_of_the_veilleur_cli(exported: Exported) -> None:
    from typer.testing import CliRunner

    from veilleur.cli import app

    res = CliRunner().invoke(app, ["models", "--mlflow-uri", exported.uri, "list", "--json"])
    assert res.exit_code == 0, res.output
    assert any(r["name"] == NAME for r in json.loads(res.output[res.output.index("[") :]))
    res = CliRunner().invoke(
        app,
        ["models", "--mlflow-uri", exported.uri, "promote", "--name", NAME, "--version", "999",
         "--alias", "validated", "--reason", "x"],
    )  # fmt: skip
    assert res.exit_code == 2
