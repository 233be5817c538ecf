"""Clock synchronisation status (EX-118): is this node's clock held by NTP, and how well?

Every alert carries UTC timestamps; a clock that is not synchronised on the operator's time
source makes them drift from the VMS recordings. The kernel knows: ``adjtimex(2)`` in read-only
mode (``modes = 0``, no privilege needed) gives its NTP status flags and its error estimates,
whatever NTP client (chrony, ntpd, systemd-timesyncd) disciplines it. ``timedatectl`` adds, when
systemd is there, whether an NTP service is enabled. Neither is required: a missing call gives
an *unknown* state, never an exception.

:func:`clock_status` reads the machine; :func:`assess_clock` is the pure mapping to a colour and
a French reason, tested on constructed inputs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
from dataclasses import dataclass

from veilleur.runtime.ops import Level

STA_UNSYNC = 0x0040
"""Kernel status flag: the clock is not synchronised (``timex.h``)."""
STA_NANO = 0x2000
"""Kernel status flag: ``offset`` is in nanoseconds (else microseconds)."""
TIME_ERROR = 5
"""``adjtimex`` return value when the clock is not synchronised."""

PRECISE_US = 100_000
"""Estimated error above which a synchronised clock is reported as imprecise (100 ms)."""
MAX_ERROR_US = 1_000_000
"""Maximum error above which a synchronised clock is reported as imprecise (1 s)."""


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """``struct timex`` of glibc on Linux (64-bit ``long`` fields, 11 padding ints at the end)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


@dataclass(frozen=True)
class KernelClock:
    """What ``adjtimex`` says (errors in microseconds, offset in microseconds)."""

    state: int
    """Return value: 0 TIME_OK … 5 TIME_ERROR."""
    status: int
    """STA_* flags."""
    maxerror_us: int
    esterror_us: int
    offset_us: float

    @property
    def synchronised(self) -> bool:
        return not (self.status & STA_UNSYNC) and self.state != TIME_ERROR


@dataclass(frozen=True)
class TimedatectlClock:
    """What ``timedatectl show`` says (None: property absent)."""

    ntp_synchronised: bool | None
    ntp_enabled: bool | None


@dataclass(frozen=True)
class ClockStatus:
    """Clock synchronisation for the health view (EX-025, EX-118)."""

    level: Level
    reason: str
    synchronised: bool | None
    """True/False when known; None when neither the kernel nor systemd could be asked."""
    esterror_s: float | None = None
    maxerror_s: float | None = None
    source: str = "inconnue"
    """Where the answer came from: ``adjtimex``, ``timedatectl`` or ``inconnue``."""

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "reason": self.reason,
            "synchronised": self.synchronised,
            "esterror_s": self.esterror_s,
            "maxerror_s": self.maxerror_s,
            "source": self.source,
        }


def read_kernel_clock() -> KernelClock | None:
    """``adjtimex`` (read-only) through libc; None where it is not available (not Linux…)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        func = getattr(libc, "ntp_adjtime", None) or libc.adjtimex
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.POINTER(_Timex)]
    func.restype = ctypes.c_int
    tx = _Timex()
    tx.modes = 0  # read only
    state = int(func(ctypes.byref(tx)))
    if state < 0:
        return None
    offset = float(tx.offset) / 1000.0 if tx.status & STA_NANO else float(tx.offset)
    return KernelClock(
        state=state,
        status=int(tx.status),
        maxerror_us=int(tx.maxerror),
        esterror_us=int(tx.esterror),
        offset_us=offset,
    )


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "true", "1"):
        return True
    if v in ("no", "false", "0"):
        return False
    return None


def parse_timedatectl(text: str) -> TimedatectlClock:
    """Parse ``timedatectl show`` output (``Key=value`` lines)."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value
    return TimedatectlClock(
        ntp_synchronised=_yes_no(props.get("NTPSynchronized")),
        ntp_enabled=_yes_no(props.get("NTP")),
    )


def read_timedatectl(timeout_s: float = 2.0) -> TimedatectlClock | None:
    """``timedatectl show -p NTPSynchronized -p NTP``; None when the command is missing or fails
    (no systemd, no D-Bus in a container…)."""
    exe = shutil.which("timedatectl")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "show", "-p", "NTPSynchronized", "-p", "NTP"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    parsed = parse_timedatectl(proc.stdout)
    if parsed.ntp_synchronised is None and parsed.ntp_enabled is None:
        return None
    return parsed


def format_duration_fr(seconds: float) -> str:
    """A short French duration: ``2 ms``, ``250 ms``, ``1,5 s``, ``16 s``."""
    if seconds < 1.0:
        ms = seconds * 1000.0
        return f"{ms:.0f} ms" if ms >= 1.0 else f"{ms:.1f} ms".replace(".", ",")
    return (f"{seconds:.1f}".rstrip("0").rstrip(".") + " s").replace(".", ",")


def assess_clock(kernel: KernelClock | None, systemd: TimedatectlClock | None) -> ClockStatus:
    """The colour and the French reason for a clock state (pure).

    - the kernel says synchronised, errors small → vert;
    - synchronised but estimated error > 100 ms or maximum error > 1 s → jaune;
    - not synchronised → rouge (timestamps may drift from the VMS);
    - the kernel cannot be asked: ``timedatectl``'s answer, else jaune *unknown*.
    """
    ntp_off = systemd is not None and systemd.ntp_enabled is False
    off_note = " ; aucun service NTP n'est activé (timedatectl)" if ntp_off else ""
    if kernel is not None:
        est = kernel.esterror_us / 1e6
        mx = kernel.maxerror_us / 1e6
        if not kernel.synchronised:
            return ClockStatus(
                "rouge",
                "horloge non synchronisée : les horodatages peuvent dériver" + off_note,
                False,
                est,
                mx,
                "adjtimex",
            )
        if kernel.esterror_us > PRECISE_US or kernel.maxerror_us > MAX_ERROR_US:
            return ClockStatus(
                "jaune",
                f"horloge synchronisée mais imprécise (erreur estimée {format_duration_fr(est)}, "
                f"erreur maximale {format_duration_fr(mx)})",
                True,
                est,
                mx,
                "adjtimex",
            )
        return ClockStatus(
            "vert",
            f"horloge synchronisée (erreur estimée {format_duration_fr(est)})",
            True,
            est,
            mx,
            "adjtimex",
        )
    if systemd is not None and systemd.ntp_synchronised is not None:
        if systemd.ntp_synchronised:
            return ClockStatus(
                "vert", "horloge synchronisée (timedatectl)", True, source="timedatectl"
            )
        return ClockStatus(
            "rouge",
            "horloge non synchronisée : les horodatages peuvent dériver" + off_note,
            False,
            source="timedatectl",
        )
    return ClockStatus(
        "jaune",
        "état de synchronisation de l'horloge inconnu (ni adjtimex ni timedatectl disponibles)",
        None,
    )


def clock_status(use_timedatectl: bool = True) -> ClockStatus:
    """Read this machine's clock state and assess it. Never raises."""
    try:
        kernel = read_kernel_clock()
    except Exception:  # an odd libc must not break health
        kernel = None
    systemd = read_timedatectl() if use_timedatectl else None
    return assess_clock(kernel, systemd)


__all__ = [
    "ClockStatus",
    "KernelClock",
    "TimedatectlClock",
    "assess_clock",
    "clock_status",
    "format_duration_fr",
    "parse_timedatectl",
    "read_kernel_clock",
    "read_timedatectl",
]
