"""The real-data DVC pipeline template (data/pipelines/reel) on a mixed-source fixture.

A throw-away git + DVC repository gets the template, the taxonomy and the data package (the
stages' code dependencies), COCO + YOLO + CVAT-video raw sources tracked by ``dvc add`` and
pushed to a local DVC remote; ``dvc repro`` then ingests and validates them. Checked: counts
and provenance per source, the validation verdict, the same ``dataset_version`` on a forced
second run, raw data checksummed in ``.dvc`` files and in the remote but never in git, and
the data access log's entries and chain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from ingest_fixture import write_mixed_sources

from veilleur.data import access_log

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
TEMPLATE = REPO / "data" / "pipelines" / "reel"
SOURCES = ("parvis-coco", "quai-yolo", "gare-cvat")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.req("EX-084", "EX-086", "EX-122")
def test_real_data_pipeline_template_on_mixed_sources(tmp_path: Path) -> None:
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    pipe = repo / "data" / "pipelines" / "reel"
    shutil.copytree(TEMPLATE, pipe)
    shutil.copy2(REPO / "data" / "taxonomy.yaml", repo / "data" / "taxonomy.yaml")
    shutil.copytree(
        REPO / "data" / "veilleur",
        repo / "data" / "veilleur",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    expected = write_mixed_sources(pipe)
    log_path = tmp_path / "acces-donnees.db"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "VEILLEUR_DATA_ACCESS_LOG": str(log_path),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    dvc = str(BIN / "dvc")
    _run(["git", "init", "-q"], repo, env)
    _run([dvc, "init", "-q"], repo, env)
    _run([dvc, "remote", "add", "-d", "local", str(remote)], repo, env)
    _run([dvc, "add", *(f"raw/{s}" for s in SOURCES)], pipe, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "sources brutes suivies par DVC"], repo, env)
    _run([dvc, "push"], repo, env)

    # Raw data: checksummed in .dvc files, in the remote, never in git.
    tracked = _run(["git", "ls-files"], repo, env).split()
    assert not [f for f in tracked if f.endswith((".jpg", ".mp4", ".xml", "annotations.json"))]
    assert not [f for f in tracked if "/raw/" in f and "/source.yaml" in f]
    for source in SOURCES:
        assert f"data/pipelines/reel/raw/{source}.dvc" in tracked
        out = yaml.safe_load((pipe / "raw" / f"{source}.dvc").read_text())["outs"][0]
        assert out["md5"].endswith(".dir") and len(out["md5"]) == 36 and out["nfiles"] > 2
    pushed = [p for p in remote.rglob("*") if p.is_file()]
    assert len(pushed) >= 6 + 4 + 4 + 1 + 3  # images, labels, video, annotations, sidecars

    _run([dvc, "repro", "data/pipelines/reel/dvc.yaml"], repo, env)
    processed = pipe / "processed"
    manifest = _json(processed / "manifest.json")
    version = manifest["dataset_version"]
    assert [s["name"] for s in manifest["source"]["sources"]] == list(SOURCES)
    reports = {r["source"]: r for r in manifest["ingest"]}
    for source in SOURCES:
        assert reports[source]["samples"] == expected["samples"][source]
        assert reports[source]["boxes"] == expected["boxes"][source]
        assert reports[source]["format"] == expected["format"][source]
    clips = _json(processed / "splits.json")["clips"]
    assert dict(Counter(c["source"] for c in clips.values())) == expected["clips"]
    assert len(clips) == len(manifest["clips"]) == 6  # clip ids unique across sources

    # Every image keeps its own source's provenance (manifest overrides applied).
    seen: Counter[str] = Counter()
    for split in ("train", "val", "test"):
        coco = _json(processed / split / "annotations.json")
        for image in coco["images"]:
            prov = image["provenance"]
            seen[prov["source"]] += 1
            assert prov["site"] == expected["site"][prov["source"]]
            assert prov["source_format"] == expected["format"][prov["source"]]
            assert image["clip"].startswith(prov["source"] + "-")
            if prov["source"] == "quai-yolo":
                assert image["metadata"]["lighting"] == "night"
            if prov["source"] == "gare-cvat":
                assert prov["camera"] == "cam-gare"
    assert seen == {"parvis-coco": 6, "quai-yolo": 4, "gare-cvat": 3}  # frame_stride 3 of 9

    validation = _json(pipe / "reports" / "validation.json")
    assert validation["success"] is True and validation["failed"] == 0
    assert validation["dataset_version"] == version
    lock = yaml.safe_load((pipe / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"ingest", "validate"}
    assert _run(["git", "check-ignore", "data/pipelines/reel/processed"], repo, env).strip()

    # A forced rerun of the ingest gives the same dataset version.
    _run(
        [dvc, "repro", "--force", "--single-item", "data/pipelines/reel/dvc.yaml:ingest"], repo, env
    )
    assert _json(processed / "manifest.json")["dataset_version"] == version

    # Who read what and exported what: 2 ingests x (read + export), 1 validation read.
    entries = access_log.entries(str(log_path))
    assert Counter((e["details"]["command"], e["event"]) for e in entries) == {
        ("ingest", "read"): 2,
        ("ingest", "export"): 2,
        ("validate", "read"): 1,
    }
    exports = [e for e in entries if e["event"] == "export"]
    assert {e["details"]["dataset_version"] for e in exports} == {version}
    assert all(e["actor"] and e["outcome"] == "succes" for e in entries)
    assert access_log.verify(str(log_path)).ok
