"""Clip-level event annotations: ``events.json`` or ``events.csv`` per clip.

A clip's events are looked for, in this order, at ``<dir>/<clip>.events.json``,
``<dir>/<clip>.events.csv``, ``<dir>/events/<clip>.json``, ``<dir>/events/<clip>.csv``,
``<dir>/<clip>/events.json``, ``<dir>/<clip>/events.csv`` (``<dir>``: the source folder, then
the video's folder). JSON is a list of events, or an object with an ``events`` list (the
synthetic bundle's ``clip_XXXX.events.json``, contracts §3, reads as is). CSV has a header line
with ``type,start_s,end_s,zone`` and optionally ``track_ids`` (``;``-separated). Each event::

    {"type": "franchissement", "start_s": 3.2, "end_s": 7.9, "zone": "zone-interdite",
     "track_ids": [4]}

``type`` is one of the eight events (:class:`~veilleur.runtime.core.events.EventType`);
``0 <= start_s <= end_s`` (and ``end_s`` within the clip when its duration is known); ``zone``
is a zone id or empty.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from veilleur.data.ingest.model import Event, Problems
from veilleur.runtime.core.events import EventType

_TYPES = ", ".join(e.value for e in EventType)


def find_events(clip: str, dirs: Iterable[Path]) -> Path | None:
    """The events file of ``clip`` in the first of ``dirs`` holding one, else ``None``."""
    for folder in dirs:
        for candidate in (
            folder / f"{clip}.events.json",
            folder / f"{clip}.events.csv",
            folder / "events" / f"{clip}.json",
            folder / "events" / f"{clip}.csv",
            folder / clip / "events.json",
            folder / clip / "events.csv",
        ):
            if candidate.is_file():
                return candidate
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _event(
    entry: Mapping[str, Any],
    clip: str,
    path: Path,
    where: str,
    duration_s: float | None,
    problems: Problems,
) -> Event | None:
    raw_type = str(entry.get("type", "")).strip()
    try:
        etype = EventType(raw_type)
    except ValueError:
        problems.add(path, where, f"event type {raw_type!r} is not one of: {_TYPES}")
        return None
    start, end = _number(entry.get("start_s")), _number(entry.get("end_s"))
    if start is None or end is None:
        problems.add(path, where, "start_s and end_s must be numbers (seconds)")
        return None
    if start < 0 or end < start:
        problems.add(path, where, f"needs 0 <= start_s <= end_s, got {start:g} and {end:g}")
        return None
    if duration_s is not None and end > duration_s + 1e-3:
        problems.add(path, where, f"end_s {end:g} is past the clip's end ({duration_s:.3f} s)")
        return None
    zone_value = entry.get("zone")
    zone = None if zone_value in (None, "") else str(zone_value)
    raw_tracks = entry.get("track_ids") or []
    if isinstance(raw_tracks, str):
        raw_tracks = [t for t in raw_tracks.replace(",", ";").split(";") if t.strip()]
    try:
        tracks = tuple(int(t) for t in raw_tracks)
    except (TypeError, ValueError):
        problems.add(path, where, f"track_ids must be integers, got {raw_tracks!r}")
        return None
    return Event(clip, etype, start, end, zone, f"{path}: {where}", tracks)


def read_events(path: Path, clip: str, duration_s: float | None, problems: Problems) -> list[Event]:
    """The events of ``clip`` in ``path`` (JSON or CSV); problems are added to ``problems``."""
    events: list[Event] = []
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = {"type", "start_s", "end_s"} - set(reader.fieldnames or [])
                if missing:
                    problems.add(path, "line 1", f"header lacks {sorted(missing)}")
                    return []
                for row in reader:
                    event = _event(row, clip, path, f"line {reader.line_num}", duration_s, problems)
                    if event is not None:
                        events.append(event)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            problems.add(path, "", f"cannot read CSV ({exc})")
        return events
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.add(path, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, "", f"cannot read JSON ({exc})")
        return []
    entries = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        problems.add(path, "", "expected a list of events or an object with an 'events' list")
        return []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.add(path, f"events[{i}]", "an event must be an object")
            continue
        event = _event(entry, clip, path, f"events[{i}]", duration_s, problems)
        if event is not None:
            events.append(event)
    return events
