// Caméras: list with stream state, enable / disable (EX-035), add / remove (EX-033), and the
// perspective calibration by clicking points on the camera's picture (EX-008).
import { del, get, post, put } from './api.js';
import {
  clear, confirmDialog, every, field, fmtNumber, h, levelBadge, notify, section, select, table,
} from './util.js';
import { ZoneEditor, loadFrame } from './zone_editor.js';

function decimal(text) {
  const t = String(text ?? '').trim().replace(/\s/g, '').replace(',', '.');
  if (!t) return undefined;
  const x = Number(t);
  return Number.isFinite(x) ? x : undefined;
}

/** Calibration (EX-008): ≥ 4 points clicked on the picture, their ground position in metres,
 * saved in the camera's ``calibration`` section of the site configuration. */
async function calibration(main, ctx) {
  let cfg;
  try {
    cfg = await get('/config');
  } catch (e) {
    return;
  }
  const canWrite = ctx.can('rules:write');
  const cams = cfg.site.cameras;
  if (!cams.length) return;
  const camSelect = select(cams.map((c) => [c.id, c.name ? `${c.name} (${c.id})` : c.id]), cams[0].id,
    { name: 'camera-calibration', id: 'camera-calibration' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'aide-calibration' });
  const canvas = h('canvas', { width: 960, height: 540, tabindex: 0, class: 'editor', id: 'image-calibration',
    'aria-label': 'Image de la caméra : cliquez pour placer les points de calibration. '
      + 'Flèches : déplacer le point choisi ; N ou P : point suivant ou précédent ; Suppr : supprimer.',
    'aria-describedby': 'aide-calibration' });
  const pointsBox = h('div', { id: 'points-calibration' });
  const err = h('p', { class: 'error', role: 'alert', id: 'erreur-calibration', hidden: true });
  const state = h('p', { id: 'etat-calibration' });
  const shape = { id: 'calibration', kind: 'points', points: [] };
  let ground = []; // [[x, y] as typed] per point
  const editor = new ZoneEditor(canvas, {
    onChange: (why, i) => {
      if (why === 'remove') ground.splice(i, 1);
      drawPoints();
    },
    onStatus: (t) => { status.textContent = t; },
  });
  editor.readOnly = !canWrite;
  const cam = () => cams.find((c) => c.id === camSelect.value);

  function drawPoints() {
    while (ground.length < shape.points.length) ground.push(['', '']);
    ground.length = shape.points.length;
    const rows = shape.points.map(([x, y], i) => {
      const gx = h('input', { inputmode: 'decimal', name: `sol-x-${i + 1}`, value: ground[i][0],
        'aria-label': `Point ${i + 1} : position au sol X (m)`, readonly: !canWrite });
      const gy = h('input', { inputmode: 'decimal', name: `sol-y-${i + 1}`, value: ground[i][1],
        'aria-label': `Point ${i + 1} : position au sol Y (m)`, readonly: !canWrite });
      gx.addEventListener('input', () => { ground[i][0] = gx.value; });
      gy.addEventListener('input', () => { ground[i][1] = gy.value; });
      return h('tr', { dataset: { point: i + 1 } }, h('td', {}, String(i + 1)),
        h('td', {}, `${fmtNumber(x * 100, 1)} %`), h('td', {}, `${fmtNumber(y * 100, 1)} %`),
        h('td', {}, gx), h('td', {}, gy),
        canWrite ? h('td', {}, h('button', { type: 'button', class: 'small secondary',
          'aria-label': `Retirer le point ${i + 1}`, onclick: () => {
            editor.select(shape);
            editor.removePoint(i);
          } }, 'Retirer')) : null);
    });
    clear(pointsBox).append(rows.length
      ? table(['Point', 'Dans l’image (largeur)', 'Dans l’image (hauteur)', 'Au sol X (m)', 'Au sol Y (m)',
        canWrite ? 'Actions' : null].filter(Boolean), rows, { class: 'calibration-points' })
      : h('p', { class: 'muted' }, 'Aucun point placé.'),
    h('p', { class: 'muted', id: 'compte-points' }, `${rows.length} point(s) placé(s) ; il en faut au moins 4, `
      + 'au sol, non alignés (les coins d’un marquage, d’un pavage, d’une barrière…).'));
  }

  function describe(c) {
    const cal = c.calibration;
    state.textContent = cal && cal.image_points
      ? `Caméra calibrée avec ${cal.image_points.length} points.`
      : 'Caméra non calibrée : les règles métriques (densité au m², vitesses) sont approximatives.';
  }

  async function show() {
    const c = cam();
    const cal = c.calibration;
    shape.points = cal ? cal.image_points.map((p) => [p[0], p[1]]) : [];
    ground = cal ? cal.ground_points_m.map((p) => [String(p[0]).replace('.', ','), String(p[1]).replace('.', ',')]) : [];
    err.hidden = true;
    describe(c);
    editor.setZones([shape]);
    editor.select(shape);
    drawPoints();
    editor.setImage(await loadFrame(c.id));
  }

  async function save(remove = false) {
    err.hidden = true;
    const c = cam();
    let body;
    if (!remove) {
      const g = ground.map(([x, y]) => [decimal(x), decimal(y)]);
      const bad = g.findIndex(([x, y]) => x === undefined || y === undefined);
      if (bad >= 0) {
        err.textContent = `Point ${bad + 1} : saisissez sa position au sol en mètres (X et Y).`;
        err.hidden = false;
        return;
      }
      body = { image_points: shape.points.map((p) => [p[0], p[1]]), ground_points_m: g };
    }
    try {
      const fresh = await get('/config'); // the whole site as it is now, with this camera changed
      const target = fresh.site.cameras.find((x) => x.id === c.id);
      if (!target) throw new Error(`caméra ${c.id} absente de la configuration`);
      if (remove) delete target.calibration; else target.calibration = body;
      await put('/config', fresh.site);
      c.calibration = remove ? null : body;
      describe(c);
      notify(remove ? `Calibration de ${c.id} retirée.` : `Calibration de ${c.id} enregistrée.`, 'succes');
    } catch (e) {
      err.textContent = `Calibration refusée : ${e.message}`;
      err.hidden = false;
    }
  }

  camSelect.addEventListener('change', show);
  const tools = canWrite ? h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'placer-points', onclick: () => {
      ground = [];
      editor.startDrawing(shape);
      drawPoints();
    } }, 'Placer les points'),
    h('button', { type: 'button', class: 'secondary', onclick: () => editor.finishDrawing() },
      'Terminer le placement'),
    h('button', { type: 'button', class: 'primary', id: 'enregistrer-calibration', onclick: () => save() },
      'Enregistrer la calibration'),
    h('button', { type: 'button', class: 'secondary', onclick: () => save(true) }, 'Retirer la calibration'))
    : null;
  main.append(section('Calibration de la perspective',
    h('p', { class: 'muted' }, 'Placez sur l’image au moins quatre points au sol dont vous connaissez la position, '
      + 'puis saisissez leurs coordonnées en mètres dans un repère du sol (par exemple, un coin du parvis '
      + 'en 0 ; 0). Clic droit ou Suppr sur un point sélectionné : le retirer ; glisser : le déplacer.'),
    h('div', { class: 'toolbar' }, field('Caméra', camSelect).wrap, state),
    h('div', { class: 'split wide-left' }, h('div', {}, canvas, status), h('div', {}, pointsBox, err, tools))));
  await show();
}

export async function renderCameras(main, ctx) {
  main.append(h('h1', {}, 'Caméras'));
  const manage = ctx.can('cameras:manage');
  const listBox = h('div', { id: 'liste-cameras' });
  main.append(section('Caméras du site', listBox));
  let config = null;

  async function refresh() {
    const [state, health, cfg] = await Promise.allSettled([get('/control/state'), get('/health'),
      ctx.can('config:read') ? get('/config') : Promise.reject(new Error('non autorisé'))]);
    if (cfg.status === 'fulfilled') config = cfg.value;
    if (state.status === 'rejected') {
      clear(listBox).append(h('p', { class: 'error' }, state.reason.message));
      return;
    }
    const comps = health.status === 'fulfilled'
      ? Object.fromEntries(health.value.components.map((c) => [c.name, c])) : {};
    const confCams = config ? Object.fromEntries(config.site.cameras.map((c) => [c.id, c])) : {};
    const focusId = document.activeElement && document.activeElement.id;
    const rows = Object.entries(state.value.cameras).map(([id, st]) => {
      const comp = comps[`camera:${id}`];
      const conf = confCams[id] || {};
      const sw = h('input', { type: 'checkbox', role: 'switch', class: 'switch', id: `camera-${id}`,
        'aria-label': `Analyse de la caméra ${id}`, disabled: !manage });
      sw.checked = !!st.enabled;
      sw.addEventListener('change', async () => {
        try {
          await put(`/control/cameras/${encodeURIComponent(id)}`, { enabled: sw.checked });
          notify(`Caméra ${id} ${sw.checked ? 'activée' : 'désactivée'}.`, 'succes');
        } catch (e) {
          sw.checked = !sw.checked;
          notify(`Changement refusé : ${e.message}`, 'erreur');
        }
        refresh();
      });
      return h('tr', {},
        h('td', {}, id), h('td', {}, conf.name || '—'),
        h('td', { class: 'mono' }, (conf.source && conf.source.url) || '—'),
        h('td', {}, comp ? [levelBadge(comp.level), ' ', comp.reason] : '—'),
        h('td', {}, String(st.frames ?? 0)),
        h('td', {}, st.view_ok === false ? `vue modifiée : ${st.view_reason || ''}` : 'conforme'),
        h('td', {}, sw, h('label', { for: sw.id, class: 'switch-label' }, st.enabled ? 'active' : 'inactive')),
        manage ? h('td', {}, h('button', { type: 'button', class: 'small danger',
          'aria-label': `Retirer la caméra ${id}`, onclick: () => remove(id) }, 'Retirer')) : null);
    });
    clear(listBox).append(rows.length
      ? table(['Caméra', 'Nom', 'Source', 'Flux', 'Images analysées', 'Vue', 'Analyse',
        manage ? 'Actions' : null].filter(Boolean), rows, { class: 'cameras' })
      : h('p', { class: 'muted' }, 'Aucune caméra.'));
    if (focusId) { const el = document.getElementById(focusId); if (el) el.focus(); }
  }

  async function remove(id) {
    const ok = await confirmDialog({ title: `Retirer la caméra ${id}`,
      message: 'La caméra, ses zones et ses règles seront retirées de la configuration. '
        + 'Les alertes déjà journalisées sont conservées.', confirmLabel: 'Retirer', danger: true });
    if (ok === null) return;
    try {
      await del(`/cameras/${encodeURIComponent(id)}`);
      notify(`Caméra ${id} retirée.`, 'succes');
    } catch (e) {
      notify(`Retrait refusé : ${e.message}`, 'erreur');
    }
    refresh();
  }

  if (manage) {
    const id = h('input', { name: 'id', required: true, pattern: '[A-Za-z0-9_.-]+', maxlength: 64 });
    const name = h('input', { name: 'nom', maxlength: 128 });
    const url = h('input', { name: 'source', required: true, maxlength: 1024,
      placeholder: 'rtsp://… ou chemin d’un fichier vidéo' });
    const transport = select([['tcp', 'TCP'], ['udp', 'UDP'], ['udp_multicast', 'UDP multidiffusion']], 'tcp',
      { name: 'transport' });
    const fps = h('input', { type: 'number', name: 'fps', min: 0.5, max: 60, step: 0.5, placeholder: 'par défaut' });
    const enabled = h('input', { type: 'checkbox', id: 'nouvelle-active', checked: true });
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const form = h('form', { class: 'fields', 'aria-label': 'Ajouter une caméra' },
      field('Identifiant', id, 'Lettres, chiffres, tiret, point ou souligné.').wrap,
      field('Nom affiché', name).wrap, field('Source (flux RTSP ou fichier vidéo)', url).wrap,
      field('Transport RTSP', transport).wrap, field('Images analysées par seconde', fps).wrap,
      h('span', { class: 'check' }, enabled, h('label', { for: 'nouvelle-active' }, 'Analyse active dès l’ajout')),
      err, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Ajouter la caméra')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      if (!/^[A-Za-z0-9_.-]+$/.test(id.value.trim()) || !url.value.trim()) {
        err.textContent = 'Renseignez un identifiant valide et une source.';
        err.hidden = false;
        return;
      }
      const cam = { id: id.value.trim(), name: name.value.trim(), enabled: enabled.checked,
        source: { url: url.value.trim(), transport: transport.value }, zones: [], rules: [] };
      if (fps.value) cam.analysis_fps = Number(fps.value);
      try {
        await post('/cameras', cam);
        notify(`Caméra ${cam.id} ajoutée.`, 'succes');
        form.reset();
        refresh();
      } catch (ex) {
        err.textContent = ex.message;
        err.hidden = false;
      }
    });
    main.append(section('Ajouter une caméra ou un fichier vidéo', form));
  }
  if (ctx.can('config:read')) await calibration(main, ctx);
  return every(4000, refresh);
}
