// Direct: up to 9 live tiles (EX-075), boxes, track ids, zones and counts over the image
// (EX-040), a count history per zone (EX-042). Each tile polls frame.jpg and overlay.
import { apiFetch, get } from './api.js';
import { CLASS_LABEL, clear, h, nextId } from './util.js';

const MAX_TILES = 9;
const PERIOD_MS = 250;
const HISTORY = 120;
const COLORS = ['#ffb703', '#8ecae6', '#06d6a0', '#ef476f', '#c77dff', '#f4a261'];

function fmtAge(ms) {
  const v = Math.max(0, ms);
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 1 })} s`;
}

function color(n) { return COLORS[Math.abs(Number(n) || 0) % COLORS.length]; }

// Refresh figures of the mosaic, read by the tests (and handy in the browser's console):
// overlays answered and pictures drawn per camera, time between two refreshes of a tile, and
// the live latency (analysis of the frame on the service → drawn in the page).
const stats = {
  reset() {
    window.__direct = { overlays: {}, draws: {}, intervals_ms: [], latencies_ms: [] };
    this.last = new Map();
  },
  overlay(tile, ov) {
    const s = window.__direct;
    s.overlays[tile.cameraId] = (s.overlays[tile.cameraId] || 0) + 1;
    const now = performance.now();
    const prev = this.last.get(tile);
    if (prev !== undefined) s.intervals_ms.push(now - prev);
    this.last.set(tile, now);
    if (s.intervals_ms.length > 2000) s.intervals_ms.splice(0, 1000);
  },
  drawn(tile, ov) {
    const s = window.__direct;
    s.draws[tile.cameraId] = (s.draws[tile.cameraId] || 0) + 1;
    if (ov.analysed_utc) s.latencies_ms.push(Date.now() - ov.analysed_utc * 1000);
    if (s.latencies_ms.length > 2000) s.latencies_ms.splice(0, 1000);
  },
  last: new Map(),
};

class Tile {
  constructor(cameraId, chartHeight = 60) {
    this.cameraId = cameraId;
    this.stopped = false;
    this.history = {};
    this.canvas = h('canvas', { width: 640, height: 360, class: 'tile-canvas',
      'aria-label': `Vidéo en direct de la caméra ${cameraId}` });
    this.chart = h('canvas', { width: 640, height: chartHeight, class: 'tile-chart',
      'aria-label': `Historique des comptages par zone, caméra ${cameraId}` });
    this.chart.style.height = `${chartHeight}px`; // CSSOM: allowed by the page's policy
    this.info = h('p', { class: 'tile-info', 'aria-live': 'off' }, 'Connexion au flux…');
    // what the canvas shows, in words (screen readers do not read a canvas)
    this.described = h('ul', { class: 'visually-hidden tile-description' });
    this.lastIndex = null;
    this.drawn = false;
    this.el = h('figure', { class: 'tile', dataset: { camera: cameraId } }, this.canvas,
      h('figcaption', {}, h('strong', {}, cameraId), this.info), this.chart, this.described);
    this.loop();
  }

  // The overlay (small JSON) is polled; the picture is fetched only when the engine has
  // analysed a new frame, and its overlay is fetched again when the picture is newer than the
  // overlay in hand, so that boxes are always drawn on their own frame.
  async loop() {
    while (!this.stopped) {
      const t0 = performance.now();
      try {
        let ov = await get(`/live/${encodeURIComponent(this.cameraId)}/overlay`);
        if (this.stopped) break;
        stats.overlay(this, ov);
        if (ov.frame_index !== this.lastIndex || !this.drawn) {
          const [img, index] = await this.frame();
          if (this.stopped) { if (img.close) img.close(); break; }
          if (index !== null && index !== ov.frame_index) {
            const again = await get(`/live/${encodeURIComponent(this.cameraId)}/overlay`);
            if (again.frame_index === index) ov = again;
          }
          this.draw(img, ov);
          this.lastIndex = ov.frame_index;
          this.drawn = true;
          stats.drawn(this, ov);
        } else {
          this.say(ov);
        }
      } catch (e) {
        this.info.textContent = `Flux indisponible : ${e.message}`;
        await new Promise((r) => setTimeout(r, 2000));
      }
      const wait = Math.max(30, PERIOD_MS - (performance.now() - t0));
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async frame() {
    const r = await apiFetch(`/api/v1/live/${encodeURIComponent(this.cameraId)}/frame.jpg?t=${Date.now()}`);
    if (!r.ok) throw new Error(r.status === 404 ? 'aucune image analysée' : `erreur ${r.status}`);
    const index = r.headers.get('x-veilleur-frame');
    return [await createImageBitmap(await r.blob()), index === null ? null : Number(index)];
  }

  draw(img, ov) {
    const c = this.canvas;
    const g = c.getContext('2d');
    // drawn at the size shown, so that labels keep their size in a mosaic of nine
    const cw = Math.round(c.clientWidth) || c.width;
    const ch = img.width && img.height ? Math.round(cw * img.height / img.width) : c.height;
    if (c.width !== cw || c.height !== ch) { c.width = cw; c.height = ch; }
    g.drawImage(img, 0, 0, c.width, c.height);
    if (img.close) img.close();
    const sx = c.width / (ov.width || img.width || c.width);
    const sy = c.height / (ov.height || img.height || c.height);
    g.lineWidth = 2;
    g.font = 'bold 14px sans-serif';
    for (const z of ov.zones || []) {
      const pts = (z.points || []).map(([x, y]) => [x * c.width, y * c.height]);
      if (!pts.length) continue;
      g.strokeStyle = z.kind === 'line' ? '#e63946' : '#8ecae6';
      g.beginPath();
      g.moveTo(pts[0][0], pts[0][1]);
      pts.slice(1).forEach(([x, y]) => g.lineTo(x, y));
      if (z.kind !== 'line') g.closePath();
      g.stroke();
      const n = (ov.counts || {})[z.id];
      g.fillStyle = 'rgba(0,0,0,0.6)';
      const label = n === undefined ? z.id : `${z.id} : ${n}`;
      g.fillRect(pts[0][0], pts[0][1] - 18, g.measureText(label).width + 8, 18);
      g.fillStyle = '#ffffff';
      g.fillText(label, pts[0][0] + 4, pts[0][1] - 4);
    }
    for (const d of ov.detections || []) {
      const [x1, y1, x2, y2] = d.box;
      const col = color(d.track_id);
      g.strokeStyle = col;
      g.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      const label = `${CLASS_LABEL[d.class_name] || d.class_name}${d.track_id !== null && d.track_id !== undefined ? ` n° ${d.track_id}` : ''}`;
      g.fillStyle = col;
      g.fillRect(x1 * sx, y1 * sy - 17, g.measureText(label).width + 6, 17);
      g.fillStyle = '#000000';
      g.fillText(label, x1 * sx + 3, y1 * sy - 4);
    }
    const said = [];
    for (const d of ov.detections || []) {
      said.push(`${CLASS_LABEL[d.class_name] || d.label_fr || d.class_name}${d.track_id !== null && d.track_id !== undefined ? ` n° ${d.track_id}` : ''}`
        + ` (confiance ${Math.round(d.confidence * 100)} %)`);
    }
    for (const z of ov.zones || []) {
      const n = (ov.counts || {})[z.id];
      said.push(`zone ${z.id}${n === undefined ? '' : ` : ${n} personne(s)`}`);
    }
    clear(this.described).append(...said.map((t) => h('li', {}, t)));
    this.el.dataset.image = String(ov.frame_index);
    const counts = ov.counts || {};
    for (const [zid, n] of Object.entries(counts)) {
      const hst = this.history[zid] || (this.history[zid] = []);
      hst.push(n);
      if (hst.length > HISTORY) hst.shift();
    }
    this.drawChart();
    this.say(ov);
  }

  say(ov) {
    const counts = ov.counts || {};
    const lag = ov.analysed_utc
      ? ` ; analysée il y a ${fmtAge(Date.now() - ov.analysed_utc * 1000)}` : '';
    const txt = Object.entries(counts).map(([k, v]) => `${k} : ${v}`).join(', ');
    this.info.textContent = `${(ov.detections || []).length} détection(s)${txt ? ` ; comptages ${txt}` : ''}${lag}`;
    this.info.title = `Image n° ${ov.frame_index}`;
  }

  drawChart() {
    const c = this.chart;
    const w = Math.round(c.clientWidth); // drawn at the size shown: legible labels
    if (w > 0 && c.width !== w) c.width = w;
    const g = c.getContext('2d');
    g.fillStyle = '#1b1d2e';
    g.fillRect(0, 0, c.width, c.height);
    const all = Object.values(this.history).flat();
    const max = Math.max(1, ...all);
    Object.entries(this.history).forEach(([zid, hst], i) => {
      g.strokeStyle = COLORS[i % COLORS.length];
      g.lineWidth = 2;
      g.beginPath();
      hst.forEach((v, j) => {
        const x = (j / (HISTORY - 1)) * c.width;
        const y = c.height - 4 - (v / max) * (c.height - 16);
        if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
      g.fillStyle = COLORS[i % COLORS.length];
      g.font = '12px sans-serif';
      g.fillText(`${zid} (max ${Math.max(...hst)})`, 6 + i * 120, 12);
    });
  }

  stop() { this.stopped = true; }
}

export async function renderLive(main) {
  main.append(h('h1', {}, 'Direct'));
  let cams = [];
  try {
    cams = Object.keys((await get('/control/state')).cameras);
  } catch (e) {
    main.append(h('p', { class: 'error' }, `Caméras indisponibles : ${e.message}`));
    return null;
  }
  const picker = h('fieldset', { class: 'checks card' },
    h('legend', {}, `Caméras affichées (${MAX_TILES} au plus)`));
  const grid = h('div', { class: 'tiles', id: 'mosaique' });
  const boxes = cams.map((id, i) => {
    const cb = h('input', { type: 'checkbox', value: id, id: nextId('cam') });
    cb.checked = i < MAX_TILES;
    picker.append(h('span', { class: 'check' }, cb, h('label', { for: cb.id }, id)));
    return cb;
  });
  const note = h('p', { class: 'muted', role: 'status' });
  main.append(picker, note, grid);
  let tiles = [];
  stats.reset();

  function layout() {
    tiles.forEach((t) => t.stop());
    clear(grid);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    boxes.forEach((b) => { b.disabled = !b.checked && chosen.length >= MAX_TILES; });
    note.textContent = chosen.length ? '' : 'Cochez au moins une caméra.';
    const cols = chosen.length <= 1 ? 1 : (chosen.length <= 4 ? 2 : 3);
    const rows = Math.max(1, Math.ceil(chosen.length / cols));
    const chartHeight = rows > 2 ? 30 : 60;
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    // every tile on one screen (1920 × 1080): the grid is as wide as its rows of 16:9 pictures
    // (plus caption and chart) allow in the window's height, less the title and the picker
    grid.style.maxWidth = `calc(${cols} * ((100vh - 275px) / ${rows} - ${chartHeight + 50}px) * 16 / 9 + ${cols - 1} * 0.6em)`;
    tiles = chosen.map((id) => new Tile(id, chartHeight));
    tiles.forEach((t) => grid.append(t.el));
  }
  boxes.forEach((b) => b.addEventListener('change', layout));
  if (!cams.length) note.textContent = 'Aucune caméra dans votre profil.';
  layout();
  return () => tiles.forEach((t) => t.stop());
}
