"""The French validation report: language, formatting, charts, provenance, metrics.json."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import pytest
from report_extras import full_context

from veilleur.evaluation.report import render_report
from veilleur.evaluation.report_context import ReportContext

FRENCH_HEADINGS = (
    "Rapport de validation — Veilleur",
    "1. Objet et périmètre",
    "2. Conditions d’essai",
    "3. Jeux de données",
    "4. Modèle",
    "5. Détection d’objets",
    "6. Événements",
    "7. Analyse par tranche et biais",
    "8. Analyse des erreurs",
    "9. Comparaison avec un autre modèle",
    "10. Limites connues, risques résiduels et contrôle humain",
    "11. Traçabilité et provenance",
    "12. Signatures",
)
ENGLISH_UI_WORDS = (
    "Precision",
    "Recall",
    "Report",
    "Dataset",
    "Model",
    "Events",
    "Confidence",
    "False",
    "True",
    "Signature date",
    "Limitations",
    "Duration",
    "Not implemented",
    "None",
    "null",
)


@pytest.fixture(scope="module")
def context(sample_context: ReportContext) -> ReportContext:
    """The sample context with tracking, confusion matrix and detection slices."""
    return full_context(sample_context)


@pytest.fixture(scope="module")
def rendered(context: ReportContext, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_report(context, tmp_path_factory.mktemp("rapport"), pdf=False)


def _visible_text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'src="data:[^"]*"', " ", html)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.req("EX-045")
def test_report_is_in_french(rendered: Path) -> None:
    html = rendered.read_text(encoding="utf-8")
    assert rendered.name == "index.html"
    assert '<html lang="fr">' in html
    for heading in FRENCH_HEADINGS:
        assert heading in html, heading
    text = _visible_text(html)
    for word in ENGLISH_UI_WORDS:
        assert re.search(rf"\b{re.escape(word)}\b", text) is None, word
    assert re.search(r"\b0,\d\d\b", text)  # decimal comma
    assert not re.search(r"\b0\.\d\d\b", text)  # and never a decimal point
    for label in ("Précision", "Rappel", "Fausses alertes par heure", "Nom", "Fonction", "Date"):
        assert label in text


@pytest.mark.req("EX-045")
def test_report_embeds_png_charts_and_nothing_external(rendered: Path) -> None:
    html = rendered.read_text(encoding="utf-8")
    charts = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # detection per class, PR curves, confusion, detection per slice, tracking, events, slices
    assert len(charts) == 7
    captions = re.findall(r"Figure (\d+) —", html)
    assert captions == [str(i) for i in range(1, 8)]
    for chart in charts:
        assert base64.b64decode(chart).startswith(b"\x89PNG")
    assert "@media print" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script" not in html


@pytest.mark.req("EX-084", "EX-085")
def test_report_carries_provenance(rendered: Path, context: ReportContext) -> None:
    html = rendered.read_text(encoding="utf-8")
    dataset_version, model_sha = context.dataset.version, context.model.sha256
    for value in (
        dataset_version,
        model_sha,
        "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "0123456789abcdef0123456789abcdef01234567",
        "cfg-2025-06-01",
        "5d41402abc4b2a76b9719d911017c592.dir",
        "2 juin 2025",
    ):
        assert value in html, value


@pytest.mark.req("EX-088", "EX-089")
def test_report_states_scope_synthetic_data_and_human_control(rendered: Path) -> None:
    text = _visible_text(rendered.read_text(encoding="utf-8"))
    assert "signalement d’attention" in text
    assert "confirmé par un opérateur humain" in text
    assert "biométrique" in text
    assert "scènes synthétiques" in text and "ne sont pas analogues" in text
    assert "arrêté à tout moment" in text


@pytest.mark.req("EX-045")
def test_unimplemented_events_are_listed_not_hidden(rendered: Path) -> None:
    text = _visible_text(rendered.read_text(encoding="utf-8"))
    assert text.count("non évalué (non implémenté)") == 5  # 8 events - 3 implemented
    for label in ("Mouvement de Foule", "Objets abandonnés", "Armes", "Personne au sol", "Feu"):
        assert label in text


@pytest.mark.req("EX-087")
def test_slices_are_shown_with_french_values(rendered: Path) -> None:
    text = _visible_text(rendered.read_text(encoding="utf-8"))
    for label in ("Éclairage", "crépuscule", "nuit", "brouillard", "Hauteur de caméra", "forte"):
        assert label in text
    assert re.search(r"\bnight\b|\bfog\b|\bdusk\b", text) is None


@pytest.mark.req("EX-014")
def test_metrics_json_holds_every_number(rendered: Path, context: ReportContext) -> None:
    data = json.loads((rendered.parent / "metrics.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == 2
    assert data["dataset"]["version"] == context.dataset.version
    assert data["model"]["sha256"] == context.model.sha256
    assert data["detection"]["map"] == pytest.approx(context.detection.map)  # type: ignore[union-attr]
    per_event = data["events"]["per_event"]
    assert len(per_event) == 8
    assert per_event["feu"] == {"status": "not_implemented"}
    fr = per_event["franchissement"]
    expected = context.events.per_event["franchissement"]
    assert fr["status"] == "evaluated"
    assert fr["tp"] == expected.tp and fr["precision"] == pytest.approx(expected.precision)
    assert fr["precision_ci"] == pytest.approx(list(expected.precision_ci or ()))
    assert data["events"]["overall"]["event"] == "all"
    assert data["events"]["tolerance"] == {"before_s": 2.0, "after_s": 3.0}
    assert {s["key"] for s in data["slices"]} >= {"lighting", "weather", "camera_height"}
    assert data["provenance"]["generated_utc"].startswith("2025-06-02T14:03")


@pytest.mark.req("EX-045")
def test_report_without_detection_or_events(sample_context: ReportContext, tmp_path: Path) -> None:
    ctx = dataclasses.replace(
        sample_context, detection=None, implemented_events=(), slices=(), synthetic_data=False
    )
    ctx = dataclasses.replace(ctx, bias=None, errors=None, per_camera=())
    html = render_report(ctx, tmp_path, pdf=False).read_text(encoding="utf-8")
    text = _visible_text(html)
    assert "Non évaluée dans cette version." in text
    assert text.count("non évalué (non implémenté)") == 8
    assert "Aucun événement évalué" in text
    assert "Aucune tranche fournie." in text
    assert "data:image/png" not in html
    assert "Rapport de squelette" not in text
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["detection"] is None


@pytest.mark.req("EX-047", "EX-087")
def test_metrics_json_holds_tracking_curves_confusion_and_slices(
    rendered: Path, context: ReportContext
) -> None:
    data = json.loads((rendered.parent / "metrics.json").read_text(encoding="utf-8"))
    tracking, expected = data["tracking"], context.tracking
    assert expected is not None
    person = next(c for c in tracking["per_class"] if c["name"] == "person")
    m = expected.per_class[0].metrics
    for key in ("mota", "motp", "idf1", "hota", "deta", "assa"):
        assert person[key] == pytest.approx(getattr(m, key)), key
        assert person[f"{key}_ci"] == pytest.approx(list(getattr(m, f"{key}_ci"))), key
    assert person["id_switches"] == m.id_switches > 0
    assert tracking["overall"]["mota"] == pytest.approx(expected.overall.mota)
    assert [c["clip"] for c in tracking["per_clip"]] == [c.clip for c in expected.per_clip]
    assert tracking["iou_threshold"] == 0.5 and len(tracking["hota_alphas"]) == 19
    assert tracking["skipped"] == {"clip_0009": "annotations sans identifiant de piste"}
    det = data["detection"]
    curves = {c["name"]: c for c in det["pr_curves"]}
    assert set(curves) == {"person", "vehicle", "bicycle"}
    assert len(curves["person"]["recall"]) == len(curves["person"]["precision"])
    assert det["confusion"]["labels"][-1] == "background"
    assert det["confusion"]["min_score"] == 0.5
    n = len(det["confusion"]["labels"])
    assert len(det["confusion"]["counts"]) == n and all(
        len(r) == n for r in det["confusion"]["counts"]
    )
    slices = data["detection_slices"]
    assert [(s["key"], s["value"]) for s in slices] == [
        ("lighting", "day"),
        ("lighting", "dusk"),
        ("lighting", "night"),
        ("camera_height", "4–8 m"),
        ("camera_height", "< 4 m"),
    ]
    for s, ctx_slice in zip(slices, context.detection_slices, strict=True):
        assert s["map"] == pytest.approx(ctx_slice.map)
        assert s["map_ci"] == pytest.approx(list(ctx_slice.map_ci or ()))


@pytest.mark.req("EX-045", "EX-047")
def test_tracking_section_explains_each_metric_in_french(rendered: Path) -> None:
    text = _visible_text(rendered.read_text(encoding="utf-8"))
    assert "Suivi des objets d’une image à l’autre (pistage)" in text
    for sentence in (
        "MOTA (exactitude du suivi)",
        "MOTP (précision de position)",
        "IDF1 (constance de l’identité)",
        "Changements d’identité : nombre de fois",
        "HOTA (exactitude de suivi",
        "DetA (qualité de détection)",
        "AssA (qualité d’association)",
    ):
        assert sentence in re.sub(r"\s+", " ", text), sentence
    for heading in (
        "Courbes précision–rappel",
        "Matrice de confusion",
        "Précision moyenne par tranche",
    ):
        assert heading in text
    assert "clip_0009 (annotations sans identifiant de piste)" in text


def test_report_without_tracking_says_so(context: ReportContext, tmp_path: Path) -> None:
    ctx = dataclasses.replace(context, tracking=None, detection_slices=())
    html = render_report(ctx, tmp_path, pdf=False).read_text(encoding="utf-8")
    assert "Suivi non évalué" in _visible_text(html)
    assert "Précision moyenne par tranche" not in html
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["tracking"] is None
