"""Configuration backup and restore (EX-030, EX-031, EX-133): real archives in real folders,
and every way a restore must refuse."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.config import CONFIG_VERSION, load_site_config
from veilleur.runtime.ops.backup import (
    MANIFEST_NAME,
    BackupError,
    BackupScheduler,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
    verify_backup,
)

SITE: dict[str, Any] = {
    "version": 1,
    "site": {"name": "Stade", "timezone": "Europe/Paris"},
    "model": {
        "path": "models/det.onnx",
        "adapter": "yolox",
        "class_map_file": "maps/classes.yaml",
        "manifest": "deploy-manifest.json",
    },
    "cameras": [
        {
            "id": "cam-01",
            "source": {"url": "clips/clip.mp4"},
            "zones": [{"id": "z", "kind": "polygon", "points": [[0, 0], [1, 0], [1, 1]]}],
            "rules": [{"id": "r", "type": "franchissement", "zone": "z"}],
        }
    ],
}


def make_site(root: Path, name: str = "Stade") -> Path:
    """A site folder: site.yaml, its class map and deploy manifest, a model and a video."""
    doc = json.loads(json.dumps(SITE))
    doc["site"]["name"] = name
    (root / "maps").mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    (root / "clips").mkdir(exist_ok=True)
    (root / "maps" / "classes.yaml").write_text(
        "source_classes: [person]\nmap: {person: person}\n", encoding="utf-8"
    )
    (root / "deploy-manifest.json").write_text('{"models": []}\n', encoding="utf-8")
    (root / "models" / "det.onnx").write_bytes(b"fake onnx model" * 100)
    (root / "clips" / "clip.mp4").write_bytes(b"fake video" * 1000)
    path = root / "site.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            ti.name: tar.extractfile(ti).read()  # type: ignore[union-attr]
            for ti in tar
            if ti.isfile()
        }


def rewrite(archive: Path, files: dict[str, bytes], out: Path | None = None) -> Path:
    out = out or archive
    with tarfile.open(out, "w:gz") as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    return out


@pytest.mark.req("EX-030", "EX-133")
def test_backup_holds_config_files_and_manifest_not_videos_or_model(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    t = datetime(2026, 7, 14, 8, 30, tzinfo=UTC)
    info = create_backup(config, tmp_path / "backups", note="avant la finale", actor="admin", now=t)
    archive = Path(info.path)
    assert archive.name == "veilleur-config-20260714T083000.000Z.tar.gz"
    files = members(archive)
    assert set(files) == {
        "config/site.yaml",
        "config/maps/classes.yaml",
        "config/deploy-manifest.json",
        MANIFEST_NAME,
    }
    manifest = json.loads(files[MANIFEST_NAME])
    site_bytes = config.read_bytes()
    assert manifest["config_hash"] == hashlib.sha256(site_bytes).hexdigest()
    assert manifest["config_version"] == load_site_config(config).digest()
    assert manifest["config_schema_version"] == CONFIG_VERSION
    assert manifest["engine_version"] == ENGINE_VERSION
    assert manifest["created_utc"].startswith("2026-07-14T08:30:00")
    assert manifest["note"] == "avant la finale" and manifest["actor"] == "admin"
    model_sha = hashlib.sha256((tmp_path / "site/models/det.onnx").read_bytes()).hexdigest()
    assert manifest["model"]["sha256"] == model_sha and manifest["model"]["present"] is True
    for m in manifest["members"]:
        assert hashlib.sha256(files[m["name"]]).hexdigest() == m["sha256"]
        assert len(files[m["name"]]) == m["size"]
    assert {m["role"] for m in manifest["members"]} == {"site", "class_map", "deploy_manifest"}
    report = verify_backup(archive)
    assert report.ok, report.problems
    assert report.info is not None and report.info.site_name == "Stade"


@pytest.mark.req("EX-030")
def test_extra_files_inside_and_outside_the_site_folder(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    inside = tmp_path / "site" / "retention.yaml"
    inside.write_text("alert: 30\n", encoding="utf-8")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("review: 365\n", encoding="utf-8")
    info = create_backup(config, tmp_path / "b", extra_files=[inside, outside])
    names = set(members(Path(info.path)))
    assert "config/retention.yaml" in names and "external/1-elsewhere.yaml" in names
    assert verify_backup(info.path).ok
    # restore: the external file is recorded but never written outside the site folder
    outside.write_text("changed\n", encoding="utf-8")
    target = make_site(tmp_path / "restored")
    report = restore_backup(info.path, target)
    assert (tmp_path / "restored" / "retention.yaml").read_text() == "alert: 30\n"
    assert report.skipped == [str(outside.resolve())]
    assert outside.read_text() == "changed\n"


@pytest.mark.req("EX-030", "EX-133")
def test_restore_replaces_config_and_keeps_timestamped_copies(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    info = create_backup(config, tmp_path / "b")
    original = config.read_bytes()
    original_map = (tmp_path / "site/maps/classes.yaml").read_bytes()
    # the site changes after the backup
    changed = make_site(tmp_path / "site", name="Stade modifié")
    (tmp_path / "site/maps/classes.yaml").write_text("source_classes: [x]\nmap: {}\n")
    changed_bytes = changed.read_bytes()
    t = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
    report = restore_backup(info.path, config, now=t)
    assert config.read_bytes() == original
    assert (tmp_path / "site/maps/classes.yaml").read_bytes() == original_map
    assert load_site_config(config).site.name == "Stade"
    assert report.config_version == load_site_config(config).digest()
    copy = tmp_path / "site" / "site.yaml.20260715T090000.000Z.avant-restauration"
    assert str(copy) in report.previous_copies and copy.read_bytes() == changed_bytes
    assert len(report.previous_copies) == 2  # site file and class map; manifest unchanged
    assert report.warnings == []
    # no temporary files left behind
    assert not list((tmp_path / "site").rglob("*.tmp"))


@pytest.mark.req("EX-133")
def test_restore_warns_when_the_model_in_place_differs(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    info = create_backup(config, tmp_path / "b")
    (tmp_path / "site/models/det.onnx").write_bytes(b"another model")
    report = restore_backup(info.path, config)
    assert any("modèle en place" in w for w in report.warnings)


def _assert_refused(archive: Path, config: Path, match: str) -> None:
    before = {p: p.read_bytes() for p in config.parent.rglob("*") if p.is_file()}
    report = verify_backup(archive)
    assert not report.ok
    assert any(match in p for p in report.problems), report.problems
    with pytest.raises(BackupError, match=match):
        restore_backup(archive, config)
    after = {p: p.read_bytes() for p in config.parent.rglob("*") if p.is_file()}
    assert after == before, "a refused restore must not write anything"


@pytest.mark.req("EX-133")
def test_tampered_member_is_refused(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    files["config/maps/classes.yaml"] = b"source_classes: [weapon]\nmap: {}\n"
    rewrite(archive, files)
    _assert_refused(archive, config, "SHA-256 incorrecte pour config/maps/classes.yaml")


@pytest.mark.req("EX-133")
def test_undeclared_and_missing_members_are_refused(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    del files["config/deploy-manifest.json"]
    files["config/surprise.sh"] = b"#!/bin/sh\n"
    rewrite(archive, files)
    _assert_refused(archive, config, "fichier manquant dans l'archive : config/deploy-manifest")
    assert any("non déclaré" in p for p in verify_backup(archive).problems)


@pytest.mark.req("EX-133")
@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../../evil.yaml", "remontant hors du dossier"),
        ("config/../../evil.yaml", "remontant hors du dossier"),
        ("/etc/evil.yaml", "chemin absolu refusé"),
    ],
)
def test_path_traversal_members_are_refused(tmp_path: Path, name: str, match: str) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    files[name] = b"pwned: true\n"
    rewrite(archive, files)
    _assert_refused(archive, config, match)
    assert not (tmp_path / "evil.yaml").exists()


@pytest.mark.req("EX-133")
def test_traversal_in_manifest_ref_is_refused(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    manifest = json.loads(files[MANIFEST_NAME])
    for m in manifest["members"]:
        if m["role"] == "class_map":
            m["ref"] = "../../outside.yaml"
    files[MANIFEST_NAME] = json.dumps(manifest).encode()
    rewrite(archive, files)
    _assert_refused(archive, config, "chemin de restauration refusé")


@pytest.mark.req("EX-133")
@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_in_the_archive_are_refused(tmp_path: Path, kind: bytes) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    with tarfile.open(archive, "w:gz") as tar:
        for n, data in files.items():
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        link = tarfile.TarInfo("config/link.yaml")
        link.type = kind
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    _assert_refused(archive, config, "lien refusé")


@pytest.mark.req("EX-133")
def test_invalid_config_inside_is_refused_before_writing(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    bad = yaml.safe_dump({**SITE, "cameras": [{"id": "c", "sourc": {"url": "x.mp4"}}]}).encode()
    files["config/site.yaml"] = bad
    manifest = json.loads(files[MANIFEST_NAME])
    for m in manifest["members"]:  # consistent sums: only the validation can catch it
        if m["role"] == "site":
            m["sha256"], m["size"] = hashlib.sha256(bad).hexdigest(), len(bad)
    manifest["config_hash"] = hashlib.sha256(bad).hexdigest()
    files[MANIFEST_NAME] = json.dumps(manifest).encode()
    rewrite(archive, files)
    _assert_refused(archive, config, "configuration invalide dans la sauvegarde")


@pytest.mark.req("EX-133")
def test_corrupt_truncated_and_foreign_archives(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    data = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    _assert_refused(truncated, config, "archive illisible ou corrompue")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"this is not a tar archive at all" * 10)
    _assert_refused(garbage, config, "archive illisible ou corrompue")
    foreign = rewrite(tmp_path / "x", {"config/site.yaml": b"version: 1\n"}, tmp_path / "f.tar.gz")
    _assert_refused(foreign, config, "manifest.json absent")
    _assert_refused(tmp_path / "missing.tar.gz", config, "sauvegarde introuvable")


@pytest.mark.req("EX-030")
def test_backup_of_a_broken_site_fails_clearly(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    (tmp_path / "site/maps/classes.yaml").unlink()
    with pytest.raises(BackupError, match=r"introuvable.*classes\.yaml"):
        create_backup(config, tmp_path / "b")
    config.write_text("version: 1\nsite: {name: x}\ncameras: []\n")
    with pytest.raises(BackupError, match="configuration invalide"):
        create_backup(config, tmp_path / "b")
    with pytest.raises(BackupError, match="configuration invalide"):
        create_backup(tmp_path / "nope.yaml", tmp_path / "b")
    assert not list((tmp_path / "b").glob("*.tar.gz")) if (tmp_path / "b").exists() else True


@pytest.mark.req("EX-031")
def test_list_and_prune_keep_the_newest(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    dest = tmp_path / "b"
    paths = [
        Path(create_backup(config, dest, now=datetime(2026, 7, d, tzinfo=UTC)).path)
        for d in (1, 2, 3, 4)
    ]
    (dest / "veilleur-config-20260705T000000.000Z.tar.gz").write_bytes(b"broken")
    listed = list_backups(dest)
    assert Path(listed[0].path).name == "veilleur-config-20260705T000000.000Z.tar.gz"
    assert listed[0].error is not None and "corrompue" in listed[0].error
    assert [i.path for i in listed[1:]] == [str(p) for p in reversed(paths)]
    assert all(i.error is None and i.config_version for i in listed[1:])
    removed = prune_backups(dest, keep=2)
    assert sorted(removed) == paths[:3]
    assert {p.name for p in dest.iterdir()} == {
        paths[3].name,
        "veilleur-config-20260705T000000.000Z.tar.gz",
    }
    with pytest.raises(BackupError, match="au moins une"):
        prune_backups(dest, keep=0)
    with pytest.raises(BackupError, match="introuvable"):
        list_backups(tmp_path / "nothing")


@pytest.mark.req("EX-030")
def test_two_backups_in_the_same_millisecond_do_not_collide(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    t = datetime(2026, 7, 1, tzinfo=UTC)
    a = create_backup(config, tmp_path / "b", now=t)
    b = create_backup(config, tmp_path / "b", now=t)
    assert a.path != b.path and verify_backup(b.path).ok


@pytest.mark.req("EX-031")
def test_scheduler_backs_up_periodically_with_rotation(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    dest = tmp_path / "b"
    sched = BackupScheduler(config, dest, interval_s=0.05, keep=2)
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while sched.runs < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sched.stop()
    assert not sched.running
    assert sched.runs >= 4 and sched.last_error is None
    kept = sorted(dest.glob("*.tar.gz"))
    assert len(kept) == 2
    assert all(verify_backup(p).ok for p in kept)
    assert sched.state()["last_backup"] in {str(p) for p in kept}
    # a failing backup is reported, not raised, and the next run retries
    config.write_text("not: [valid")
    assert sched.run_once() is None
    assert sched.last_error is not None and "configuration invalide" in sched.last_error
    with pytest.raises(BackupError):
        BackupScheduler(config, dest, interval_s=0, keep=1)


@pytest.mark.req("EX-133")
@pytest.mark.parametrize(
    "manifest",
    [
        {"format": "autre/1", "members": []},
        {"format": "veilleur-config-backup/1", "members": [{"name": "config/site.yaml"}]},
        {"format": "veilleur-config-backup/1", "members": "config/site.yaml"},
        [1, 2, 3],
    ],
)
def test_malformed_manifests_are_refused(tmp_path: Path, manifest: Any) -> None:
    config = make_site(tmp_path / "site")
    archive = Path(create_backup(config, tmp_path / "b").path)
    files = members(archive)
    files[MANIFEST_NAME] = json.dumps(manifest).encode()
    rewrite(archive, files)
    _assert_refused(archive, config, archive.name)
    listed = list_backups(tmp_path / "b")
    assert listed[0].error is not None
