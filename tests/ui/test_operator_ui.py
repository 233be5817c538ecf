"""The operator interface in Debian's Chromium: log in per role, review an alert, see a new one
arrive live, export the journal, stop the analysis, toggle a rule, draw a zone; every screen in
French, with a screenshot under ``reports/ui/``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests_helpers import sample_alert
from ui_fixture import PASSWORDS, UiWorld, assert_french, english_words, log_in, shoot

from veilleur.runtime.core.events import EventType

pytestmark = pytest.mark.slow

MENUS = {
    "admin": [
        "Tableau de bord",
        "Alertes",
        "Direct",
        "Zones et règles",
        "Caméras",
        "Administration",
    ],
    "avance": [
        "Tableau de bord",
        "Alertes",
        "Direct",
        "Zones et règles",
        "Caméras",
        "Administration",
    ],
    "standard": ["Tableau de bord", "Alertes", "Direct"],
}


def test_the_english_word_check_catches_english():
    assert english_words("Tableau de bord — Analyse en cours") == []
    assert english_words("Save changes, Cancel") == ["Cancel", "Save"]


@pytest.mark.req("EX-045", "EX-018", "EX-022")
@pytest.mark.parametrize("login", ["admin", "avance", "standard"])
def test_each_role_logs_in_and_sees_only_its_menus(page: Page, ui: UiWorld, login: str):
    page.goto(ui.base + "/")
    expect(page.get_by_role("heading", name="Veilleur")).to_be_visible()
    if login == "admin":
        assert_french(page)
        shoot(page, "connexion")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill("pas-le-bon")
    page.get_by_label("Mot de passe").press("Enter")  # the keyboard submits the form
    error = page.locator("#erreur-connexion")
    expect(error).to_be_visible()
    assert_french(page)
    page.get_by_label("Mot de passe").fill(PASSWORDS[login])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#etat-global")).to_contain_text("État global")
    menu = page.get_by_role("navigation", name="Menu principal").get_by_role("link")
    expect(menu).to_have_text(MENUS[login])
    expect(page.locator("#utilisateur")).to_contain_text(login)
    assert_french(page)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()


@pytest.mark.req("EX-045", "EX-018")
def test_a_locked_account_is_told_so(page: Page, ui: UiWorld):
    page.goto(ui.base + "/ui/")
    for _ in range(3):
        page.get_by_label("Identifiant").fill("standard")
        page.get_by_label("Mot de passe").fill("mauvais")
        page.get_by_role("button", name="Se connecter").click()
        expect(page.locator("#erreur-connexion")).to_be_visible()
    page.get_by_label("Identifiant").fill("standard")
    page.get_by_label("Mot de passe").fill(PASSWORDS["standard"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#erreur-connexion")).to_contain_text("verrouill")
    assert_french(page)


@pytest.mark.req("EX-045", "EX-018")
def test_a_standard_user_has_no_administration(page: Page, ui: UiWorld):
    log_in(page, ui, "standard")
    expect(page.locator("#menu")).not_to_contain_text("Administration")
    expect(page.locator("#arret")).to_contain_text("réservé")  # no stop button for them
    expect(page.locator("#arreter")).to_have_count(0)
    page.goto(ui.base + "/ui/#/administration")
    expect(page.get_by_role("heading", name="Accès refusé")).to_be_visible()
    page.goto(ui.base + "/ui/#/alertes")
    expect(page.locator("#file-alertes tbody tr")).to_have_count(6)
    expect(page.locator("#export-csv")).to_have_count(0)  # journal:export is not theirs
    page.get_by_label("Au").fill("01/01/2000 08:00")  # a period, typed the French way
    page.get_by_label("Au").press("Tab")
    expect(page.locator("#file-vide")).to_have_text("Aucune alerte pour ces filtres.")


@pytest.mark.req("EX-039", "EX-045")
def test_an_alert_is_acknowledged_qualified_and_commented(page: Page, ui: UiWorld):
    log_in(page, ui, "standard", "alertes")
    rows = page.locator("#file-alertes tbody tr")
    expect(rows).to_have_count(6)
    first = rows.first
    alert_id = first.get_attribute("data-alert-id")
    first.get_by_role("button").click()
    detail = page.locator("#detail-alerte")
    expect(detail.get_by_role("heading", level=2)).to_be_visible()
    shoot(page, "alertes")
    assert_french(page)
    page.get_by_role("button", name="Acquitter").click()
    expect(page.locator("#acquittee")).to_contain_text("par standard")
    expect(page.get_by_role("button", name="Acquitter")).to_be_disabled()
    page.get_by_role("button", name="Faux positif").click()
    expect(page.locator("#qualification")).to_contain_text("Faux positif")
    page.get_by_label("Commentaire").fill("reflet sur la vitre")
    page.get_by_role("button", name="Commenter").click()
    expect(detail).to_contain_text("reflet sur la vitre")
    reviews = [r for r in ui.journal.list("review") if r["alert_id"] == alert_id]
    actions = sorted((r["action"], r["actor"]) for r in reviews)
    assert actions == [
        ("acknowledge", "standard"),
        ("comment", "standard"),
        ("qualify", "standard"),
    ]
    assert any(r.get("qualification") == "faux_positif" for r in reviews)
    # the acknowledged alert leaves the default queue (non acknowledged) at the next refresh
    expect(rows).to_have_count(5)


@pytest.mark.req("EX-039", "EX-040")
def test_a_new_alert_appears_in_the_queue_without_reload(page: Page, ui: UiWorld):
    log_in(page, ui, "standard", "alertes")
    rows = page.locator("#file-alertes tbody tr")
    expect(rows).to_have_count(6)
    page.evaluate("window.__sans_rechargement = true")
    ui.journal.append("alert", sample_alert(42, "cam-b", EventType.ARME))
    expect(rows).to_have_count(7, timeout=6000)
    expect(rows.first).to_contain_text("Armes")
    expect(rows.first).to_have_class(re.compile("nouvelle"))
    assert page.evaluate("window.__sans_rechargement") is True


@pytest.mark.req("EX-014", "EX-016", "EX-045")
def test_the_journal_is_exported_from_the_alert_screen(page: Page, ui: UiWorld, tmp_path: Path):
    log_in(page, ui, "avance", "alertes")
    page.get_by_label("État").select_option("")  # every alert, acknowledged or not
    expect(page.locator("#file-alertes tbody tr")).to_have_count(6)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Exporter en CSV").click()
    target = tmp_path / dl.value.suggested_filename
    dl.value.save_as(target)
    assert target.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 6
    with page.expect_download() as dl:
        page.get_by_role("button", name="Exporter en XLSX").click()
    xlsx = tmp_path / dl.value.suggested_filename
    dl.value.save_as(xlsx)
    assert xlsx.suffix == ".xlsx" and xlsx.read_bytes()[:2] == b"PK"
    assert any(e["path"] == "/api/v1/journal/export" for e in ui.audit.list(limit=20))


@pytest.mark.req("EX-046", "EX-025", "EX-045")
def test_the_global_stop_halts_the_analysis_and_resumes(page: Page, ui: UiWorld):
    log_in(page, ui, "avance")
    expect(page.locator("#etat-analyse")).to_have_text("Analyse en cours")
    expect(page.locator("#composants")).to_contain_text("Journal des alertes")
    expect(page.locator("#nb-a-traiter")).to_have_text("6")
    shoot(page, "tableau-de-bord")
    assert_french(page)
    page.get_by_role("button", name="Arrêt de l’analyse").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # Échap cancels: nothing stops
    expect(dialog).to_have_count(0)
    assert not ui.engine.analysis_stopped
    page.get_by_role("button", name="Arrêt de l’analyse").click()
    dialog.get_by_label("Motif de l’arrêt").fill("exercice d'évacuation")
    dialog.get_by_role("button", name="Confirmer l’arrêt").click()
    expect(page.locator("#etat-analyse")).to_contain_text("ARRÊTÉE")
    assert ui.engine.analysis_stopped
    control = ui.journal.list("control")[0]
    assert (control["action"], control["actor"], control["reason"]) == (
        "analysis_stopped",
        "avance",
        "exercice d'évacuation",
    )
    expect(page.locator("#composants")).to_contain_text("Analyse arrêtée")
    shoot(page, "tableau-de-bord-arret")
    page.get_by_role("button", name="Reprendre l’analyse").click()
    page.get_by_role("dialog").get_by_role("button", name="Reprendre l’analyse").click()
    expect(page.locator("#etat-analyse")).to_have_text("Analyse en cours")
    assert not ui.engine.analysis_stopped


@pytest.mark.req("EX-021", "EX-036", "EX-041", "EX-032", "EX-045")
def test_a_rule_is_toggled_and_a_zone_drawn(page: Page, ui: UiWorld):
    log_in(page, ui, "avance", "zones-et-regles")
    switch = page.get_by_role("switch", name="Règle intrus active")
    expect(switch).to_be_checked()
    switch.click()  # one click (EX-021)
    expect(page.locator("#messages")).to_contain_text("Règle intrus désactivée sur cam-a")
    expect(switch).not_to_be_checked()
    control = ui.journal.list("control")[0]
    assert (control["action"], control["actor"]) == ("rule_disabled", "avance")
    assert control.get("rule_id", "intrus") == "intrus"
    # the composite rule opens with its ET / NON conditions
    page.get_by_role("button", name="Modifier la règle combinee").click()
    expect(page.get_by_label("Combinaison", exact=True)).to_have_value("and")
    expect(page.get_by_role("checkbox", name="NON").nth(1)).to_be_checked()
    page.locator("#editeur-regle").evaluate("e => e.scrollIntoView()")
    shoot(page, "zones-et-regles-composee")
    page.get_by_role("button", name="Fermer").click()
    # a schedule and a threshold on the density rule
    page.get_by_role("button", name="Modifier la règle foule").click()
    page.get_by_label("Nombre maximal de personnes").fill("25")
    page.get_by_role("button", name="Appliquer").click()
    # draw a new polygon zone by clicking three points on the image, then Entrée
    page.get_by_label("Identifiant de la nouvelle zone").fill("sortie")
    page.get_by_role("button", name="Tracer", exact=True).click()
    canvas = page.locator("canvas.editor")
    for x, y in [(100, 100), (300, 100), (200, 300)]:
        canvas.click(position={"x": x, "y": y})
    canvas.press("Enter")
    expect(page.locator("#aide-trace")).to_have_text("Tracé terminé.")
    shoot(page, "zones-et-regles")
    assert_french(page)
    page.get_by_role("button", name="Enregistrer la configuration").click()
    expect(page.locator("#messages")).to_contain_text("Configuration enregistrée")
    expect(page.locator("#version-config")).to_contain_text("enregistrée le")
    got = page.request.get(ui.base + "/api/v1/config").json()["site"]
    cam = next(c for c in got["cameras"] if c["id"] == "cam-a")
    zone = next(z for z in cam["zones"] if z["id"] == "sortie")
    assert zone["kind"] == "polygon" and len(zone["points"]) == 3
    assert zone["points"][0] == pytest.approx([100 / 960, 100 / 540], abs=0.01)
    foule = next(r for r in cam["rules"] if r["id"] == "foule")
    assert foule["max_count"] == 25 and foule["schedule"][0]["start"] == "18:00"


@pytest.mark.req("EX-035", "EX-040", "EX-075", "EX-019", "EX-020", "EX-024", "EX-045")
def test_every_screen_is_in_french_with_a_screenshot(page: Page, ui: UiWorld):
    log_in(page, ui, "admin", "direct")
    expect(page.locator(".tile")).to_have_count(2)
    expect(page.locator(".tile-info").first).to_contain_text("détection", timeout=5000)
    shoot(page, "direct")
    assert_french(page)
    page.get_by_role("link", name="Caméras").click()
    switch = page.get_by_role("switch", name="Analyse de la caméra cam-b")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.locator("#messages")).to_contain_text("Caméra cam-b désactivée")
    expect(switch).not_to_be_checked()
    assert ui.engine.state()["cameras"]["cam-b"]["enabled"] is False
    shoot(page, "cameras")
    assert_french(page)
    page.get_by_role("link", name="Administration").click()
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    names = tabs.all_inner_texts()
    assert names[:4] == ["Comptes", "Groupes et profils", "Jetons d’accès", "Audit"]
    for i in range(len(names)):
        tabs.nth(i).click()
        expect(tabs.nth(i)).to_have_attribute("aria-selected", "true")
        tab_id = tabs.nth(i).get_attribute("id").removeprefix("onglet-")  # type: ignore[union-attr]
        expect(page.locator("#panneau-admin")).to_have_attribute("data-rubrique", tab_id)
        expect(page.locator("#panneau-admin .error:visible")).to_have_count(0)
        assert_french(page)
        shoot(page, f"administration-{tab_id}")
    # the keyboard moves between tabs
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    expect(tabs.nth(1)).to_be_focused()


@pytest.mark.req("EX-018", "EX-022", "EX-015", "EX-045")
def test_accounts_are_opened_and_deactivated_from_the_administration(page: Page, ui: UiWorld):
    log_in(page, ui, "avance", "administration")
    panel = page.locator("#panneau-admin")
    expect(panel).to_have_attribute("data-rubrique", "comptes")
    # an advanced user opens standard accounts only
    expect(page.get_by_label("Rôle")).to_have_text("Utilisateur standard")
    page.get_by_label("Identifiant", exact=True).fill("veille2")
    page.get_by_label("Mot de passe initial").fill("trop-court")
    page.get_by_role("button", name="Créer le compte").click()
    expect(panel.locator(".error")).to_be_visible()  # the API's password policy, in French
    assert_french(page)
    page.get_by_label("Mot de passe initial").fill("Digue-Ouest-33-Phare!")
    page.get_by_role("button", name="Créer le compte").click()
    row = panel.locator('tr[data-login="veille2"]')
    expect(row).to_contain_text("Utilisateur standard")
    assert ui.accounts.get_user("veille2").active
    row.get_by_role("button", name="Désactiver veille2").click()
    expect(panel.locator('tr[data-login="veille2"]')).to_contain_text("désactivé")
    assert not ui.accounts.get_user("veille2").active
    # the administrator's own account is out of an advanced user's reach
    expect(panel.locator('tr[data-login="admin"]')).to_contain_text("hors de votre rôle")


@pytest.mark.req("EX-033", "EX-035", "EX-045")
def test_a_camera_is_added_and_removed(page: Page, ui: UiWorld):
    log_in(page, ui, "admin", "cameras")
    expect(page.locator("table.cameras tbody tr")).to_have_count(2)
    page.get_by_label("Identifiant", exact=True).fill("cam-c")
    page.get_by_label("Nom affiché").fill("Sortie sud")
    page.get_by_label("Source (flux RTSP ou fichier vidéo)").fill("cam-a.mp4")
    page.get_by_role("button", name="Ajouter la caméra").click()
    expect(page.locator("#messages")).to_contain_text("Caméra cam-c ajoutée")
    expect(page.locator("table.cameras tbody tr")).to_have_count(3)
    assert "cam-c" in [c.id for c in ui.engine.config.cameras]
    assert_french(page)
    page.get_by_role("button", name="Retirer la caméra cam-c").click()
    page.get_by_role("dialog").get_by_role("button", name="Retirer").click()
    expect(page.locator("table.cameras tbody tr")).to_have_count(2)
    assert "cam-c" not in [c.id for c in ui.engine.config.cameras]
