"""Error answers in French: request validation (422) and unreadable bodies (400).

FastAPI's own messages are English; operators and integrators get French, with the field
named: ``requête invalide : body.comment : texte trop long (2000 caractères au plus)``.
"""

from __future__ import annotations

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


def _message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "string_too_long":
        return f"texte trop long ({ctx.get('max_length')} caractères au plus)"
    if kind == "string_too_short":
        return f"texte trop court ({ctx.get('min_length')} caractère(s) au moins)"
    if kind in ("too_long", "too_short"):
        return "nombre d'éléments hors des limites"
    if kind in ("greater_than_equal", "greater_than"):
        return f"valeur trop petite (minimum {ctx.get('ge', ctx.get('gt'))})"
    if kind in ("less_than_equal", "less_than"):
        return f"valeur trop grande (maximum {ctx.get('le', ctx.get('lt'))})"
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return f"valeur non prévue (attendu : {ctx['expected']})"
    if kind == "value_error":
        return str(err.get("msg", "valeur invalide")).removeprefix("Value error, ")
    return _MESSAGES.get(kind, str(err.get("msg", "valeur invalide")))


def french_validation_detail(errors: list[Any]) -> str:
    parts = []
    for err in errors[:20]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "requête"
        parts.append(f"{loc} : {_message(err)}")
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
