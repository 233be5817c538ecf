"""Clock synchronisation (EX-118) and disk space (EX-025) health: pure mappings on constructed
inputs, and the real calls on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from veilleur.runtime.ops.clock import (
    STA_UNSYNC,
    TIME_ERROR,
    KernelClock,
    TimedatectlClock,
    assess_clock,
    clock_status,
    format_duration_fr,
    parse_timedatectl,
    read_kernel_clock,
)
from veilleur.runtime.ops.disk import GIB, assess_disk, disk_status, format_bytes_fr


def kernel(
    status: int = 0, state: int = 0, est_us: int = 2000, max_us: int = 50_000
) -> KernelClock:
    return KernelClock(
        state=state, status=status, maxerror_us=max_us, esterror_us=est_us, offset_us=0.0
    )


@pytest.mark.req("EX-118", "EX-025")
def test_clock_mapping() -> None:
    ok = assess_clock(kernel(), None)
    assert (ok.level, ok.synchronised, ok.source) == ("vert", True, "adjtimex")
    assert ok.reason == "horloge synchronisée (erreur estimée 2 ms)"
    assert ok.esterror_s == pytest.approx(0.002)

    loose = assess_clock(kernel(est_us=250_000, max_us=1_500_000), None)
    assert loose.level == "jaune"
    assert loose.reason == (
        "horloge synchronisée mais imprécise (erreur estimée 250 ms, erreur maximale 1,5 s)"
    )

    for k in (kernel(status=STA_UNSYNC), kernel(state=TIME_ERROR)):
        bad = assess_clock(k, None)
        assert bad.level == "rouge" and bad.synchronised is False
        assert bad.reason == "horloge non synchronisée : les horodatages peuvent dériver"

    off = assess_clock(kernel(status=STA_UNSYNC), TimedatectlClock(False, False))
    assert off.reason.endswith("aucun service NTP n'est activé (timedatectl)")

    # without the kernel's answer, systemd's; without both, unknown (never an exception)
    assert assess_clock(None, TimedatectlClock(True, True)).level == "vert"
    assert assess_clock(None, TimedatectlClock(False, True)).level == "rouge"
    unknown = assess_clock(None, None)
    assert unknown.level == "jaune" and unknown.synchronised is None
    assert "inconnu" in unknown.reason
    assert set(unknown.to_dict()) >= {"level", "reason", "synchronised"}


def test_timedatectl_parsing_and_durations() -> None:
    assert parse_timedatectl("NTPSynchronized=yes\nNTP=no\n") == TimedatectlClock(True, False)
    assert parse_timedatectl("garbage") == TimedatectlClock(None, None)
    assert [format_duration_fr(s) for s in (0.0004, 0.002, 0.25, 1.5, 16.0)] == [
        "0,4 ms", "2 ms", "250 ms", "1,5 s", "16 s",
    ]  # fmt: skip


@pytest.mark.req("EX-118")
def test_real_clock_status_is_coherent() -> None:
    k = read_kernel_clock()
    assert k is not None, "adjtimex is readable without privilege on Linux"
    assert k.maxerror_us >= 0 and k.esterror_us >= 0
    st = clock_status()
    assert st.source == "adjtimex"
    assert st.synchronised == k.synchronised
    assert st.level == ("rouge" if not k.synchronised else st.level)
    assert st.level in ("vert", "jaune", "rouge") and st.reason.startswith("horloge")


@pytest.mark.req("EX-118")
def test_clock_status_without_timedatectl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert clock_status().level in ("vert", "jaune", "rouge")


@pytest.mark.req("EX-025")
def test_disk_mapping() -> None:
    total = 100 * GIB
    assert assess_disk("/d", total, 50 * GIB).level == "vert"
    assert assess_disk("/d", total, 50 * GIB).reason == "50 Gio libres sur 100 Gio (50,0 %)"
    low = assess_disk("/d", total, 8 * GIB)
    assert low.level == "jaune" and low.reason.startswith("espace disque faible : 8 Gio libres")
    assert assess_disk("/d", total, 4 * GIB).level == "rouge"  # < 5 %
    tiny = assess_disk("/d", 10 * GIB, GIB // 2)  # < 1 Gio
    assert tiny.level == "rouge" and "le journal risque de ne plus pouvoir écrire" in tiny.reason
    assert assess_disk("/d", 10 * GIB, 3 * GIB).level == "jaune"  # 30 % but < 5 Gio
    assert assess_disk("/d", 0, 0).level == "rouge"
    assert [format_bytes_fr(n) for n in (800, 1536, 300 * 1024**2, int(1.5 * GIB))] == [
        "800 o", "1,5 Kio", "300 Mio", "1,5 Gio",
    ]  # fmt: skip


@pytest.mark.req("EX-025")
def test_real_disk_status(tmp_path: Path) -> None:
    usage = shutil.disk_usage(tmp_path)
    st = disk_status(tmp_path)
    assert st.total_bytes == usage.total
    assert st.free_bytes is not None and abs(st.free_bytes - usage.free) < 512 * 1024**2
    assert st.level == assess_disk(str(tmp_path), usage.total, usage.free).level
    # a folder not created yet is measured on its nearest existing parent
    later = disk_status(tmp_path / "snapshots" / "2026")
    assert later.total_bytes == usage.total and later.path.endswith("2026")
    assert set(st.to_dict()) >= {"path", "level", "reason", "free_bytes", "free_ratio"}


@pytest.mark.req("EX-025")
def test_read_only_folder_is_red(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from veilleur.runtime.ops import disk

    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    # root ignores permission bits: pretend the folder is not writable
    monkeypatch.setattr(
        disk.os, "access", lambda p, m: False if Path(p) == ro else real_access(p, m)
    )
    st = disk_status(ro)
    assert st.level == "rouge" and "non accessible en écriture" in st.reason
