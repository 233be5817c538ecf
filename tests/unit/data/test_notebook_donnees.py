"""The data exploration notebook (jupytext percent script) runs on a small prepared dataset
(COCO + YOLO + CVAT video) and prints its counts, coverage gaps and validation verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_fixture import TAXONOMY, write_mixed_sources

from veilleur.data.expectations import validate_dataset
from veilleur.data.ingest import export_prepared, load_taxonomy
from veilleur.data.ingest.multi import ingest_sources, load_sources_manifest
from veilleur.data.prepare import PrepareParams

NOTEBOOK = Path(__file__).parents[3] / "notebooks" / "exploration_donnees.py"


@pytest.mark.slow
@pytest.mark.req("EX-086", "EX-087")
def test_exploration_notebook_runs_on_a_prepared_dataset(tmp_path: Path) -> None:
    write_mixed_sources(tmp_path)
    multi = ingest_sources(
        load_sources_manifest(tmp_path / "sources.yaml"), load_taxonomy(TAXONOMY)
    )
    data, reports = tmp_path / "processed", tmp_path / "reports"
    result = export_prepared(list(multi.datasets), data, PrepareParams())
    assert validate_dataset(data, reports).success
    env = {
        **os.environ,
        "VEILLEUR_DATA": str(data),
        "VEILLEUR_REPORTS": str(reports),
        "VEILLEUR_PARAMS": str(tmp_path / "absent.yaml"),
    }
    env.pop("VEILLEUR_NOTEBOOK_FIFTYONE", None)
    r = subprocess.run(
        [sys.executable, str(NOTEBOOK)], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"version {result.dataset_version[:12]}" in out
    assert "parvis-coco (coco), quai-yolo (yolo), gare-cvat (cvat)" in out
    # 6 + 4 images, 3 of the 9 video frames (frame_stride 3); 7 + 8 + 3 x 2 boxes.
    assert "Total : 6 clips, 13 images, 21 boîtes" in out
    for split, counts in result.counts.items():
        line = rf"^\s*{split}\s+{counts['clips']}\s+{counts['images']}\s+{counts['boxes']}$"
        assert re.search(line, out, re.M), (split, counts)
    assert re.search(r"^person\s+.*\s13$", out, re.M) and re.search(r"^bag\s+.*\s1$", out, re.M)
    # The YOLO source is declared at night by the manifest: 4 images.
    assert re.search(r"Éclairage = nuit : 4 images \(train \d, val \d, test \d\), 8 boîtes", out)
    assert "Objectifs : Aucun objectif de couverture fixé." in out
    assert re.search(r"\d+ lacune\(s\) de tranche", out)
    assert "Validation Great Expectations : conforme (" in out and "0 en échec)" in out
    assert "Vue FiftyOne non construite" in out
