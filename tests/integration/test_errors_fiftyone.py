"""The error list of the report loads as a FiftyOne view (bundled MongoDB, ~8 s).

FiftyOne runs in a child process: imported after mlflow in one interpreter, its ``eta``
dependency fails on package metadata (KeyError 'author'), and its mongod belongs to that child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from veilleur.evaluation.errors import DetectionError, ErrorAnalysis, write_fiftyone_samples

_CHILD = """
import json, sys
from pathlib import Path
from veilleur.evaluation.errors import load_fiftyone_view
view = load_fiftyone_view(Path(sys.argv[1]), dataset_name="veilleur-erreurs-test")
(sample,) = list(view)
print(json.dumps({
    "n": len(view),
    "tags": view.count_sample_tags(),
    "labels": sorted(d.label for d in sample["errors"].detections),
    "boxes": {d.label: d.bounding_box for d in sample["errors"].detections},
}))
"""

pytestmark = pytest.mark.slow


@pytest.mark.req("EX-065", "EX-087")
def test_error_samples_load_as_a_fiftyone_view(tmp_path: Path) -> None:
    assert cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((100, 200, 3), np.uint8))
    fp = DetectionError(
        "fp", "fond", 0.9, 1, "a.jpg", "c1", "person", (10, 10, 20, 20), 0.9, 200, 100
    )
    fn = DetectionError(
        "fn", "petit objet", 1.0, 1, "a.jpg", "c1", "bag", (150, 80, 8, 8), None, 200, 100
    )
    analysis = ErrorAnalysis((fp,), (fn,), {"fond": 1}, {"petit objet": 1}, ())
    samples = write_fiftyone_samples(analysis, tmp_path, tmp_path / "erreurs.json")
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp_path / "db"),
           "FIFTYONE_DO_NOT_TRACK": "true"}  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, str(samples)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["n"] == 1
    assert got["tags"] == {"fp": 1, "fond": 1, "fn": 1, "petit objet": 1}
    assert got["labels"] == ["bag", "person"]
    assert got["boxes"]["person"] == pytest.approx([0.05, 0.1, 0.1, 0.2])
