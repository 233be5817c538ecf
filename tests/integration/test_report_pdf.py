"""The PDF validation report: rendered with WeasyPrint from a small fixture, read back with
pdftotext (Debian's poppler-utils), its text holds the figures of metrics.json, written the
French way (decimal comma, ``[a ; b]`` intervals), as well as the provenance and the verdicts,
the tracking figures (MOTA, IDF1, HOTA …), the confusion matrix and mAP per slice."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_extras import full_context

from veilleur.evaluation.fr_format import fr_interval, fr_number
from veilleur.evaluation.report import PDF_NAME, render_report
from veilleur.runtime.core.events import EVENT_LABELS_FR, EventType

pytestmark = pytest.mark.slow

_FIXTURE = Path(__file__).parents[1] / "unit" / "evaluation" / "conftest.py"


def _build_context() -> Any:
    spec = importlib.util.spec_from_file_location("evaluation_report_fixture", _FIXTURE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_context()


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def _in_order(text: str, anchor: str, tokens: list[str], window: int = 600) -> None:
    """``tokens`` appear after ``anchor``, in this order, within ``window`` characters."""
    start = text.find(anchor)
    assert start >= 0, f"{anchor!r} not in the PDF text"
    pos = start + len(anchor)
    for token in tokens:
        found = text.find(token, pos, start + len(anchor) + window)
        assert found >= 0, f"{token!r} not found after {anchor!r}: {text[start : start + window]!r}"
        pos = found + len(token)


@pytest.fixture(scope="module")
def pdf_text(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext missing: run scripts/install-debian-deps.sh (poppler-utils)")
        pytest.skip("pdftotext (poppler-utils) not installed")
    out = tmp_path_factory.mktemp("rapport")
    render_report(full_context(_build_context()), out)
    pdf = out / PDF_NAME
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return _normalise(text), metrics


def _n(value: float | None, digits: int = 2) -> str:
    return _normalise(fr_number(value, digits))


def _ci(interval: list[float] | None, digits: int = 2) -> str:
    return _normalise(fr_interval(None if interval is None else tuple(interval), digits))  # type: ignore[arg-type]


@pytest.mark.req("EX-045", "EX-085", "EX-086", "EX-087", "EX-088")
def test_pdf_holds_the_sections_scope_and_provenance(pdf_text: tuple[str, dict[str, Any]]) -> None:
    text, metrics = pdf_text
    for heading in (
        "1. Objet et périmètre", "2. Conditions d’essai", "3. Jeux de données", "4. Modèle",
        "5. Détection d’objets", "6. Événements", "7. Analyse par tranche et biais",
        "8. Analyse des erreurs", "9. Comparaison avec un autre modèle",
        "10. Limites connues, risques résiduels et contrôle humain",
        "11. Traçabilité et provenance", "12. Signatures",
    ):  # fmt: skip
        assert heading in text, heading
    assert "Aucune donnée biométrique n’est traitée" in text
    assert "confirmé par un opérateur humain" in text
    assert "Fiche du modèle (résumé)" in text
    assert "page 1 sur" in text
    squeezed = text.replace(" ", "")
    for value in (
        metrics["dataset"]["version"],
        metrics["dataset"]["dvc_hash"],
        metrics["model"]["sha256"],
        metrics["model"]["mlflow_run_id"],
        metrics["provenance"]["code_commit"],
        metrics["provenance"]["config_version"],
    ):
        assert value in squeezed, value


@pytest.mark.req("EX-087", "EX-088")
def test_pdf_holds_the_detection_figures(pdf_text: tuple[str, dict[str, Any]]) -> None:
    text, metrics = pdf_text
    det = metrics["detection"]
    _in_order(
        text,
        "Précision moyenne (mAP), IoU de 0,50 à 0,95",
        [_n(det["map"], 3), _ci(det["map_ci"], 3)],
    )
    _in_order(text, "Précision moyenne, IoU 0,50", [_n(det["map50"], 3), _ci(det["map50_ci"], 3)])
    _in_order(text, "Rappel moyen, 100 détections par image au plus", [_n(det["ar100"], 3)])
    section = text[text.find("5. Détection d’objets") : text.find("6. Événements")]
    for c in det["per_class"]:
        if c["ap"] is None:
            continue
        for token in (_n(c["ap"], 3), _ci(c["ap_ci"], 3), _n(c["ap50"], 3),
                      _n(c["ar100"], 3), _ci(c["ap50_ci"], 3)):  # fmt: skip
            assert token in section, (c["name"], token)


@pytest.mark.req("EX-065", "EX-087")
def test_pdf_holds_the_event_figures_with_intervals(pdf_text: tuple[str, dict[str, Any]]) -> None:
    text, metrics = pdf_text
    section = text[text.find("6. Événements") : text.find("7. Analyse par tranche")]
    for event, row in metrics["events"]["per_event"].items():
        if row["status"] != "evaluated":
            continue
        label = EVENT_LABELS_FR[EventType(event)]
        _in_order(
            section,
            label,
            [str(row["n_gt"]), str(row["tp"]), str(row["fp"]), str(row["fn"]),
             _n(row["precision"]), _n(row["recall"]), _n(row["f1"]),
             _n(row["false_alarms_per_hour"]), _n(row["delay_mean_s"], 1),
             _ci(row["precision_ci"]), _ci(row["recall_ci"]), _ci(row["f1_ci"]),
             _ci(row["false_alarms_per_hour_ci"]), _ci(row["delay_mean_ci"], 1)],
        )  # fmt: skip
    overall = metrics["events"]["overall"]
    _in_order(
        section,
        "Ensemble des événements évalués",
        [_n(overall["precision"]), _n(overall["recall"]), _ci(overall["precision_ci"])],
    )


@pytest.mark.req("EX-087")
def test_pdf_holds_the_slices_and_the_bias_verdicts(pdf_text: tuple[str, dict[str, Any]]) -> None:
    text, metrics = pdf_text
    section = text[text.find("7. Analyse par tranche") : text.find("8. Analyse des erreurs")]
    for s in metrics["slices"]:
        o = s["overall"]
        assert _n(o["recall"]) in section and _ci(o["recall_ci"]) in section, s["value"]
    bias = metrics["bias"]
    assert ("contrôles de biais satisfaits" if bias["passed"] else "NON SATISFAITS") in section
    for v in bias["verdicts"]:
        assert _normalise(v["message_fr"]) in section, v["message_fr"]
    assert "Rapport de disparité" in section


@pytest.mark.req("EX-047", "EX-087")
def test_pdf_holds_the_tracking_figures(pdf_text: tuple[str, dict[str, Any]]) -> None:
    text, metrics = pdf_text
    section = text[text.find("Suivi des objets d’une image à l’autre") : text.find("6. Événements")]
    assert "MOTA (exactitude du suivi)" in section and "HOTA" in section
    tracking = metrics["tracking"]
    rows = [*tracking["per_class"], tracking["overall"]]
    for row in rows:
        for key in ("mota", "motp", "idf1", "hota", "deta", "assa"):
            assert _n(row[key], 3) in section, (row.get("name"), key)
            assert _ci(row[f"{key}_ci"], 3) in section, (row.get("name"), key)
    person = next(c for c in tracking["per_class"] if c["name"] == "person")
    assert f"{person['n_gt']} / {person['n_gt_tracks']}" in section
    for clip in tracking["per_clip"]:
        _in_order(
            section, clip["clip"], [_n(clip["mota"], 3), _n(clip["idf1"], 3), _n(clip["hota"], 3)]
        )


@pytest.mark.req("EX-087")
def test_pdf_holds_the_confusion_matrix_and_the_map_per_slice(
    pdf_text: tuple[str, dict[str, Any]],
) -> None:
    text, metrics = pdf_text
    section = text[text.find("Matrice de confusion") : text.find("Suivi des objets d’une image")]
    cm = metrics["detection"]["confusion"]
    person = cm["labels"].index("person")
    _in_order(section, "Annotée \\ détectée", ["personne", "fond"])
    _in_order(section, "fond", [str(cm["counts"][-1][person])])
    assert "Courbes précision–rappel" in text
    slices = text[text.find("Précision moyenne par tranche") : text.find("Suivi des objets")]
    for s in metrics["detection_slices"]:
        _in_order(slices, "Critère", [_n(s["map"], 3), _ci(s["map_ci"], 3)], window=3000)
