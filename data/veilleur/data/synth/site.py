"""The site configuration of a clip (contracts §4): one camera on the clip, its zones and rules.

Zone ids: ``zone-interdite`` (polygon, forbidden works area), ``ligne-quai`` (line, platform
edge; ``points[0]`` is its near end, lower on screen), ``zone-densite`` (polygon),
``couloir`` (polygon, one-way corridor), ``scene`` (the whole image). Rules:
``intrusion-zone`` and ``franchissement-ligne`` (``franchissement``), ``densite-zone``
(``densite``), ``sens-couloir`` (``sens_circulation``), ``foule-zone`` (``mouvement_foule`` on
the density zone), ``objet-abandonne``, ``arme``, ``personne-au-sol`` and ``feu`` (on
``scene``). Their parameters follow the ground truth's definitions in :class:`SynthParams`.

Calibration: four image points of the visible ground and their positions in metres, from the
synthetic camera itself (an exact homography, like a surveyed site).

Line direction: the side of a point ``p`` is the sign of ``(b - a) × (p - a) =
dx·(py - ay) - dy·(px - ax)`` in normalised image coordinates (y down), ``a = points[0]``,
``b = points[1]``; positive is the right-hand side of someone walking ``a → b`` on screen.
``left_to_right`` means the foot point goes from negative to positive (the runtime's
convention, :mod:`veilleur.runtime.core.geometry`).

``sens_circulation``: a track is wrong-way when the angle between its image motion and
``allowed_direction`` exceeds ``tolerance_deg``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import yaml

from veilleur.data.synth.camera import PinholeCamera
from veilleur.data.synth.layout import (
    ZONE_CORRIDOR,
    ZONE_DENSITY,
    ZONE_FORBIDDEN,
    ZONE_LINE,
    Layout,
)
from veilleur.data.synth.params import SynthParams

ZONE_SCENE = "scene"


def calibration(cam: PinholeCamera) -> dict[str, Any]:
    """Four ground points seen in the lower part of the image, and where they are in metres."""
    top = max(0.55 * cam.height, cam.horizon_row + 0.15 * cam.height)
    rows = (min(top, 0.8 * cam.height), 0.95 * cam.height)
    uv = np.array([[u * cam.width, v] for v in rows for u in (0.2, 0.8)], dtype=np.float64)
    ground = cam.ground_from_pixel(uv)
    return {
        "image_points": [
            [round(float(u) / cam.width, 4), round(float(v) / cam.height, 4)] for u, v in uv
        ],
        "ground_points_m": [[round(float(x), 3), round(float(y), 3)] for x, y in ground],
    }


def site_document(
    clip: str, video: str, lay: Layout, p: SynthParams, max_count: int
) -> dict[str, Any]:
    """The site configuration mapping of one clip."""
    zones = [
        {"id": z.id, "kind": z.kind, "points": [[float(x), float(y)] for x, y in z.norm]}
        for z in (lay.zones[k] for k in (ZONE_FORBIDDEN, ZONE_LINE, ZONE_DENSITY, ZONE_CORRIDOR))
    ]
    zones.append({"id": ZONE_SCENE, "kind": "polygon", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]})
    dx, dy = lay.allowed_direction()
    rules: list[dict[str, Any]] = [
        {"id": "intrusion-zone", "type": "franchissement", "zone": ZONE_FORBIDDEN,
         "classes": ["person"], "min_duration_s": p.intrusion_min_duration_s},
        {"id": "franchissement-ligne", "type": "franchissement", "zone": ZONE_LINE,
         "classes": ["person"], "direction": lay.line_direction},
        {"id": "densite-zone", "type": "densite", "zone": ZONE_DENSITY, "classes": ["person"],
         "max_count": max_count, "min_duration_s": p.density_min_duration_s},
        {"id": "sens-couloir", "type": "sens_circulation", "zone": ZONE_CORRIDOR,
         "classes": ["person"], "allowed_direction": [dx, dy],
         "min_duration_s": p.wrong_way_min_s, "tolerance_deg": p.wrong_way_tolerance_deg},
        {"id": "foule-zone", "type": "mouvement_foule", "zone": ZONE_DENSITY,
         "classes": ["person"], "run_speed_mps": 2.5},
        {"id": "objet-abandonne", "type": "objet_abandonne", "zone": ZONE_SCENE,
         "classes": ["bag"], "owner_radius_m": p.abandon_distance_m,
         "unattended_s": p.abandon_min_s, "static_s": p.abandon_min_s},
        {"id": "arme", "type": "arme", "zone": ZONE_SCENE, "classes": ["weapon"]},
        {"id": "personne-au-sol", "type": "personne_au_sol", "zone": ZONE_SCENE,
         "classes": ["person", "person_lying"], "min_lying_s": p.fall_min_lying_s},
        {"id": "feu", "type": "feu", "zone": ZONE_SCENE, "classes": ["fire", "smoke"]},
    ]  # fmt: skip
    return {
        "version": 1,
        "site": {"name": f"Synthétique {clip}", "timezone": "Europe/Paris"},
        "cameras": [
            {
                "id": "cam-01",
                "name": f"Caméra synthétique ({clip})",
                "source": {"url": video, "transport": "tcp"},
                "analysis_fps": round(min(p.site_analysis_fps, p.fps), 3),
                "calibration": calibration(lay.camera),
                "zones": zones,
                "rules": rules,
            }
        ],
    }


def dump_site(doc: dict[str, Any]) -> str:
    """Deterministic YAML text of a site document."""
    header = "# Synthetic site configuration written by veilleur.data.synth (contracts §4).\n"
    body = yaml.safe_dump(
        doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    return header + body
