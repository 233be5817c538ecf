"""Bad input gets a clear error: exit code ≠ 0 and a message naming the file and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

VEILLEUR = str(Path(sys.executable).parent / "veilleur")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VEILLEUR, *args], capture_output=True, text=True, timeout=120)


def write_site(path: Path, clip: str, model: str, **camera_extra: object) -> Path:
    cam: dict[str, object] = {
        "id": "cam",
        "source": {"url": clip},
        "zones": [{"id": "z", "kind": "polygon", "points": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}],
        "rules": [{"id": "r", "type": "franchissement", "zone": "z"}],
    }
    cam.update(camera_extra)
    doc = {"version": 1, "site": {"name": "t"}, "model": {"path": model}, "cameras": [cam]}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.fixture
def yolox(shared_dir: Path) -> str:
    return str(shared_dir / "models" / "yolox_nano.onnx")


@pytest.mark.req("EX-052")
def test_invalid_config_names_file_and_field(tmp_path: Path, yolox: str):
    site = write_site(tmp_path / "site.yaml", "clip.mp4", yolox, analysis_fps=-1, colour="red")
    r = run("replay", str(tmp_path / "clip.mp4"), "--config", str(site))
    assert r.returncode == 2
    assert str(site) in r.stderr
    assert "cameras.0.analysis_fps" in r.stderr
    assert "cameras.0.colour: unknown field" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("make_clip", "message"),
    [
        (
            lambda p, real: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 1000),
            "not a readable video",
        ),
        (lambda p, real: p.write_bytes(real.read_bytes()[:200_000]), "truncated or corrupt"),
        (lambda p, real: None, "video file not found"),
    ],
    ids=["garbage", "truncated", "missing"],
)
def test_corrupt_clip_is_a_clear_error(
    tmp_path: Path, yolox: str, shared_dir: Path, make_clip, message
):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, shared_dir / "video" / "one-by-one-person-detection.mp4")
    site = write_site(tmp_path / "site.yaml", "clip.mp4", yolox)
    r = run("replay", str(clip), "--config", str(site))
    assert r.returncode == 3, r.stderr
    assert str(clip) in r.stderr and message in r.stderr


@pytest.mark.req("EX-131")
def test_model_hash_mismatch_refuses(tmp_path: Path, yolox: str):
    site = write_site(tmp_path / "site.yaml", "clip.mp4", yolox)
    doc = yaml.safe_load(site.read_text())
    doc["model"]["sha256"] = "0" * 64
    site.write_text(yaml.safe_dump(doc))
    r = run("replay", str(tmp_path / "clip.mp4"), "--config", str(site))
    assert r.returncode == 4
    assert "does not match" in r.stderr


def test_journal_verify_cli(tmp_path: Path):
    r = run("journal", "verify", str(tmp_path / "empty.db"))
    assert r.returncode == 0 and '"ok": true' in r.stdout
