"""Serve the operator interface: ``/`` redirects to ``/ui/``, ``/ui/...`` serves the static files.

The routes are out of the OpenAPI document (``include_in_schema=False``): they are pages, not
API operations, and carry no permission of their own; the pages call the API, which checks
every request.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"

MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

# Everything comes from this origin: no CDN, no inline script, nothing leaves the site.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/ui", include_in_schema=False)
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


def static_file(relative: str) -> Path:
    """The file under ``STATIC_DIR`` that ``relative`` names; 404 outside it or unknown."""
    target = (STATIC_DIR / (relative or "index.html")).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "page introuvable")
    if target.suffix not in MEDIA_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "page introuvable")
    return target


@router.get("/ui/{path:path}", include_in_schema=False)
def ui_file(path: str) -> FileResponse:
    target = static_file(path)
    return FileResponse(
        target, media_type=MEDIA_TYPES[target.suffix], headers=dict(SECURITY_HEADERS)
    )
