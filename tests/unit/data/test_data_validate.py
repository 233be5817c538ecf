"""``veilleur data validate``: the prepare stage's Great Expectations suites on an ingested
dataset (the ``validate`` stage of data/pipelines/reel), and its failure paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_image, write_yolo_source

from veilleur.data.access_log import ENV_VAR, entries
from veilleur.data.stages import data as stage


@pytest.fixture(autouse=True)
def _access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "acces-donnees.db"))


@pytest.mark.slow
@pytest.mark.req("EX-084", "EX-086")
def test_validate_rejects_a_dataset_below_4cif(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_yolo_source(tmp_path / "src", folders=3)
    for image in (src / "images").rglob("*.jpg"):  # 320x240 instead of 704x576
        write_image(image, 320, 240)
    out = tmp_path / "out"
    args = ["ingest", str(src), "--format", "yolo", "--taxonomy", str(TAXONOMY), "--out", str(out)]
    assert stage.main(args) == 0
    capsys.readouterr()
    status = stage.main(["validate", str(out), "--reports", str(tmp_path / "reports")])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert status == 1 and summary["ok"] is False and summary["failed"] >= 2
    assert "EX-006: image width ≥ 704 px (4CIF)" in captured.err
    assert f"{summary['failed']} of {summary['evaluated']} expectations failed" in captured.err
    report = json.loads((tmp_path / "reports" / "validation.json").read_text(encoding="utf-8"))
    assert report["success"] is False and report["dataset_version"] == summary["dataset_version"]
    assert entries(str(tmp_path / "acces-donnees.db"))[0]["details"]["command"] == "validate"


@pytest.mark.req("EX-084")
def test_validate_refuses_a_missing_dataset_or_bad_params(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = stage.main(["validate", str(tmp_path / "absent"), "--reports", str(tmp_path / "r")])
    assert status == 2 and "the dataset cannot be read" in capsys.readouterr().err
    params = tmp_path / "params.yaml"
    params.write_text("prepare:\n  couverture: {}\n", encoding="utf-8")
    status = stage.main(["validate", str(tmp_path), "--params", str(params)])
    assert status == 2 and "couverture" in capsys.readouterr().err
