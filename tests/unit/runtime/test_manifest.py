"""Deploy manifest (EX-131): written by ``veilleur manifest write``, enforced before loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.cli import EXIT_CONFIG, EXIT_MODEL, app, load_detector
from veilleur.runtime.config import load_site_config
from veilleur.runtime.detect.manifest import (
    MANIFEST_FILENAME,
    check_model,
    load_manifest,
    verify_manifest,
)
from veilleur.runtime.detect.onnx import ManifestError, file_sha256

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path, make_onnx) -> Path:
    """A deployment folder: model, class map file, and a site config that uses the manifest."""
    make_onnx({"dets": np.array([[[15, 20, 25, 40, 0.9, 0]]], np.float32)}, name="detector.onnx")
    (tmp_path / "cmap.yaml").write_text("map: {person: person}\n", encoding="utf-8")
    return write_site(tmp_path)


def write_site(folder: Path, **model) -> Path:
    doc = {
        "version": 1,
        "site": {"name": "Test"},
        "model": {
            "path": "detector.onnx",
            "class_map_file": "cmap.yaml",
            "manifest": MANIFEST_FILENAME,
            **model,
        },
        "cameras": [{"id": "cam", "source": {"url": "clip.mp4"}}],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def write(site: Path, *args: str):
    return runner.invoke(app, ["manifest", "write", "--config", str(site), *args])


def replay_exit(site: Path):
    return runner.invoke(app, ["replay", str(site.parent / "clip.mp4"), "--config", str(site)])


@pytest.mark.req("EX-131")
def test_write_then_verify(site: Path):
    r = write(site)
    assert r.exit_code == 0, r.output
    manifest = site.parent / MANIFEST_FILENAME
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    (entry,) = doc["models"]
    model = site.parent / "detector.onnx"
    assert entry == {
        "path": "detector.onnx",
        "sha256": file_sha256(model),
        "size": model.stat().st_size,
        "adapter": "nms",
        "class_map_file": "cmap.yaml",
        "class_map_sha256": file_sha256(site.parent / "cmap.yaml"),
    }
    assert doc["manifest_version"] == 1 and doc["engine_version"] == ENGINE_VERSION
    assert doc["created_utc"].endswith("Z")

    for args in (["--config", str(site)], [str(manifest)]):
        r = runner.invoke(app, ["manifest", "verify", *args])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["ok"] is True
    det = load_detector(load_site_config(site), site, None)
    assert det.info.adapter == "nms"


def test_write_to_another_path_and_verify_it(site: Path, tmp_path: Path):
    out = tmp_path / "deploy" / "m.json"
    assert write(site, "--out", str(out)).exit_code == 0
    assert load_manifest(out).models[0].path == "../detector.onnx"
    assert verify_manifest(out).ok


@pytest.mark.req("EX-131")
@pytest.mark.parametrize("tamper", ["append", "flip"])
def test_changed_model_refuses_to_start(site: Path, tamper: str):
    assert write(site).exit_code == 0
    model = site.parent / "detector.onnx"
    data = bytearray(model.read_bytes())
    if tamper == "append":
        data += b"\0"
    else:
        data[-1] ^= 0xFF  # same size, other content
    model.write_bytes(bytes(data))
    what = "size" if tamper == "append" else "SHA-256"

    with pytest.raises(
        ManifestError, match=rf"detector\.onnx: {what} .* the model file was changed"
    ):
        load_detector(load_site_config(site), site, None)
    r = replay_exit(site)
    assert r.exit_code == EXIT_CONFIG
    assert "refusing to start" in r.output and MANIFEST_FILENAME in r.output
    r = runner.invoke(app, ["manifest", "verify", "--config", str(site)])
    assert r.exit_code == EXIT_CONFIG
    report = json.loads(r.stdout)
    assert report["ok"] is False and "was changed" in report["problems"][0]


def test_missing_manifest_refuses_to_start(site: Path):
    with pytest.raises(ManifestError, match=r"deploy manifest not found.*manifest write"):
        load_detector(load_site_config(site), site, None)
    r = replay_exit(site)
    assert r.exit_code == EXIT_CONFIG and "deploy manifest not found" in r.output
    r = runner.invoke(app, ["manifest", "verify", "--config", str(site)])
    assert r.exit_code == EXIT_CONFIG


def test_missing_model_file_is_reported(site: Path):
    assert write(site).exit_code == 0
    (site.parent / "detector.onnx").unlink()
    report = verify_manifest(site.parent / MANIFEST_FILENAME)
    assert not report.ok and "model file listed in" in report.problems[0]
    assert "is missing" in report.problems[0]


def test_changed_class_map_file_refuses_to_start(site: Path):
    assert write(site).exit_code == 0
    (site.parent / "cmap.yaml").write_text("map: {person: weapon}\n", encoding="utf-8")
    with pytest.raises(
        ManifestError, match=r"cmap\.yaml: SHA-256 .* the class map file was changed"
    ):
        load_detector(load_site_config(site), site, None)


def test_class_map_file_not_in_manifest(site: Path):
    assert write(site).exit_code == 0
    manifest = site.parent / MANIFEST_FILENAME
    other = site.parent / "other.yaml"
    other.write_text("map: {person: vehicle}\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"other\.yaml: SHA-256"):
        check_model(manifest, site.parent / "detector.onnx", class_map_file=other)
    with pytest.raises(ManifestError, match=r"records class map file cmap\.yaml .* uses none"):
        check_model(manifest, site.parent / "detector.onnx")


def test_model_not_listed(site: Path, make_onnx):
    assert write(site).exit_code == 0
    other = make_onnx({"dets": np.zeros((1, 1, 6), np.float32) + 1}, name="other.onnx")
    with pytest.raises(ManifestError, match=r"model .*other.onnx is not listed .*detector\.onnx"):
        check_model(site.parent / MANIFEST_FILENAME, other)


def test_adapter_disagreeing_with_manifest(site: Path):
    assert write(site).exit_code == 0
    write_site(site.parent, adapter="yolo")
    with pytest.raises(ManifestError, match="adapter 'yolo', the manifest records 'nms'"):
        load_detector(load_site_config(site), site, None)


def test_invalid_manifest_names_the_file(site: Path):
    manifest = site.parent / MANIFEST_FILENAME
    manifest.write_text('{"models": []}', encoding="utf-8")
    with pytest.raises(ManifestError, match=r"(?s)deploy-manifest\.json: invalid deploy manifest"):
        load_detector(load_site_config(site), site, None)
    manifest.write_text("{not json", encoding="utf-8")
    r = runner.invoke(app, ["manifest", "verify", str(manifest)])
    assert r.exit_code == EXIT_CONFIG and "cannot read the deploy manifest" in r.output


def test_no_manifest_configured_means_no_check(site: Path):
    write_site(site.parent, manifest=None)
    assert load_detector(load_site_config(site), site, None).info.adapter == "nms"


def test_write_refuses_a_model_that_fails_its_configured_hash(site: Path):
    write_site(site.parent, sha256="0" * 64)
    r = write(site)
    assert r.exit_code == EXIT_MODEL and "does not match" in r.output
    assert not (site.parent / MANIFEST_FILENAME).exists()


def test_write_reports_a_bad_class_map_file_as_config_error(site: Path):
    (site.parent / "cmap.yaml").write_text("map: {person: personne}\n", encoding="utf-8")
    r = write(site)
    assert r.exit_code == EXIT_CONFIG and "map.person: 'personne'" in r.output
