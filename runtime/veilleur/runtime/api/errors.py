"""Error answers in French: request validation (422) and unreadable bodies (400).

FastAPI's own messages are English; operators and integrators get French, with the field
named: ``requête invalide : body.comment : texte trop long (2000 caractères au plus)``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_MESSAGES: dict[str, str] = {
    "missing": "champ obligatoire manquant",
    "extra_forbidden": "champ inconnu (à retirer, ou vérifier son orthographe)",
    "json_invalid": "JSON illisible",
    "json_type": "JSON attendu",
    "model_attributes_type": "objet attendu",
    "dict_type": "objet attendu",
    "list_type": "liste attendue",
    "string_type": "texte attendu",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "bool_type": "booléen attendu (true ou false)",
    "bool_parsing": "booléen attendu (true ou false)",
    "datetime_type": "date et heure ISO 8601 attendues",
    "datetime_parsing": "date et heure ISO 8601 attendues",
    "datetime_from_date_parsing": "date et heure ISO 8601 attendues",
    "enum": "valeur non prévue",
    "literal_error": "valeur non prévue",
    "string_pattern_mismatch": "format non valide",
}


# The site configuration's own checks (config.py validators) word their messages in English
# for the YAML file's readers; the API's readers get them in French.
_VALIDATORS_FR: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), fr)
    for p, fr in (
        (r"^polygon zone '(.+)' needs at least 3 points$", "la zone {0} demande au moins 3 points"),
        (r"^line zone '(.+)' needs exactly 2 points$", "la ligne {0} demande exactement 2 points"),
        (r"^line zone '(.+)' has two identical points$", "la ligne {0} a deux points identiques"),
        (r"^calibration has (\d+) image points but (\d+) ground points$",
         "la calibration a {0} points dans l'image mais {1} points au sol"),
        (r"^calibration needs at least 4 image points.*\(got (\d+) and (\d+)\)$",
         "la calibration demande au moins 4 points dans l'image et autant au sol "
         "(reçus : {0} et {1})"),
        (r"^calibration points are \(nearly\) collinear$",
         "les points de calibration sont (presque) alignés : choisissez des points qui forment "
         "un quadrilatère"),
        (r"^calibration points give no valid homography$",
         "ces points de calibration ne donnent pas de transformation valable"),
        (r"^schedule window (.+) is empty$", "la plage horaire {0} est vide"),
        (r"^.*: schedule windows overlap \((.+)\); merge them into one window$",
         "des plages horaires se chevauchent ({0}) : réunissez-les en une seule"),
        (r"^rule '(.+)' refers to zone '(.+)', which camera '(.+)' does not define.*$",
         "la règle {0} désigne la zone {1}, que la caméra {2} n'a pas"),
        (r"^rule '(.+)' \((.+)\) needs a polygon zone$",
         "la règle {0} ({1}) demande une zone polygonale"),
        (r"^composite rule '(.+)' refers to rule '(.+)', which camera '(.+)' does not define.*$",
         "la règle composée {0} désigne la règle {1}, que la caméra {2} n'a pas"),
        (r"^composite rule '(.+)' refers to composite rule '(.+)';.*$",
         "la règle composée {0} désigne la règle composée {1} : combinez directement les "
         "règles simples"),
        (r"^composite rule '(.+)' only has negated conditions.*$",
         "la règle composée {0} n'a que des conditions NON : il lui faut au moins une règle "
         "qui se déclenche"),
        (r"^camera '(.+)': zone ids must be unique$",
         "caméra {0} : deux zones ont le même identifiant"),
        (r"^camera '(.+)': rule ids must be unique$",
         "caméra {0} : deux règles ont le même identifiant"),
        (r"^camera ids must be unique$", "deux caméras ont le même identifiant"),
        (r"^rule '(.+)': k \((\d+)\) must not exceed n \((\d+)\)$",
         "règle {0} : k ({1}) ne peut dépasser n ({2})"),
        (r"^rule '(.+)': set max_count or max_density_m2.*$",
         "règle {0} : indiquez max_count ou max_density_m2 (ou les deux)"),
    )
)  # fmt: skip


def _validator_fr(msg: str) -> str:
    for pattern, fr in _VALIDATORS_FR:
        m = pattern.match(msg)
        if m:
            return fr.format(*m.groups())
    return msg


def french_message(err: dict[str, Any]) -> str:
    """One pydantic error in French (validators' own messages are kept as written)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "string_too_long":
        return f"texte trop long ({ctx.get('max_length')} caractères au plus)"
    if kind == "string_too_short":
        return f"texte trop court ({ctx.get('min_length')} caractère(s) au moins)"
    if kind == "too_short":
        return f"{ctx.get('min_length')} élément(s) au moins (ici {ctx.get('actual_length')})"
    if kind == "too_long":
        return f"{ctx.get('max_length')} élément(s) au plus (ici {ctx.get('actual_length')})"
    if kind in ("greater_than_equal", "greater_than"):
        return f"valeur trop petite (minimum {ctx.get('ge', ctx.get('gt'))})"
    if kind in ("less_than_equal", "less_than"):
        return f"valeur trop grande (maximum {ctx.get('le', ctx.get('lt'))})"
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return f"valeur non prévue (attendu : {ctx['expected']})"
    if kind == "value_error":
        return _validator_fr(str(err.get("msg", "valeur invalide")).removeprefix("Value error, "))
    return _MESSAGES.get(kind, str(err.get("msg", "valeur invalide")))


def french_validation_detail(errors: list[Any]) -> str:
    parts = []
    for err in errors[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "requête"
        parts.append(f"{loc} : {french_message(err)}")
    more = f" (et {len(errors) - 20} autre(s))" if len(errors) > 20 else ""
    return "requête invalide : " + " ; ".join(parts) + more


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": french_validation_detail(list(exc.errors()))}, status_code=422)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "corps de requête illisible (JSON invalide ou trop profondément imbriqué)"
    elif exc.status_code == 404 and detail == "Not Found":
        detail = "ressource introuvable"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = "méthode non permise sur cette ressource"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
