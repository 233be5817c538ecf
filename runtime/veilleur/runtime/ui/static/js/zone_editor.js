// Draw zones on a camera snapshot: click to place points, drag them, delete them; lines show
// their crossing direction. Points are normalised (0..1, x right, y down), as in the site file.
// A zone of kind 'points' is a set of numbered points (the calibration's, EX-008): no outline,
// its points always shown with their number.
// Keyboard: arrows move the selected point, Suppr deletes it, Entrée ends a drawing, Échap
// cancels it, Tab on the canvas then N / P selects the next / previous point.
import { apiFetch } from './api.js';

const HANDLE = 8;
// points a finished shape keeps; the calibration's four are checked by the service
const MIN_POINTS = { line: 2, polygon: 3, points: 1 };

export class ZoneEditor {
  constructor(canvas, { onChange = () => {}, onStatus = () => {} } = {}) {
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.image = null;
    this.zones = [];
    this.arrows = {}; // zone id -> 'left_to_right' | 'right_to_left' | 'any'
    this.flows = {}; // zone id -> [dx, dy]
    this.active = null; // zone being edited
    this.selectedPoint = -1;
    this.drawing = false;
    this.drag = -1;
    this.readOnly = false;
    this.onChange = onChange;
    this.onStatus = onStatus;
    canvas.addEventListener('mousedown', (e) => this.down(e));
    canvas.addEventListener('mousemove', (e) => this.move(e));
    window.addEventListener('mouseup', () => { this.drag = -1; });
    canvas.addEventListener('keydown', (e) => this.key(e));
    canvas.addEventListener('contextmenu', (e) => {
      e.preventDefault();
      const i = this.hit(e);
      if (i >= 0) this.removePoint(i);
    });
  }

  setImage(img) { this.image = img; this.draw(); }

  setZones(zones, arrows = {}, flows = {}) {
    this.zones = zones;
    this.arrows = arrows;
    this.flows = flows;
    if (this.active && !zones.includes(this.active)) this.active = null;
    this.draw();
  }

  select(zone) {
    this.active = zone;
    this.selectedPoint = -1;
    this.drawing = false;
    this.draw();
  }

  startDrawing(zone) {
    zone.points = [];
    this.active = zone;
    this.drawing = true;
    this.selectedPoint = -1;
    const hint = {
      line: 'Cliquez deux points sur l’image pour tracer la ligne.',
      points: 'Cliquez les points reconnaissables au sol (quatre au moins), puis Entrée ou « Terminer le placement ».',
    };
    this.onStatus(hint[zone.kind]
      || 'Cliquez les sommets du polygone, puis Entrée ou « Terminer le tracé ».');
    this.canvas.focus();
    this.draw();
  }

  finishDrawing() {
    if (!this.drawing || !this.active) return;
    const need = MIN_POINTS[this.active.kind] ?? 3;
    if (this.active.points.length < need) {
      this.onStatus(`Il faut au moins ${need} points.`);
      return;
    }
    this.drawing = false;
    this.onStatus('Tracé terminé.');
    this.onChange();
    this.draw();
  }

  cancelDrawing() {
    if (!this.drawing) return;
    this.drawing = false;
    this.onStatus('Tracé annulé.');
    this.onChange('cancel');
    this.draw();
  }

  pos(e) {
    const r = this.canvas.getBoundingClientRect();
    const x = (e.clientX - r.left) / r.width;
    const y = (e.clientY - r.top) / r.height;
    return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
  }

  hit(e) {
    if (!this.active) return -1;
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = [e.clientX - r.left, e.clientY - r.top];
    return this.active.points.findIndex(([px, py]) =>
      Math.hypot(px * r.width - x, py * r.height - y) <= HANDLE + 3);
  }

  round(p) { return [Math.round(p[0] * 10000) / 10000, Math.round(p[1] * 10000) / 10000]; }

  down(e) {
    if (this.readOnly || !this.active || e.button !== 0) return;
    this.canvas.focus();
    const i = this.hit(e);
    if (i >= 0 && !this.drawing) {
      this.selectedPoint = i;
      this.drag = i;
      this.draw();
      return;
    }
    if (this.drawing) {
      this.active.points.push(this.round(this.pos(e)));
      this.selectedPoint = this.active.points.length - 1;
      if (this.active.kind === 'line' && this.active.points.length === 2) this.finishDrawing();
      this.draw();
    }
  }

  move(e) {
    if (this.drag < 0 || !this.active) return;
    this.active.points[this.drag] = this.round(this.pos(e));
    this.draw();
    this.onChange();
  }

  removePoint(i) {
    if (this.readOnly || !this.active) return;
    const min = (this.drawing || this.active.kind === 'points') ? 0 : (MIN_POINTS[this.active.kind] ?? 3);
    if (this.active.points.length <= min) {
      this.onStatus(this.active.kind === 'line'
        ? 'Une ligne garde ses deux points : supprimez la zone ou retracez-la.'
        : 'Un polygone garde au moins trois points.');
      return;
    }
    this.active.points.splice(i, 1);
    this.selectedPoint = Math.min(i, this.active.points.length - 1);
    this.onChange('remove', i);
    this.draw();
  }

  key(e) {
    if (this.readOnly || !this.active) return;
    const pts = this.active.points;
    const step = e.shiftKey ? 0.05 : 0.01;
    const sel = this.selectedPoint;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (e.key === 'Enter') { e.preventDefault(); this.finishDrawing(); return; }
    if (e.key === 'Escape') { e.preventDefault(); this.cancelDrawing(); return; }
    if ((e.key === 'n' || e.key === 'p') && pts.length) {
      e.preventDefault();
      const d = e.key === 'n' ? 1 : -1;
      this.selectedPoint = ((sel < 0 ? -1 : sel) + d + pts.length) % pts.length;
      this.onStatus(`Point ${this.selectedPoint + 1} sur ${pts.length} sélectionné.`);
      this.draw();
      return;
    }
    if (e.key === 'Delete' || e.key === 'Backspace') {
      if (sel >= 0) { e.preventDefault(); this.removePoint(sel); }
      return;
    }
    if (moves[e.key] && sel >= 0) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      pts[sel] = this.round([Math.min(1, Math.max(0, pts[sel][0] + dx)),
        Math.min(1, Math.max(0, pts[sel][1] + dy))]);
      this.onChange();
      this.draw();
    }
  }

  arrow(x1, y1, x2, y2, color) {
    const g = this.g;
    const a = Math.atan2(y2 - y1, x2 - x1);
    g.strokeStyle = color;
    g.fillStyle = color;
    g.lineWidth = 3;
    g.beginPath(); g.moveTo(x1, y1); g.lineTo(x2, y2); g.stroke();
    g.beginPath();
    g.moveTo(x2, y2);
    g.lineTo(x2 - 14 * Math.cos(a - 0.4), y2 - 14 * Math.sin(a - 0.4));
    g.lineTo(x2 - 14 * Math.cos(a + 0.4), y2 - 14 * Math.sin(a + 0.4));
    g.closePath(); g.fill();
  }

  draw() {
    const { g, canvas } = this;
    const W = canvas.width;
    const H = canvas.height;
    g.clearRect(0, 0, W, H);
    if (this.image) {
      g.drawImage(this.image, 0, 0, W, H);
    } else {
      g.fillStyle = '#3d405b';
      g.fillRect(0, 0, W, H);
      g.fillStyle = '#f1faee';
      g.font = '20px sans-serif';
      g.fillText('Image de la caméra indisponible : les zones restent modifiables.', 20, 34);
    }
    for (const z of this.zones) {
      const on = z === this.active;
      const pts = z.points.map(([x, y]) => [x * W, y * H]);
      if (!pts.length) continue;
      if (z.kind === 'points') {
        this.numbered(pts, on);
        continue;
      }
      g.lineWidth = on ? 4 : 2;
      g.strokeStyle = on ? '#ffb703' : (z.kind === 'line' ? '#e63946' : '#8ecae6');
      g.fillStyle = on ? 'rgba(255,183,3,0.18)' : 'rgba(142,202,230,0.15)';
      g.beginPath();
      g.moveTo(pts[0][0], pts[0][1]);
      pts.slice(1).forEach(([x, y]) => g.lineTo(x, y));
      if (z.kind === 'polygon' && !(on && this.drawing)) { g.closePath(); g.fill(); }
      g.stroke();
      g.font = 'bold 16px sans-serif';
      g.fillStyle = '#ffffff';
      g.fillText(z.id, pts[0][0] + 6, pts[0][1] - 6);
      if (z.kind === 'line' && pts.length === 2) this.lineArrow(z, pts);
      if (z.kind === 'polygon' && this.flows[z.id] && pts.length >= 3) {
        const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
        const cy = pts.reduce((s, p) => s + p[1], 0) / pts.length;
        const [dx, dy] = this.flows[z.id];
        const n = Math.hypot(dx, dy) || 1;
        this.arrow(cx - (dx / n) * 40, cy - (dy / n) * 40, cx + (dx / n) * 40, cy + (dy / n) * 40, '#06d6a0');
      }
      if (on) {
        pts.forEach(([x, y], i) => {
          g.fillStyle = i === this.selectedPoint ? '#e63946' : '#ffffff';
          g.strokeStyle = '#000000';
          g.lineWidth = 2;
          g.beginPath(); g.arc(x, y, HANDLE, 0, Math.PI * 2); g.fill(); g.stroke();
        });
      }
    }
  }

  numbered(pts, on) {
    const g = this.g;
    g.font = 'bold 15px sans-serif';
    pts.forEach(([x, y], i) => {
      g.fillStyle = on && i === this.selectedPoint ? '#e63946' : '#ffb703';
      g.strokeStyle = '#000000';
      g.lineWidth = 2;
      g.beginPath(); g.arc(x, y, HANDLE, 0, Math.PI * 2); g.fill(); g.stroke();
      const label = String(i + 1);
      g.fillStyle = 'rgba(0,0,0,0.7)';
      g.fillRect(x + HANDLE + 2, y - 20, g.measureText(label).width + 8, 20);
      g.fillStyle = '#ffffff';
      g.fillText(label, x + HANDLE + 6, y - 5);
    });
  }

  lineArrow(z, pts) {
    const [[x1, y1], [x2, y2]] = pts;
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const n = Math.hypot(dx, dy) || 1;
    // left-hand side when walking from the first point to the second (y down): (dy, -dx)
    const lx = (dy / n) * 45;
    const ly = (-dx / n) * 45;
    const dir = this.arrows[z.id];
    const g = this.g;
    g.font = 'bold 15px sans-serif';
    g.fillStyle = '#ffffff';
    g.fillText('G', mx + lx * 1.2 - 5, my + ly * 1.2 + 5);
    g.fillText('D', mx - lx * 1.2 - 5, my - ly * 1.2 + 5);
    if (dir === 'left_to_right') this.arrow(mx + lx, my + ly, mx - lx, my - ly, '#e63946');
    else if (dir === 'right_to_left') this.arrow(mx - lx, my - ly, mx + lx, my + ly, '#e63946');
    else if (dir === 'any') {
      this.arrow(mx, my, mx + lx, my + ly, '#e63946');
      this.arrow(mx, my, mx - lx, my - ly, '#e63946');
    }
  }
}

/** Load an image from the API into an ImageBitmap (null when unavailable). */
export async function loadFrame(cameraId) {
  try {
    const r = await apiFetch(`/api/v1/live/${encodeURIComponent(cameraId)}/frame.jpg?t=${Date.now()}`);
    if (!r.ok) return null;
    return await createImageBitmap(await r.blob());
  } catch (e) {
    return null;
  }
}
