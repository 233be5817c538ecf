"""Prometheus metrics of the runtime (EX-023, EX-025).

A custom collector reads the live state on each scrape — the camera workers' stream status,
the engine's counters and stage timings, the journal's counts — so nothing is counted twice
and no counter can drift from what the health view shows. :func:`render_metrics` gives the
body and content type of a ``/metrics`` response.

Metric names start with ``veilleur_``; labels are ``camera``, ``event``, ``kind`` and
``stage``. Alerts in the journal are a gauge, not a counter: a retention purge lowers it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from veilleur.runtime import ENGINE_VERSION
from veilleur.runtime.journal.repository import Journal, entries
from veilleur.runtime.ops import Level

if TYPE_CHECKING:
    from veilleur.runtime.pipeline import LiveRuntime

log = logging.getLogger(__name__)

_LEVEL_VALUE: dict[Level, float] = {"vert": 0.0, "jaune": 1.0, "rouge": 2.0}


def _bool(v: bool) -> float:
    return 1.0 if v else 0.0


class VeilleurCollector(Collector):
    """Reads the runtime and the journal at each scrape.

    Args:
        journal: the alert journal (None: no journal metrics).
        runtime: the live runtime (None: only journal and build metrics).
        data_dirs: folders whose file system's free space is exported (journal, snapshots).
        clock: export the kernel's clock synchronisation state (one cheap system call).
    """

    def __init__(
        self,
        journal: Journal | None,
        runtime: LiveRuntime | None = None,
        *,
        data_dirs: Sequence[Path | str] = (),
        clock: bool = True,
    ) -> None:
        self.journal = journal
        self.runtime = runtime
        self.data_dirs = list(data_dirs)
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        yield from self._build_info()
        if self.runtime is not None:
            yield from self._runtime()
        if self.journal is not None:
            yield from self._journal(self.journal)
        if self.clock:
            yield from self._clock()
        if self.data_dirs:
            yield from self._disks()

    # -- build ----------------------------------------------------------------------------

    def _build_info(self) -> Iterator[Metric]:
        labels = {"engine_version": ENGINE_VERSION, "config_version": "", "model_sha256": ""}
        if self.runtime is not None:
            engine = self.runtime.engine
            labels["config_version"] = str(engine.config_version)
            labels["model_sha256"] = str(engine.model_sha256)
        info = InfoMetricFamily(
            "veilleur_build", "Version du moteur, de la configuration et empreinte du modèle."
        )
        info.add_metric([], labels)
        yield info

    # -- live runtime ---------------------------------------------------------------------

    def _runtime(self) -> Iterator[Metric]:
        rt = self.runtime
        assert rt is not None
        engine = rt.engine
        state = engine.state()
        cameras: dict[str, dict[str, Any]] = state.get("cameras", {})
        workers = dict(rt.workers)

        yield GaugeMetricFamily(
            "veilleur_analysis_stopped",
            "1 quand l'analyse est arrêtée (arrêt global), 0 sinon.",
            value=_bool(bool(state.get("analysis_stopped"))),
        )
        yield GaugeMetricFamily(
            "veilleur_runtime_running",
            "1 quand les fils de lecture et d'inférence tournent.",
            value=_bool(rt.running),
        )
        batches = CounterMetricFamily(
            "veilleur_inference_batches", "Lots d'images passés au détecteur depuis le démarrage."
        )
        batches.add_metric([], float(rt.batches))
        yield batches

        up = GaugeMetricFamily(
            "veilleur_stream_up", "1 quand le flux de la caméra est connecté.", labels=["camera"]
        )
        frozen = GaugeMetricFamily(
            "veilleur_stream_frozen", "1 quand le flux livre des images figées.", labels=["camera"]
        )
        read = CounterMetricFamily(
            "veilleur_frames_read", "Images lues sur la source de la caméra.", labels=["camera"]
        )
        outages = CounterMetricFamily(
            "veilleur_stream_outages",
            "Coupures du flux après réception d'images.",
            labels=["camera"],
        )
        decode = CounterMetricFamily(
            "veilleur_decode_errors", "Paquets invalides ignorés au décodage.", labels=["camera"]
        )
        last = GaugeMetricFamily(
            "veilleur_last_frame_timestamp_seconds",
            "Heure (UTC, secondes Unix) de la dernière image lue.",
            labels=["camera"],
        )
        age = GaugeMetricFamily(
            "veilleur_last_frame_age_seconds",
            "Secondes écoulées depuis la dernière image lue.",
            labels=["camera"],
        )
        now = time.time()
        for cid, w in sorted(workers.items()):
            st = w.status
            up.add_metric([cid], _bool(st.connected))
            frozen.add_metric([cid], _bool(st.frozen))
            read.add_metric([cid], float(w.frames_read))
            outages.add_metric([cid], float(st.outages))
            decode.add_metric([cid], float(st.decode_errors))
            if st.last_frame_utc is not None:
                last.add_metric([cid], float(st.last_frame_utc))
                age.add_metric([cid], max(0.0, now - float(st.last_frame_utc)))
        yield from (up, frozen, read, outages, decode, last, age)

        analysed = CounterMetricFamily(
            "veilleur_frames_analysed", "Images analysées par le moteur.", labels=["camera"]
        )
        enabled = GaugeMetricFamily(
            "veilleur_camera_enabled",
            "1 quand l'analyse de la caméra est activée.",
            labels=["camera"],
        )
        view_ok = GaugeMetricFamily(
            "veilleur_view_ok",
            "1 quand la vue de la caméra est la vue de référence (règles de zone actives).",
            labels=["camera"],
        )
        degraded = GaugeMetricFamily(
            "veilleur_degraded_rules",
            "Règles de la caméra en mode dégradé (sans calibration, par exemple).",
            labels=["camera"],
        )
        for cid, cam in sorted(cameras.items()):
            analysed.add_metric([cid], float(cam.get("frames", 0) or 0))
            enabled.add_metric([cid], _bool(bool(cam.get("enabled"))))
            view_ok.add_metric([cid], _bool(bool(cam.get("view_ok", True))))
            rules = cam.get("degraded_rules") or {}
            degraded.add_metric([cid], float(len(rules)))
        yield from (analysed, enabled, view_ok, degraded)

        stage = CounterMetricFamily(
            "veilleur_stage_seconds",
            "Secondes passées par étape du moteur depuis le démarrage.",
            labels=["stage"],
        )
        for name, seconds in sorted(dict(engine.timings).items()):
            stage.add_metric([name], float(seconds))
        yield stage

    # -- journal --------------------------------------------------------------------------

    def _journal(self, journal: Journal) -> Iterator[Metric]:
        up = GaugeMetricFamily("veilleur_journal_up", "1 quand le journal répond.")
        n = func.count().label("n")
        try:
            with journal.engine.connect() as conn:
                by_kind = conn.execute(select(entries.c.kind, n).group_by(entries.c.kind)).all()
                alerts = conn.execute(
                    select(entries.c.camera_id, entries.c.event, n)
                    .where(entries.c.kind == "alert")
                    .group_by(entries.c.camera_id, entries.c.event)
                ).all()
        except Exception as exc:  # a scrape must answer, and say the journal is down
            log.warning("metrics: journal unreadable: %s", exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        kinds = GaugeMetricFamily(
            "veilleur_journal_entries",
            "Entrées présentes au journal, par type (une purge les fait baisser).",
            labels=["kind"],
        )
        for kind, count in sorted(by_kind, key=lambda r: str(r[0])):
            kinds.add_metric([str(kind)], float(count))
        yield kinds
        journaled = GaugeMetricFamily(
            "veilleur_alerts_journaled",
            "Alertes présentes au journal, par caméra et type d'événement.",
            labels=["camera", "event"],
        )
        for cam, ev, count in sorted(alerts, key=lambda r: (str(r[0]), str(r[1]))):
            journaled.add_metric([str(cam or ""), str(ev or "")], float(count))
        yield journaled

    # -- clock and disks ------------------------------------------------------------------

    def _clock(self) -> Iterator[Metric]:
        from veilleur.runtime.ops.clock import clock_status

        st = clock_status(use_timedatectl=False)  # no subprocess at each scrape
        sync = GaugeMetricFamily(
            "veilleur_clock_synchronized", "1 quand l'horloge est synchronisée (NTP), 0 sinon."
        )
        if st.synchronised is not None:
            sync.add_metric([], _bool(st.synchronised))
        yield sync
        if st.esterror_s is not None:
            yield GaugeMetricFamily(
                "veilleur_clock_estimated_error_seconds",
                "Erreur estimée de l'horloge selon le noyau.",
                value=st.esterror_s,
            )
        yield GaugeMetricFamily(
            "veilleur_clock_health",
            "Santé de l'horloge : 0 vert, 1 jaune, 2 rouge.",
            value=_LEVEL_VALUE[st.level],
        )

    def _disks(self) -> Iterator[Metric]:
        from veilleur.runtime.ops.disk import disk_status

        free = GaugeMetricFamily(
            "veilleur_disk_free_bytes", "Espace libre du dossier.", labels=["path"]
        )
        total = GaugeMetricFamily(
            "veilleur_disk_total_bytes",
            "Taille du système de fichiers du dossier.",
            labels=["path"],
        )
        health = GaugeMetricFamily(
            "veilleur_disk_health", "Santé du disque : 0 vert, 1 jaune, 2 rouge.", labels=["path"]
        )
        for d in self.data_dirs:
            st = disk_status(d)
            if st.free_bytes is not None and st.total_bytes is not None:
                free.add_metric([st.path], float(st.free_bytes))
                total.add_metric([st.path], float(st.total_bytes))
            health.add_metric([st.path], _LEVEL_VALUE[st.level])
        yield from (free, total, health)


def metrics_registry(
    journal: Journal | None,
    runtime: LiveRuntime | None = None,
    *,
    data_dirs: Sequence[Path | str] = (),
    clock: bool = True,
    process: bool = True,
) -> CollectorRegistry:
    """A registry holding the Veilleur collector (and the process collector: CPU, memory)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VeilleurCollector(journal, runtime, data_dirs=data_dirs, clock=clock))
    if process:
        ProcessCollector(namespace="veilleur", registry=registry)
    return registry


def render_metrics(
    journal: Journal | None,
    runtime: LiveRuntime | None = None,
    *,
    accept: str | None = None,
    data_dirs: Sequence[Path | str] = (),
    clock: bool = True,
    process: bool = True,
) -> tuple[bytes, str]:
    """The exposition of the current state: ``(body, content_type)``.

    Without ``accept`` (the request's ``Accept`` header), the classic Prometheus text format
    (version 0.0.4), which every Prometheus server reads; with it, what the scraper asks for
    (OpenMetrics included).
    """
    registry = metrics_registry(journal, runtime, data_dirs=data_dirs, clock=clock, process=process)
    if accept is None:
        return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


__all__ = ["VeilleurCollector", "metrics_registry", "render_metrics"]
