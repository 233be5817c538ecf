"""Free space of the folders the runtime writes to (journal, snapshots, backups) (EX-025).

A full disk stops the journal, and an alert that cannot be journaled is never notified: the
health view turns yellow, then red, well before that. :func:`assess_disk` is the pure mapping;
:func:`disk_status` measures a real folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from veilleur.runtime.ops import Level

GIB = 1024**3

RED_FREE_BYTES = 1 * GIB
"""Rouge under this much free space…"""
RED_FREE_RATIO = 0.05
"""…or under this share of the file system."""
YELLOW_FREE_RATIO = 0.10
"""Jaune under this share."""
YELLOW_FREE_BYTES = 5 * GIB
"""Jaune under this much free space, whatever the share (small disks)."""


@dataclass(frozen=True)
class DiskStatus:
    """Free space of the file system holding ``path``."""

    path: str
    level: Level
    reason: str
    total_bytes: int | None
    free_bytes: int | None

    @property
    def free_ratio(self) -> float | None:
        if not self.total_bytes or self.free_bytes is None:
            return None
        return self.free_bytes / self.total_bytes

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "level": self.level,
            "reason": self.reason,
            "total_bytes": self.total_bytes,
            "free_bytes": self.free_bytes,
            "free_ratio": None if self.free_ratio is None else round(self.free_ratio, 4),
        }


def format_bytes_fr(n: int) -> str:
    """``1,5 Gio``, ``300 Mio``, ``12 Kio``, ``800 o``: binary units, French decimal comma."""
    for unit, size in (("Tio", 1024**4), ("Gio", GIB), ("Mio", 1024**2), ("Kio", 1024)):
        if n >= size:
            value = n / size
            text = f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"
            return f"{text.replace('.', ',')} {unit}"
    return f"{n} o"


def assess_disk(
    path: str,
    total_bytes: int,
    free_bytes: int,
    *,
    red_free_bytes: int = RED_FREE_BYTES,
    red_free_ratio: float = RED_FREE_RATIO,
    yellow_free_ratio: float = YELLOW_FREE_RATIO,
    yellow_free_bytes: int = YELLOW_FREE_BYTES,
) -> DiskStatus:
    """The colour and French reason for ``free_bytes`` free of ``total_bytes`` (pure)."""
    ratio = free_bytes / total_bytes if total_bytes > 0 else 0.0
    pct = f"{ratio * 100:.1f}".replace(".", ",")
    what = f"{format_bytes_fr(free_bytes)} libres sur {format_bytes_fr(total_bytes)} ({pct} %)"
    if free_bytes < red_free_bytes or ratio < red_free_ratio:
        level: Level = "rouge"
        reason = f"espace disque critique : {what} ; le journal risque de ne plus pouvoir écrire"
    elif ratio < yellow_free_ratio or free_bytes < yellow_free_bytes:
        level = "jaune"
        reason = f"espace disque faible : {what}"
    else:
        level = "vert"
        reason = what
    return DiskStatus(path, level, reason, total_bytes, free_bytes)


def disk_status(path: Path | str) -> DiskStatus:
    """Measure the file system of ``path`` (its nearest existing parent when it does not exist
    yet). Never raises: an unreadable path is rouge with the reason."""
    p = Path(path)
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        reason = f"espace disque illisible pour {p} : {exc.strerror or exc}"
        return DiskStatus(str(p), "rouge", reason, None, None)
    status = assess_disk(str(p), usage.total, usage.free)
    if probe.exists() and not os.access(probe, os.W_OK):
        return DiskStatus(
            str(p),
            "rouge",
            f"dossier {probe} non accessible en écriture ; {status.reason}",
            usage.total,
            usage.free,
        )
    return status


__all__ = ["DiskStatus", "assess_disk", "disk_status", "format_bytes_fr"]
