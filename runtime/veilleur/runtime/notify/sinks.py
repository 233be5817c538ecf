"""Notifiers: where an alert goes after it is journaled (stdout JSON lines, in-process fan-out)."""

from __future__ import annotations

import json
import queue
import sys
import threading
from typing import Any, Protocol, TextIO


class Notifier(Protocol):
    def notify(self, alert: dict[str, Any]) -> None: ...


class JsonLinesNotifier:
    """Writes each alert as one JSON line (``veilleur replay``'s output)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def notify(self, alert: dict[str, Any]) -> None:
        self.stream.write(json.dumps(alert, ensure_ascii=False, sort_keys=True) + "\n")
        self.stream.flush()


class Broadcaster:
    """Fans alerts out to subscribers (live views); a slow subscriber never blocks the engine."""

    def __init__(self, maxsize: int = 100) -> None:
        self._subs: list[queue.Queue[dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def subscribe(self) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue(self.maxsize)
        with self._lock:
            self._subs.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            if q in self._subs:
                self._subs.remove(q)

    def notify(self, alert: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for q in subs:
            try:
                q.put_nowait(alert)
            except queue.Full:
                q.get_nowait()  # drop the oldest for this subscriber only
                q.put_nowait(alert)
