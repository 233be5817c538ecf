"""`veilleur config backup|backups|verify-backup|restore` and `veilleur logs` (EX-024, EX-030,
EX-031, EX-133), through the real command."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from veilleur.runtime.cli import app
from veilleur.runtime.ops.applog import setup_app_logging

runner = CliRunner()


def write_site(root: Path, name: str = "Stade") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "classes.yaml").write_text("source_classes: [person]\nmap: {person: person}\n")
    (root / "retention.yaml").write_text("alert: 30\n")
    doc = {
        "version": 1,
        "site": {"name": name},
        "model": {"path": "det.onnx", "class_map_file": "classes.yaml"},
        "cameras": [{"id": "cam", "source": {"url": "clip.mp4"}}],
    }
    path = root / "site.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


@pytest.mark.req("EX-030", "EX-031", "EX-133")
def test_config_backup_list_verify_restore(tmp_path: Path) -> None:
    config = write_site(tmp_path / "site")
    dest = tmp_path / "backups"
    made = []
    for _ in range(3):
        r = runner.invoke(
            app,
            ["config", "backup", "--config", str(config), "--to", str(dest), "--keep", "2",
             "--note", "manuelle", "--include", str(tmp_path / "site" / "retention.yaml")],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert set(out["files"]) == {
            "config/site.yaml", "config/classes.yaml", "config/retention.yaml",
        }  # fmt: skip
        made.append(out["backup"])
    assert len(list(dest.glob("*.tar.gz"))) == 2  # rotation

    r = runner.invoke(app, ["config", "backups", str(dest)])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.stdout)
    assert [b["path"] for b in listed] == [made[2], made[1]]
    assert listed[0]["note"] == "manuelle" and listed[0]["site_name"] == "Stade"

    r = runner.invoke(app, ["config", "verify-backup", made[2]])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True

    write_site(tmp_path / "site", name="Autre")
    r = runner.invoke(app, ["config", "restore", made[2], "--config", str(config)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert yaml.safe_load(config.read_text())["site"]["name"] == "Stade"
    assert len(report["previous_copies"]) == 1
    assert "Autre" in Path(report["previous_copies"][0]).read_text()


@pytest.mark.req("EX-133")
def test_config_errors_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    config = write_site(tmp_path / "site")
    dest = tmp_path / "b"
    r = runner.invoke(app, ["config", "backup", "--config", str(config), "--to", str(dest)])
    archive = json.loads(r.stdout)["backup"]

    # tampered archive: verify and restore both refuse, naming the file
    with tarfile.open(archive, "r:gz") as tar:
        files = {ti.name: tar.extractfile(ti).read() for ti in tar}  # type: ignore[union-attr]
    files["config/classes.yaml"] = b"source_classes: [weapon]\nmap: {}\n"
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    r = runner.invoke(app, ["config", "verify-backup", str(bad)])
    assert r.exit_code == 2 and json.loads(r.stdout)["ok"] is False
    assert "SHA-256 incorrecte pour config/classes.yaml" in r.stderr
    before = config.read_bytes()
    r = runner.invoke(app, ["config", "restore", str(bad), "--config", str(config)])
    assert r.exit_code == 2 and r.stderr.startswith("erreur: ")
    assert "restauration refusée, rien n'a été modifié" in r.stderr
    assert config.read_bytes() == before

    r = runner.invoke(
        app, ["config", "backup", "--config", str(tmp_path / "x.yaml"), "--to", str(dest)]
    )
    assert r.exit_code == 2 and "configuration invalide" in r.stderr
    r = runner.invoke(
        app, ["config", "backup", "--config", str(config), "--to", str(dest), "--keep", "0"]
    )
    assert r.exit_code == 2 and "--keep" in r.stderr
    r = runner.invoke(app, ["config", "backups", str(tmp_path / "none")])
    assert r.exit_code == 2 and "introuvable" in r.stderr
    r = runner.invoke(
        app, ["config", "restore", str(tmp_path / "none.tar.gz"), "--config", str(config)]
    )
    assert r.exit_code == 2 and "sauvegarde introuvable" in r.stderr


@pytest.mark.req("EX-023", "EX-024")
def test_logs_command_filters_records(tmp_path: Path) -> None:
    path = tmp_path / "veilleur.log"
    logger = logging.getLogger("veilleur.test.cli_logs")
    logger.propagate = False
    handler = setup_app_logging(path, "info", logger=logger)
    try:
        logger.info("démarrage")
        logger.warning("flux lent", extra={"camera": "cam-01"})
        logger.error("caméra perdue", extra={"camera": "cam-02"})
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()

    r = runner.invoke(app, ["logs", "--file", str(path)])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["message"] for x in recs] == ["flux lent", "caméra perdue"]
    r = runner.invoke(app, ["logs", "--file", str(path), "--level", "info", "--camera", "cam-02"])
    assert [json.loads(x)["message"] for x in r.stdout.splitlines()] == ["caméra perdue"]
    r = runner.invoke(app, ["logs", "--file", str(path), "--since", "2999-01-01T00:00:00Z"])
    assert r.exit_code == 0 and r.stdout == ""

    r = runner.invoke(app, ["logs", "--file", str(path), "--level", "bavard"])
    assert r.exit_code == 2 and "niveau de journal inconnu" in r.stderr
    r = runner.invoke(app, ["logs", "--file", str(path), "--since", "hier"])
    assert r.exit_code == 2 and "date invalide" in r.stderr
    r = runner.invoke(app, ["logs", "--file", str(tmp_path / "absent.log")])
    assert r.exit_code == 2 and "introuvable" in r.stderr
