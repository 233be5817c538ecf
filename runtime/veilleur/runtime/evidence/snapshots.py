"""Alert snapshots (EX-017, EX-104): the frame of the alert with its boxes and zone drawn,
written as a JPEG before the alert is journaled; the alert carries its path and SHA-256.

Files live under ``root/YYYY-MM-DD/<alert id>.jpg`` so that retention (``snapshot`` days,
video-protection rules) can purge them by date; the journal keeps the hash, so a snapshot
shown later can be checked against what was recorded.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from veilleur.runtime.evidence.render import Image, ZoneShape, draw_alert, encode_jpeg

_ID = re.compile(r"^[0-9a-f-]{36}$")


class SnapshotError(Exception):
    pass


class SnapshotStore:
    def __init__(self, root: Path | str, quality: int = 85) -> None:
        self.root = Path(root)
        self.quality = quality

    def save(
        self, alert: dict[str, Any], image: Image, zones: tuple[ZoneShape, ...] = ()
    ) -> dict[str, str]:
        """Render and write the snapshot of ``alert``; ``{"path", "sha256"}`` (path relative
        to the root). Written durably (fsync) and atomically."""
        aid = str(alert["id"])
        if not _ID.match(aid):
            raise SnapshotError(f"identifiant d'alerte inattendu : {aid!r}")
        label = alert.get("label_fr", alert.get("event"))
        title = f"{label} - {alert.get('camera_id')} - {alert.get('utc')}"
        img = draw_alert(
            image,
            alert.get("boxes", []),
            alert.get("track_ids", []),
            title,
            zones,
            alert.get("zone"),
        )
        data = encode_jpeg(img, self.quality)
        rel = f"{str(alert['utc'])[:10]}/{aid}.jpg"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return {"path": rel, "sha256": hashlib.sha256(data).hexdigest()}

    def open(self, rel: str, sha256: str | None = None) -> bytes:
        """The snapshot's bytes; refuses paths outside the root and altered files."""
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root.resolve()) or path.suffix != ".jpg":
            raise SnapshotError(f"chemin de cliché refusé : {rel!r}")
        if not path.is_file():
            raise FileNotFoundError(f"cliché absent (purgé par la conservation ?) : {rel}")
        data = path.read_bytes()
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise SnapshotError(f"cliché modifié depuis l'alerte (empreinte différente) : {rel}")
        return data
