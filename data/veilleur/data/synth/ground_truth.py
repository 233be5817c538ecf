"""Ground truth of a clip: COCO boxes per frame and the events of contracts §2/§3.

Zone events are computed from the *visible* ground-truth boxes with the same geometry as the
runtime (foot point = bottom-centre of the box, normalised coordinates, even-odd polygons, the
line-side convention of :mod:`veilleur.runtime.core.geometry`). Event start times:

- ``franchissement`` (polygon): the frame where the foot point enters the zone (only stays of
  at least the rule's ``min_duration_s`` count); end: the frame it leaves.
- ``franchissement`` (line): the frame of the crossing in the forbidden direction; end: +N s.
- ``sens_circulation``: the start of the first 1 s motion window judged wrong-way (as the
  runtime's ``start_s``), kept when wrong-way motion lasts ``min_duration_s``.
- ``densite``: the first frame with more than ``max_count`` people, kept when the excess
  lasts ``min_duration_s``.
- ``objet_abandonne``: the moment the owner has been more than ``abandon_distance_m`` away
  from the dropped bag for ``abandon_min_s``.
- ``personne_au_sol``: the moment the fallen person has been lying for ``fall_min_lying_s``.
- ``arme`` / ``feu``: first frame where the weapon / the flames are visible.
- ``mouvement_foule``: the moment the crowd starts running.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.actors import Scene
from veilleur.data.synth.camera import FloatArray
from veilleur.data.synth.layout import ZONE_CORRIDOR, ZONE_DENSITY, ZONE_FORBIDDEN, ZONE_LINE
from veilleur.data.synth.params import SynthParams
from veilleur.data.synth.render import Box
from veilleur.data.synth.routes import angle_to
from veilleur.runtime.core.events import EventType
from veilleur.runtime.core.geometry import points_in_polygon
from veilleur.runtime.core.taxonomy import CLASS_IDS, coco_categories

GAP_S = 0.5
WINDOW_S = 1.0
MIN_SPEED = 0.01


@dataclass(frozen=True)
class GtEvent:
    type: EventType
    start_s: float
    end_s: float
    zone: str | None
    track_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": str(self.type),
            "start_s": round(float(self.start_s), 2),
            "end_s": round(float(self.end_s), 2),
            "zone": self.zone,
            "track_ids": list(self.track_ids),
        }


def coco_document(
    clip: str, frames: list[list[Box]], width: int, height: int, fps: float
) -> dict[str, Any]:
    """COCO detection JSON of one clip (contracts §3)."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i, boxes in enumerate(frames):
        images.append(
            {"id": i + 1, "file_name": f"{clip}/{i:06d}.jpg", "width": width, "height": height,
             "frame_index": i, "timestamp_s": round(i / fps, 3), "clip": clip}
        )  # fmt: skip
        for b in boxes:
            w, h = round(b.x1 - b.x0, 2), round(b.y1 - b.y0, 2)
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1,
                 "category_id": CLASS_IDS[b.category] + 1,
                 "bbox": [round(b.x0, 2), round(b.y0, 2), w, h], "area": round(w * h, 2),
                 "iscrowd": 0, "track_id": b.track_id}
            )  # fmt: skip
    return {
        "info": {"description": f"Veilleur synthetic clip {clip}", "clip": clip},
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(),
    }


@dataclass
class Tracks:
    """Foot points (normalised, NaN when unseen) and classes of every annotated track."""

    feet: dict[int, FloatArray]
    category: dict[int, list[str | None]]

    @classmethod
    def from_frames(cls, frames: list[list[Box]], width: int, height: int) -> Tracks:
        n = len(frames)
        feet: dict[int, FloatArray] = {}
        cats: dict[int, list[str | None]] = {}
        for i, boxes in enumerate(frames):
            for b in boxes:
                if b.track_id not in feet:
                    feet[b.track_id] = np.full((n, 2), np.nan)
                    cats[b.track_id] = [None] * n
                feet[b.track_id][i] = ((b.x0 + b.x1) / 2 / width, b.y1 / height)
                cats[b.track_id][i] = b.category
        return cls(feet, cats)

    def persons(self, tid: int) -> FloatArray:
        """Foot points of ``tid`` on frames where it is a standing/walking ``person``."""
        mask = np.array([c == "person" for c in self.category[tid]])
        pts = self.feet[tid].copy()
        pts[~mask] = np.nan
        return pts


def runs(mask: NDArray[Any], fps: float, gap_s: float = 0.0) -> list[tuple[int, int]]:
    """Maximal ``[start, end)`` frame runs of ``mask``, bridging gaps up to ``gap_s``."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    out: list[tuple[int, int]] = []
    start = prev = int(idx[0])
    for k in idx[1:]:
        if (k - prev - 1) / fps > gap_s:
            out.append((start, prev + 1))
            start = int(k)
        prev = int(k)
    out.append((start, prev + 1))
    return out


def _side(p: FloatArray, a: FloatArray, b: FloatArray) -> float:
    d = b - a
    return float(d[0] * (p[1] - a[1]) - d[1] * (p[0] - a[0]))


def _crosses(p0: FloatArray, p1: FloatArray, a: FloatArray, b: FloatArray) -> bool:
    s0, s1 = _side(p0, a, b), _side(p1, a, b)
    if (s0 == 0 and s1 == 0) or ((s0 > 0) == (s1 > 0) and s0 != 0 and s1 != 0):
        return False
    t0, t1 = _side(a, p0, p1), _side(b, p0, p1)
    return (t0 > 0) != (t1 > 0) or t0 == 0 or t1 == 0


def density_counts(scene: Scene, tracks: Tracks, exclude: set[int] | None = None) -> FloatArray:
    """People (class ``person``) with their foot point in the density zone, per frame."""
    poly = scene.layout.zones[ZONE_DENSITY].norm
    counts = np.zeros(scene.n_frames)
    for tid in tracks.feet:
        if exclude and tid in exclude:
            continue
        pts = tracks.persons(tid)
        ok = ~np.isnan(pts[:, 0])
        inside = np.zeros(scene.n_frames, dtype=bool)
        inside[ok] = points_in_polygon(pts[ok], poly)
        counts += inside
    return counts


def zone_events(scene: Scene, tracks: Tracks, p: SynthParams, max_count: int) -> list[GtEvent]:
    """Events of the three rules written in the site file."""
    fps, lay = scene.fps, scene.layout
    dur = scene.n_frames / fps
    t = scene.times
    events: list[GtEvent] = []
    forbidden = lay.zones[ZONE_FORBIDDEN].norm
    a, b = lay.zones[ZONE_LINE].norm
    corridor = lay.zones[ZONE_CORRIDOR].norm
    flow = lay.allowed_direction()
    for tid in sorted(tracks.feet):
        pts = tracks.persons(tid)
        ok = ~np.isnan(pts[:, 0])
        if not ok.any():
            continue
        inside = np.zeros(len(t), dtype=bool)
        inside[ok] = points_in_polygon(pts[ok], forbidden)
        for s, e in runs(inside, fps, 0.3):
            if (e - s) / fps >= p.intrusion_min_duration_s:
                events.append(
                    GtEvent(EventType.FRANCHISSEMENT, t[s], e / fps, ZONE_FORBIDDEN, (tid,))
                )
        seen = np.flatnonzero(ok)
        for j0, j1 in itertools.pairwise(seen):
            if (j1 - j0) / fps > 5.0 or not _crosses(pts[j0], pts[j1], a, b):
                continue
            going = (
                "left_to_right" if _side(pts[j0], a, b) < _side(pts[j1], a, b) else "right_to_left"
            )
            if going == lay.line_direction:
                end = min(dur, t[j1] + p.line_event_duration_s)
                events.append(GtEvent(EventType.FRANCHISSEMENT, t[j1], end, ZONE_LINE, (tid,)))
        events.extend(_wrong_way(tid, pts, t, corridor, flow, fps, p))
    counts = density_counts(scene, tracks)
    for s, e in runs(counts > max_count, fps, GAP_S):
        if (e - s) / fps >= p.density_min_duration_s:
            k = min(e - 1, s + round(p.density_min_duration_s * fps))
            density_poly = lay.zones[ZONE_DENSITY].norm
            ids = tuple(
                tid
                for tid in sorted(tracks.feet)
                if not np.isnan(tracks.persons(tid)[k, 0])
                and points_in_polygon(tracks.persons(tid)[k : k + 1], density_poly)[0]
            )
            events.append(GtEvent(EventType.DENSITE, t[s], e / fps, ZONE_DENSITY, ids))
    return events


def _wrong_way(
    tid: int,
    pts: FloatArray,
    t: FloatArray,
    poly: FloatArray,
    flow: tuple[float, float],
    fps: float,
    p: SynthParams,
) -> list[GtEvent]:
    n = len(t)
    wrong = np.zeros(n, dtype=bool)
    since = np.zeros(n)
    ok = ~np.isnan(pts[:, 0])
    inside = np.zeros(n, dtype=bool)
    inside[ok] = points_in_polygon(pts[ok], poly)
    seen = np.flatnonzero(ok)
    for i in seen:
        window = seen[(t[seen] >= t[i] - WINDOW_S - 1e-9) & (seen <= i)]
        j = int(window[0])
        dt = t[i] - t[j]
        if not inside[i] or dt < WINDOW_S / 2:
            continue
        motion = (pts[i] - pts[j]) / dt
        if float(np.hypot(*motion)) < MIN_SPEED:
            continue
        if angle_to(motion[None, :], flow)[0] > p.wrong_way_tolerance_deg:
            wrong[i] = True
            since[i] = t[j]
    out: list[GtEvent] = []
    for s, e in runs(wrong, fps):
        onset = float(since[s])
        if t[e - 1] - onset >= p.wrong_way_min_s:
            out.append(GtEvent(EventType.SENS_CIRCULATION, onset, e / fps, ZONE_CORRIDOR, (tid,)))
    return out


def staged_events(scene: Scene, tracks: Tracks, p: SynthParams) -> list[GtEvent]:
    """Events of the behaviours the scenario staged (no site rule for them yet)."""
    fps = scene.fps
    dur = scene.n_frames / fps
    t = scene.times
    facts = scene.facts
    events: list[GtEvent] = []
    for bag_id, owner_id, drop_t in facts.abandoned:
        bag = next(b for b in scene.bags if b.track_id == bag_id)
        owner = scene.person(owner_id).kin.pos
        dist = np.hypot(*(np.nan_to_num(owner, nan=1e6) - np.nan_to_num(bag.pos)).T)
        away = (t >= drop_t + 0.3) & (dist > p.abandon_distance_m)
        for s, e in runs(away, fps):
            start = t[s] + p.abandon_min_s
            if start < e / fps:
                events.append(
                    GtEvent(EventType.OBJET_ABANDONNE, start, e / fps, None, (bag_id, owner_id))
                )
    for pid, t_lying in facts.falls:
        start = t_lying + p.fall_min_lying_s
        if start < dur:
            events.append(GtEvent(EventType.PERSONNE_AU_SOL, start, dur, None, (pid,)))
    for pid, wid in facts.weapons:
        visible = np.array([c is not None for c in tracks.category.get(wid, [None] * len(t))])
        for s, e in runs(visible, fps, 1.0):
            events.append(GtEvent(EventType.ARME, t[s], e / fps, None, (pid, wid)))
    for fid, sid, _ in facts.fires:
        visible = np.array([c is not None for c in tracks.category.get(fid, [None] * len(t))])
        for s, e in runs(visible, fps, 1.0):
            events.append(GtEvent(EventType.FEU, t[s], e / fps, None, (fid, sid)))
    if facts.rush_t is not None and facts.rush_t < dur:
        running = np.zeros(len(t), dtype=bool)
        for pid in facts.crowd_ids:
            kin = scene.person(pid).kin
            seen = np.array([c is not None for c in tracks.category.get(pid, [None] * len(t))])
            running |= seen & (kin.speed > 2.5)
        last = np.flatnonzero(running)
        end = (last[-1] + 1) / fps if len(last) else min(dur, facts.rush_t + 2.0)
        end = max(end, facts.rush_t + 1 / fps)
        crowd = tuple(sorted(facts.crowd_ids))
        events.append(GtEvent(EventType.MOUVEMENT_FOULE, facts.rush_t, end, None, crowd))
    return events


def sort_events(events: list[GtEvent]) -> list[GtEvent]:
    return sorted(events, key=lambda e: (e.start_s, str(e.type), e.zone or "", e.track_ids))
