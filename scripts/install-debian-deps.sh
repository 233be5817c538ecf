#!/usr/bin/env bash
# Debian packages for the RTSP integration tests: a real GStreamer RTSP server
# (tests/rtsp/rtsp_server.py), run with the system Python, which alone imports `gi`, and
# iproute2 (`ip netns`: the UDP multicast tests run server and client in a network namespace),
# and PostgreSQL's server binaries (the journal's tests start a throwaway cluster of their own
# with them: tests/helpers/postgres_fixture.py; the package's default cluster is not used).
# Chromium: the operator interface's browser tests (tests/ui/) drive Debian's Chromium with
# Playwright (never a browser downloaded by Playwright); present when
# /usr/lib/chromium/chromium exists.
# poppler-utils: pdftotext / pdftoppm read the validation report's PDF back in its test
# (tests/integration/test_report_pdf.py); libpango-1.0-0 and libpangoft2-1.0-0: WeasyPrint
# renders that PDF with them (veilleur report).
# Idempotent: exits at once when the server's bindings already import, `ip` is there and
# PostgreSQL's initdb and pg_ctl are installed.
set -euo pipefail

# the server's bindings, and the elements its pipeline needs (qtdemux and rtph264pay from
# plugins-good, h264parse from plugins-bad)
check() {
    /usr/bin/python3 - >/dev/null 2>&1 <<'PY'
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: F401
Gst.init(None)
missing = [e for e in ("qtdemux", "h264parse", "rtph264pay") if not Gst.ElementFactory.find(e)]
raise SystemExit(1 if missing else 0)
PY
}

have_postgres() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null &&
        compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && id postgres >/dev/null 2>&1
}

# OpenLDAP's server, for the directory-login tests (a throwaway slapd: tests/helpers/ldap_fixture.py)
have_slapd() {
    [ -x /usr/sbin/slapd ] && command -v slapadd >/dev/null 2>&1
}

have_chromium() {
    [ -x /usr/lib/chromium/chromium ]
}

have_pdf_tools() {
    command -v pdftotext >/dev/null 2>&1 && ldconfig -p | grep -q "libpangoft2-1.0.so.0"
}

if [ -x /usr/bin/python3 ] && check && command -v ip >/dev/null 2>&1 && have_postgres &&
    have_slapd && have_chromium && have_pdf_tools; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-tools \
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
    gstreamer1.0-plugins-ugly gstreamer1.0-libav iproute2 postgresql slapd ldap-utils \
    chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0

if ! check; then
    echo "install-debian-deps: GstRtspServer still does not import with /usr/bin/python3" >&2
    exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
    echo "install-debian-deps: iproute2's ip still not found" >&2
    exit 1
fi
if ! have_slapd; then
    echo "install-debian-deps: slapd (OpenLDAP server) still missing" >&2
    exit 1
fi
if ! have_postgres; then
    echo "install-debian-deps: PostgreSQL's initdb/pg_ctl (or the postgres user) still missing" >&2
    exit 1
fi
if ! have_chromium; then
    echo "install-debian-deps: /usr/lib/chromium/chromium still missing" >&2
    exit 1
fi
if ! have_pdf_tools; then
    echo "install-debian-deps: pdftotext (poppler-utils) or Pango (libpangoft2) still missing" >&2
    exit 1
fi
