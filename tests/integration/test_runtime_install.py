"""The runtime installs and runs on its own: a fresh virtual environment with only the
``runtime`` extra (no torch, lightning, mlflow, fiftyone) replays a clip with a real detector."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.req("EX-013")
def test_runtime_extra_alone_installs_and_replays(
    repo_root: Path, shared_dir: Path, tmp_path: Path
):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    r = subprocess.run(
        [*pip, "install", "-e", f"{repo_root}[runtime]"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]
    listing = (
        "import importlib.metadata as m; "
        "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    )
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", listing], capture_output=True, text=True, check=True
    )
    names = {n.strip().lower().replace("_", "-") for n in installed.stdout.splitlines()}
    assert not names & {"torch", "lightning", "mlflow", "fiftyone", "great-expectations", "dvc"}
    assert {"onnxruntime", "av", "fastapi", "sqlalchemy"} <= names

    site = tmp_path / "site.yaml"
    site.write_text(
        "version: 1\nsite: {name: test}\n"
        f"model: {{path: {shared_dir / 'models' / 'yolox_nano.onnx'}}}\n"
        "cameras:\n  - id: salle\n"
        f"    source: {{url: {shared_dir / 'video' / 'one-by-one-person-detection.mp4'}}}\n"
        "    analysis_fps: 2\n"
        "    zones: [{id: z, kind: polygon,"
        " points: [[0.4, 0.5], [0.8, 0.5], [0.8, 1.0], [0.4, 1.0]]}]\n"
        "    rules: [{id: r, type: franchissement, zone: z, min_duration_s: 0.5}]\n"
    )
    r = subprocess.run(
        [str(venv / "bin" / "veilleur"), "replay",
         str(shared_dir / "video" / "one-by-one-person-detection.mp4"), "--config", str(site)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    alerts = [json.loads(line) for line in r.stdout.splitlines()]
    assert alerts and {a["event"] for a in alerts} == {"franchissement"}
    # a pipeline stage says which extra it needs instead of crashing
    r = subprocess.run([str(venv / "bin" / "veilleur"), "train"], capture_output=True, text=True)
    assert r.returncode == 5 and "veilleur[train]" in r.stderr
