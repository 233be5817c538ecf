"""``veilleur feedback`` end to end: a real engine journals alerts and their snapshots,
operators review them, the journal is exported with its chain, the feedback stage measures
the site precision per model and writes the rejected alerts as a COCO folder that
``veilleur data ingest`` imports (EX-065)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from veilleur.cli import app
from veilleur.data.ingest import ingest, load_source_config, load_taxonomy
from veilleur.runtime.config import parse_site_config
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.engine import Engine
from veilleur.runtime.evidence.snapshots import SnapshotStore
from veilleur.runtime.ingest.video import Frame
from veilleur.runtime.journal.repository import Journal
from veilleur.runtime.journal.reviews import comment, qualify

REPO = Path(__file__).resolve().parents[2]
MODEL_A, MODEL_B = "a" * 64, "b" * 64
ZONE = {"id": "z", "kind": "polygon", "points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]}


CAMERAS = ("cam-a", "cam-b", "cam-c")


def _site() -> Any:
    cams = [
        {
            "id": cam,
            "source": {"url": f"{cam}.mp4"},
            "view_monitor": {"enabled": False},
            "zones": [ZONE],
            "rules": [{"id": "intrus", "type": "franchissement", "zone": "z", "cooldown_s": 60}],
        }
        for cam in CAMERAS
    ]
    return parse_site_config({"version": 1, "site": {"name": "t"}, "cameras": cams})


class OnePerson:
    def detect_batch(self, frames: list[Any]) -> list[Detections]:
        return [Detections.from_arrays([[150, 20, 170, 90]], [0.9], [0]) for _ in frames]


def _frame(i: int) -> Frame:
    return Frame(index=i, t=i * 0.2, image=np.full((100, 200, 3), 60, dtype=np.uint8))


@pytest.fixture(scope="module")
def site_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two models on one site (a retraining), one alert per camera each, reviewed by
    operators, and the complete export of the journal (``--kind all``)."""
    root = tmp_path_factory.mktemp("site")
    journal = Journal(root / "journal.db")
    store = SnapshotStore(root / "cliches")
    ids: list[str] = []
    for model in (MODEL_A, MODEL_B):
        engine = Engine(_site(), OnePerson(), model, journal=journal, snapshots=store)
        for i in range(8):
            batch = [(cam, _frame(i)) for cam in CAMERAS]
            ids += [a.id for a in engine.process_batch(batch)]
    assert len(ids) == 6
    a1, a2, a3, b1, _b2, b3 = ids
    qualify(journal, a1, "vrai_positif", "opérateur 1")
    qualify(journal, a2, "faux_positif", "opérateur 1")
    comment(journal, a2, "Reflet sur la vitre", "opérateur 1")
    qualify(journal, a3, "faux_positif", "opérateur 1")
    qualify(journal, b1, "vrai_positif", "opérateur 2")
    qualify(journal, b1, "faux_positif", "chef de salle")  # the latest qualification counts
    qualify(journal, b3, "vrai_positif", "opérateur 2")
    # b2 is never reviewed
    export = root / "site-nord.jsonl"
    res = CliRunner().invoke(
        app, ["journal", "export", str(export), "--journal", str(root / "journal.db"),
              "--kind", "all"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"root": root, "export": export, "snapshots": root / "cliches", "ids": ids}


def _feedback(*args: str) -> Any:
    return CliRunner().invoke(app, ["feedback", *args])


@pytest.mark.req("EX-065", "EX-017")
def test_feedback_splits_precision_by_model_and_its_hard_negatives_ingest(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    out, hn = tmp_path / "rapport", tmp_path / "negatifs"
    res = _feedback("--export", str(site_export["export"]), "--out", str(out),
                    "--hard-negatives", str(hn), "--snapshots", str(site_export["snapshots"]),
                    "--retention-days", "30")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "6 alerte(s), 2 confirmée(s), 3 rejetée(s), 1 non qualifiée(s)" in res.output
    report = json.loads((out / "feedback.json").read_text(encoding="utf-8"))
    rows = {r["model_sha256"]: r for r in report["by_event"]}
    assert set(rows) == {MODEL_A, MODEL_B}  # one period, two models: two rows
    a, b = rows[MODEL_A], rows[MODEL_B]
    assert (a["alerts"], a["confirmed"], a["rejected"], a["unreviewed"]) == (3, 1, 2, 0)
    assert a["precision"] == pytest.approx(1 / 3)
    assert a["interval_95"] == pytest.approx([0.0615, 0.7923], abs=1e-4)
    assert (b["alerts"], b["confirmed"], b["rejected"], b["unreviewed"]) == (3, 1, 1, 1)
    assert b["precision"] == 0.5 and b["review_coverage"] == pytest.approx(2 / 3)
    cams = {(r["model_sha256"], r["camera"]): r for r in report["by_camera"]}
    assert len(cams) == 6 and cams[(MODEL_B, "cam-b")]["precision"] is None
    assert report["interval"]["method"] == "wilson"
    assert [m["model_sha256"] for m in report["models"]] == [MODEL_A, MODEL_B]
    assert report["sources"][0]["site"] == "site-nord"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "Précision par événement, période et modèle" in html and "data:image/png" in html

    # the hard-negative folder: the three rejected alerts, with expiry and tags
    summary = json.loads((hn / "hard_negatives.json").read_text(encoding="utf-8"))
    ids = site_export["ids"]
    assert [s["alert_id"] for s in summary["samples"]] == [ids[1], ids[2], ids[3]]
    assert summary["excluded"] == []
    first = summary["samples"][0]
    assert first["tags"][:3] == ["faux_positif", "franchissement", "cam-b"]
    assert first["comments"] == ["Reflet sur la vitre"]
    expires = datetime.fromisoformat(first["expires_utc"]) - datetime.fromisoformat(first["utc"])
    assert expires == timedelta(days=30)

    # ... which `veilleur data ingest --format coco` reads, with matching counts
    ds = ingest(hn, "coco", load_source_config(hn / "source.yaml"),
                load_taxonomy(REPO / "data" / "taxonomy.yaml"))  # fmt: skip
    assert len(ds.samples) == 3
    assert sum(len(s.boxes) for s in ds.samples) == sum(s["boxes"] for s in summary["samples"])
    assert sum(s["boxes"] for s in summary["samples"]) == 3
    assert sorted(str(s.provenance.camera) for s in ds.samples) == ["cam-a", "cam-b", "cam-c"]
    expiry = {s["alert_id"]: s["expires_utc"] for s in summary["samples"]}
    for sample in ds.samples:
        assert sample.metadata.extra["faux_positif"] is True
        assert sample.metadata.extra["event"] == "franchissement"
        aid = sample.metadata.extra["alert_id"]
        assert sample.metadata.extra["expires_utc"] == expiry[str(aid)]
        (box,) = sample.boxes
        assert box.label == "person" and box.attributes["faux_positif"] is True
        # the predicted person box: x 150-170 of 200 px, y 20-90 of 100 px
        assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx((150, 20, 170, 90), abs=0.01)
    res = CliRunner().invoke(app, ["data", "ingest", str(hn), "--format", "coco",
                                   "--out", str(tmp_path / "prepare")])  # fmt: skip
    assert res.exit_code == 0, res.output
    ingested = json.loads(res.output[res.output.index("{") :])
    assert ingested["ok"] is True
    assert (ingested["samples"], ingested["boxes"]) == (3, 3)
    assert ingested["boxes_per_class"]["person"] == 3


@pytest.mark.req("EX-065", "EX-043")
def test_snapshots_past_retention_altered_or_missing_are_listed_not_copied(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    snaps = tmp_path / "cliches"
    shutil.copytree(site_export["snapshots"], snaps)
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    hn = tmp_path / "hn"
    res = _feedback("--export", str(site_export["export"]), "--out", str(tmp_path / "r"),
                    "--hard-negatives", str(hn), "--snapshots", str(snaps),
                    "--retention-days", "30", "--now", later)  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((hn / "hard_negatives.json").read_text(encoding="utf-8"))
    assert summary["samples"] == []
    assert [e["reason"] for e in summary["excluded"]] == ["retention_expired"] * 3
    assert not (hn / "images").exists()  # nothing past retention is ever copied
    assert "conservation du cliché dépassée" in res.output

    # inside retention, one snapshot altered and one deleted
    a2, a3, b1 = site_export["ids"][1:4]
    files = {p.stem: p for p in snaps.rglob("*.jpg")}
    files[a2].write_bytes(files[a2].read_bytes() + b"x")
    files[a3].unlink()
    res = _feedback("--export", str(site_export["export"]), "--out", str(tmp_path / "r"),
                    "--hard-negatives", str(hn), "--snapshots", str(snaps),
                    "--retention", str(_policy(tmp_path, 30)))  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((hn / "hard_negatives.json").read_text(encoding="utf-8"))
    assert [s["alert_id"] for s in summary["samples"]] == [b1]
    reasons = {e["alert_id"]: e["reason"] for e in summary["excluded"]}
    assert reasons == {a2: "snapshot_altered", a3: "snapshot_missing"}
    assert sorted(p.stem for p in (hn / "images").rglob("*.jpg")) == [b1]  # replaced, not added


def _policy(folder: Path, days: int) -> Path:
    path = folder / "retention.yaml"
    path.write_text(yaml.safe_dump({"alert": 30, "review": 365, "snapshot": days}), "utf-8")
    return path


@pytest.mark.req("EX-065", "EX-014")
def test_a_tampered_export_stops_with_the_file_and_the_entry(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    lines = site_export["export"].read_text(encoding="utf-8").splitlines()
    # an operator's rejection rewritten as a confirmation, in the export only
    n, line = next((i, x) for i, x in enumerate(lines) if "faux_positif" in x)
    seq = json.loads(line)["seq"]
    lines[n] = line.replace("faux_positif", "vrai_positif")
    tampered = tmp_path / "site-nord.jsonl"
    tampered.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "r"
    res = _feedback("--export", str(tampered), "--out", str(out))
    assert res.exit_code == 2
    assert f"{tampered} : export altéré ou incomplet, chaîne rompue à l'entrée n° {seq}" in (
        res.output
    )
    assert "contenu modifié" in res.output
    assert not (out / "feedback.json").exists()

    # an entry removed in the middle: the next entry's link is broken
    del lines[n]
    tampered.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = _feedback("--export", str(tampered), "--out", str(out))
    assert res.exit_code == 2
    assert "lien avec l'entrée précédente rompu" in res.output


def test_an_alert_only_export_is_refused_with_the_command_to_run(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    export = tmp_path / "alertes.csv"
    res = CliRunner().invoke(app, ["journal", "export", str(export), "--journal",
                                   str(site_export["root"] / "journal.db")])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = _feedback("--export", str(export), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2
    assert "export sans chaînage" in res.output and "--kind all" in res.output


def test_hard_negatives_without_a_retention_are_refused(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    res = _feedback("--export", str(site_export["export"]), "--out", str(tmp_path / "r"),
                    "--hard-negatives", str(tmp_path / "hn"),
                    "--snapshots", str(site_export["snapshots"]))  # fmt: skip
    assert res.exit_code == 2
    assert "durée de conservation" in res.output
    assert not (tmp_path / "hn").exists()


@pytest.mark.req("EX-065", "EX-014")
@pytest.mark.parametrize("name", ["site-nord.parquet", "site-nord.csv"])
def test_other_export_formats_with_french_headers_give_the_same_figures(
    site_export: dict[str, Any], tmp_path: Path, name: str
) -> None:
    export = tmp_path / name
    res = CliRunner().invoke(app, ["journal", "export", str(export), "--journal",
                                   str(site_export["root"] / "journal.db"), "--kind", "all",
                                   "--french"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = _feedback("--export", str(export), "--out", str(tmp_path / "r"), "--period", "month")
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r" / "feedback.json").read_text(encoding="utf-8"))
    assert report["totals"] == {"alerts": 6, "confirmed": 2, "rejected": 3, "unreviewed": 1}
    assert report["period"] == "month" and len(report["by_event"][0]["period"]) == 7


def test_overlapping_exports_and_unreadable_lines_are_refused(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(site_export["export"], folder / "site-nord.jsonl")
    shutil.copy(site_export["export"], folder / "site-sud.jsonl")
    res = _feedback("--export", str(folder), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2
    assert "exports qui se recouvrent" in res.output and "site-sud.jsonl" in res.output

    broken = tmp_path / "site-est.jsonl"
    lines = site_export["export"].read_text(encoding="utf-8").splitlines()
    broken.write_text("\n".join([*lines[:3], "{pas du json", *lines[3:]]) + "\n", "utf-8")
    res = _feedback("--export", str(broken), "--out", str(tmp_path / "r"))
    assert res.exit_code == 2
    assert f"{broken} : ligne 4 illisible" in res.output


@pytest.mark.req("EX-065", "EX-043")
def test_after_a_purge_the_chain_still_verifies_and_purged_rejections_are_listed(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    from veilleur.runtime.journal.retention import RetentionPolicy, purge

    for suffix in ("", "-wal", "-shm"):
        src = site_export["root"] / f"journal.db{suffix}"
        if src.exists():
            shutil.copy(src, tmp_path / f"journal.db{suffix}")
    journal = Journal(tmp_path / "journal.db")
    later = datetime.now(UTC) + timedelta(days=2)
    report = purge(journal, RetentionPolicy(alert=1, review=365), later, "admin")
    assert report.counts["alert"] == 6  # the alerts go, the reviews stay
    export = tmp_path / "site-nord.jsonl"
    res = CliRunner().invoke(app, ["journal", "export", str(export), "--journal",
                                   str(tmp_path / "journal.db"), "--kind", "all"])  # fmt: skip
    assert res.exit_code == 0, res.output
    hn = tmp_path / "hn"
    res = _feedback("--export", str(export), "--out", str(tmp_path / "r"),
                    "--hard-negatives", str(hn), "--snapshots", str(site_export["snapshots"]),
                    "--retention-days", "30")  # fmt: skip
    assert res.exit_code == 0, res.output  # the chain starts at the purge's anchor: accepted
    report_json = json.loads((tmp_path / "r" / "feedback.json").read_text(encoding="utf-8"))
    assert report_json["totals"]["alerts"] == 0 and report_json["by_event"] == []
    assert report_json["sources"][0]["orphan_reviews"] == 5
    reasons = [e["reason"] for e in report_json["hard_negatives"]["excluded"]]
    assert reasons == ["alert_purged"] * 3
    assert "revue(s) qualifiante(s) portent sur des alertes" in (
        (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    )


def _bad_inputs(tmp: Path, export: Path, snaps: Path) -> dict[str, tuple[list[str], str]]:
    """Each bad request: its arguments and the French message expected."""
    (tmp / "vide").mkdir()
    (tmp / "vide.jsonl").write_text("", "utf-8")
    (tmp / "a.xlsx").write_bytes(b"PK")
    lines = export.read_text(encoding="utf-8").splitlines()
    (tmp / "double.jsonl").write_text("\n".join([*lines, lines[-1]]) + "\n", "utf-8")
    no_payload = json.loads(lines[0])
    no_payload["payload"] = "[]"
    (tmp / "sans.jsonl").write_text(json.dumps(no_payload) + "\n", "utf-8")
    (tmp / "b").mkdir()
    shutil.copy(export, tmp / "b" / "site-nord.jsonl")
    (tmp / "occupe").mkdir()
    (tmp / "occupe" / "autre.txt").write_text("x", "utf-8")
    (tmp / "pol.yaml").write_text("alert: 30\n", "utf-8")
    e, s = ["--export", str(export)], ["--snapshots", str(snaps)]
    hn = ["--hard-negatives", str(tmp / "hn")]
    return {
        "absent": (["--export", str(tmp / "nope.jsonl")], "export introuvable"),
        "empty folder": (["--export", str(tmp / "vide")], "aucun export lisible"),
        "empty file": (["--export", str(tmp / "vide.jsonl")], "export vide"),
        "xlsx": (["--export", str(tmp / "a.xlsx")], "format non pris en charge"),
        "duplicate entry": (["--export", str(tmp / "double.jsonl")], "y figure deux fois"),
        "payload": (["--export", str(tmp / "sans.jsonl")], "illisible : numéro, contenu"),
        "same site": ([*e, "--export", str(tmp / "b")], "même nom de site"),
        "time zone": ([*e, "--tz", "Mars/Olympus"], "fuseau horaire inconnu"),
        "now": ([*e, "--now", "demain"], "horodatage illisible"),
        "days": ([*e, *hn, *s, "--retention-days", "0"], "1 au moins"),
        "policy": ([*e, *hn, *s, "--retention", str(tmp / "pol.yaml")], "clé snapshot"),
        "snapshots": ([*e, *hn, *s, *s, "--retention-days", "3"], "2 dossier(s) pour 1"),
        "busy folder": (
            [*e, "--hard-negatives", str(tmp / "occupe"), *s, "--retention-days", "3"],
            "dossier non vide",
        ),
    }


@pytest.mark.req("EX-065")
def test_every_bad_request_is_refused_with_a_clear_message(
    site_export: dict[str, Any], tmp_path: Path
) -> None:
    cases = _bad_inputs(tmp_path, site_export["export"], site_export["snapshots"])
    for name, (args, message) in cases.items():
        res = _feedback(*args, "--out", str(tmp_path / "r"))
        assert res.exit_code == 2, (name, res.output)
        assert "erreur : " in res.output and message in res.output, (name, res.output)
    assert not (tmp_path / "r").exists()
    assert sorted(p.name for p in (tmp_path / "occupe").iterdir()) == ["autre.txt"]
