// Zones et règles: zones and lines drawn on the camera image (EX-036), rules with thresholds,
// durations, schedules (EX-041) and ET / OU / NON compositions (EX-032, EX-038), one-click
// enable / disable (EX-021), test on a recorded clip (EX-037). Saved with PUT /api/v1/config.
import { get, post, put } from './api.js';
import {
  CLASSES, DAYS, EVENTS, EVENT_LABEL, RULE_TYPES, RULE_TYPE_LABEL, SEVERITY_LABEL, clear, field,
  fmtDate, fmtNumber, h, nextId, notify, select, table,
} from './util.js';
import { ZoneEditor, loadFrame } from './zone_editor.js';

// Type-specific parameters: [key, label, step, hint]
const PARAMS = {
  franchissement: [['min_duration_s', 'Durée de présence avant alerte (s)', 0.1,
    'Polygone : temps passé dans la zone avant l’alerte.']],
  densite: [['max_count', 'Nombre maximal de personnes', 1],
    ['max_density_m2', 'Densité maximale (personnes par m²)', 0.1, 'Nécessite la calibration.'],
    ['min_duration_s', 'Durée du dépassement avant alerte (s)', 0.1]],
  sens_circulation: [['tolerance_deg', 'Tolérance d’angle (degrés)', 1],
    ['min_duration_s', 'Durée à contresens avant alerte (s)', 0.1],
    ['min_speed', 'Vitesse minimale (unités d’image par s)', 0.01]],
  mouvement_foule: [['run_speed_mps', 'Vitesse de course (m/s)', 0.1],
    ['min_tracks', 'Nombre minimal de personnes suivies', 1],
    ['min_running_share', 'Part minimale de personnes qui courent (0 à 1)', 0.05],
    ['min_duration_s', 'Durée avant alerte (s)', 0.1]],
  objet_abandonne: [['static_s', 'Immobilité avant prise en compte (s)', 1],
    ['owner_radius_m', 'Rayon du propriétaire (m)', 0.1],
    ['unattended_s', 'Durée sans personne à proximité (s)', 1]],
  arme: [['k', 'Détections requises (k)', 1], ['n', 'Sur les n dernières images', 1],
    ['min_confidence', 'Confiance minimale (0 à 1)', 0.05]],
  personne_au_sol: [['min_lying_s', 'Durée au sol avant alerte (s)', 0.5],
    ['upright_before_s', 'Durée debout avant la chute (s)', 0.5]],
  feu: [['k', 'Détections requises (k)', 1], ['n', 'Sur les n dernières images', 1],
    ['min_growth', 'Croissance minimale de la surface (rapport)', 0.05],
    ['window_s', 'Fenêtre d’observation (s)', 0.5],
    ['min_confidence', 'Confiance minimale (0 à 1)', 0.05]],
  composite: [['window_s', 'Fenêtre de combinaison (s)', 1,
    'Une règle compte comme vraie pendant ce temps après son déclenchement.']],
};
const DIRECTIONS = [['any', 'Les deux sens'], ['left_to_right', 'De gauche à droite (G → D)'],
  ['right_to_left', 'De droite à gauche (D → G)']];
const ZONE_KIND = { polygon: 'Polygone', line: 'Ligne' };

function num(v) {
  if (v === '' || v === null || v === undefined) return undefined;
  const x = Number(String(v).replace(',', '.'));
  return Number.isFinite(x) ? x : undefined;
}

/** {and|or: [id | {not: id}]} or a bare id → {op, items:[{id, neg}]}; null when deeper. */
function parseCondition(when) {
  // the API may give the field names (all_of, any_of, negated) or the file's (and, or, not)
  const negOf = (c) => (c && typeof c === 'object' ? (c.not ?? c.negated) : undefined);
  if (typeof when === 'string') return { op: 'and', items: [{ id: when, neg: false }] };
  if (!when || typeof when !== 'object') return { op: 'and', items: [] };
  const list = when.and ?? when.all_of ?? when.or ?? when.any_of;
  const op = (when.and ?? when.all_of) ? 'and' : 'or';
  if (!list) {
    const n = negOf(when);
    if (typeof n === 'string') return { op: 'and', items: [{ id: n, neg: true }] };
    return null;
  }
  const items = [];
  for (const c of list) {
    if (typeof c === 'string') items.push({ id: c, neg: false });
    else if (typeof negOf(c) === 'string') items.push({ id: negOf(c), neg: true });
    else return null;
  }
  return { op, items };
}

function buildCondition({ op, items }) {
  const conds = items.filter((i) => i.id).map((i) => (i.neg ? { not: i.id } : i.id));
  if (conds.length === 1 && typeof conds[0] === 'string') return conds[0];
  return { [op]: conds };
}

export async function renderRules(main, ctx) {
  main.append(h('h1', {}, 'Zones et règles'));
  const canWrite = ctx.can('rules:write');
  let cfg;
  try {
    cfg = await get('/config');
  } catch (e) {
    main.append(h('p', { class: 'error', role: 'alert' },
      `La configuration du site n’est pas disponible : ${e.message}`));
    return null;
  }
  const site = cfg.site;
  let version = cfg.config_version;
  let dirty = false;
  const runtimeRule = {}; // "cam/rule" -> enabled, as switched through the control API

  const camSelect = select(site.cameras.map((c) => [c.id, c.name ? `${c.name} (${c.id})` : c.id]),
    site.cameras[0] && site.cameras[0].id, { name: 'camera' });
  const versionLine = h('p', { class: 'muted', id: 'version-config' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'aide-trace' });
  const canvas = h('canvas', { width: 960, height: 540, tabindex: 0, class: 'editor',
    'aria-label': 'Image de la caméra : cliquez pour placer les points de la zone sélectionnée. '
      + 'Flèches : déplacer le point choisi ; N ou P : point suivant ou précédent ; Suppr : supprimer.',
    'aria-describedby': 'aide-trace' });
  const zonesBox = h('div', { id: 'zones' });
  const rulesBox = h('div', { id: 'regles' });
  const ruleEditor = h('div', { id: 'editeur-regle' });
  const saveBtn = h('button', { type: 'button', class: 'primary', id: 'enregistrer', disabled: true },
    'Enregistrer la configuration');
  const testBox = h('div', { id: 'test-clip' });

  main.append(h('div', { class: 'toolbar' }, field('Caméra', camSelect).wrap, versionLine,
    canWrite ? saveBtn : null),
  h('div', { class: 'split wide-left' },
    h('div', {}, canvas, status,
      h('p', { class: 'muted' }, 'Les côtés G et D d’une ligne se lisent en allant de son premier '
        + 'point vers le second ; la flèche rouge montre le sens de franchissement qui alerte.')),
    h('div', {}, h('section', { class: 'card', 'aria-label': 'Zones' }, h('h2', {}, 'Zones'), zonesBox),
      h('section', { class: 'card', 'aria-label': 'Règles' }, h('h2', {}, 'Règles'), rulesBox))),
  ruleEditor, canWrite ? testBox : '');

  const editor = new ZoneEditor(canvas, {
    onChange: (why) => { if (why !== 'cancel') markDirty(); drawZones(); },
    onStatus: (t) => { status.textContent = t; },
  });
  editor.readOnly = !canWrite;

  const cam = () => site.cameras.find((c) => c.id === camSelect.value);

  function markDirty() {
    dirty = true;
    saveBtn.disabled = false;
    versionLine.textContent = `Version de configuration : ${version} — modifications non enregistrées`;
  }

  function syncEditor() {
    const c = cam();
    const arrows = {};
    const flows = {};
    for (const r of c.rules || []) {
      if (r.type === 'franchissement' && r.zone) arrows[r.zone] = r.direction || 'any';
      if (r.type === 'sens_circulation' && r.zone && r.allowed_direction) flows[r.zone] = r.allowed_direction;
    }
    editor.setZones(c.zones || (c.zones = []), arrows, flows);
  }

  function drawZones() {
    const c = cam();
    clear(zonesBox);
    const rows = (c.zones || []).map((z) => {
      const used = (c.rules || []).filter((r) => r.zone === z.id).map((r) => r.id);
      return h('tr', { class: editor.active === z ? 'selected' : '' },
        h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => { editor.select(z); drawZones(); canvas.focus(); } },
          z.id)),
        h('td', {}, ZONE_KIND[z.kind] || z.kind),
        h('td', {}, String(z.points.length)),
        h('td', {}, used.join(', ') || '—'),
        canWrite ? h('td', {}, h('button', { type: 'button', class: 'small secondary',
          'aria-label': `Retracer la zone ${z.id}`, onclick: () => editor.startDrawing(z) }, 'Retracer'),
        ' ',
        h('button', { type: 'button', class: 'small danger', 'aria-label': `Supprimer la zone ${z.id}`,
          onclick: () => removeZone(z, used) }, 'Supprimer')) : null);
    });
    zonesBox.append(rows.length
      ? table(['Zone', 'Forme', 'Points', 'Règles', canWrite ? 'Actions' : null].filter(Boolean), rows)
      : h('p', { class: 'muted' }, 'Aucune zone sur cette caméra.'));
    if (!canWrite) return;
    const zid = h('input', { name: 'nouvelle-zone', pattern: '[A-Za-z0-9_.-]+', maxlength: 64 });
    const kind = select([['polygon', 'Polygone'], ['line', 'Ligne']], 'polygon', { name: 'forme' });
    const add = h('form', { class: 'inline', 'aria-label': 'Nouvelle zone' },
      field('Identifiant de la nouvelle zone', zid, 'Lettres, chiffres, tiret, point ou souligné.').wrap,
      field('Forme', kind).wrap,
      h('button', { type: 'submit', id: 'tracer-zone' }, 'Tracer'),
      h('button', { type: 'button', class: 'secondary', id: 'terminer-trace',
        onclick: () => editor.finishDrawing() }, 'Terminer le tracé'));
    add.addEventListener('submit', (e) => {
      e.preventDefault();
      const id = zid.value.trim();
      if (!/^[A-Za-z0-9_.-]+$/.test(id)) { status.textContent = 'Identifiant de zone invalide.'; zid.focus(); return; }
      if (c.zones.some((z) => z.id === id)) { status.textContent = `La zone ${id} existe déjà.`; zid.focus(); return; }
      const z = { id, kind: kind.value, points: [] };
      c.zones.push(z);
      editor.startDrawing(z);
      drawZones();
    });
    zonesBox.append(add);
  }

  function removeZone(z, used) {
    if (used.length) {
      notify(`La zone ${z.id} sert aux règles ${used.join(', ')} : modifiez-les d’abord.`, 'erreur');
      return;
    }
    const c = cam();
    c.zones.splice(c.zones.indexOf(z), 1);
    if (editor.active === z) editor.select(null);
    markDirty();
    syncEditor();
    drawZones();
  }

  async function switchRule(c, r, enabled, box) {
    try {
      await put(`/control/cameras/${encodeURIComponent(c.id)}/rules/${encodeURIComponent(r.id)}`, { enabled });
      runtimeRule[`${c.id}/${r.id}`] = enabled;
      notify(`Règle ${r.id} ${enabled ? 'activée' : 'désactivée'} sur ${c.id}.`, 'succes');
    } catch (e) {
      box.checked = !enabled;
      notify(`Changement refusé : ${e.message}`, 'erreur');
    }
    drawRules();
  }

  function ruleEnabled(c, r) {
    const k = `${c.id}/${r.id}`;
    return k in runtimeRule ? runtimeRule[k] : r.enabled !== false;
  }

  function drawRules() {
    const c = cam();
    clear(rulesBox);
    const rows = (c.rules || []).map((r) => {
      const on = ruleEnabled(c, r);
      const box = h('input', { type: 'checkbox', role: 'switch', class: 'switch',
        id: `regle-${c.id}-${r.id}`, 'aria-label': `Règle ${r.id} active`, disabled: !canWrite });
      box.checked = on;
      box.addEventListener('change', () => switchRule(c, r, box.checked, box));
      return h('tr', {},
        h('td', {}, box, h('label', { for: box.id, class: 'switch-label' }, on ? 'active' : 'inactive')),
        h('td', {}, r.id),
        h('td', {}, RULE_TYPE_LABEL[r.type] || r.type),
        h('td', {}, r.zone || '—'),
        h('td', {}, (r.schedule && r.schedule.length) ? 'plages horaires' : 'permanente'),
        canWrite ? h('td', {}, h('button', { type: 'button', class: 'small secondary',
          'aria-label': `Modifier la règle ${r.id}`, onclick: () => editRule(r) }, 'Modifier')) : null);
    });
    rulesBox.append(rows.length
      ? table(['État', 'Règle', 'Type', 'Zone', 'Horaires', canWrite ? 'Actions' : null].filter(Boolean), rows,
        { class: 'rules' })
      : h('p', { class: 'muted' }, 'Aucune règle sur cette caméra.'));
    if (canWrite) {
      rulesBox.append(h('button', { type: 'button', id: 'nouvelle-regle', onclick: () => editRule(null) },
        'Ajouter une règle'));
    }
  }

  // --- rule editor -------------------------------------------------------------------------
  function editRule(rule) {
    const c = cam();
    const isNew = rule === null;
    const draft = isNew
      ? { id: '', type: 'franchissement', zone: (c.zones[0] || {}).id, enabled: true, severity: 'medium' }
      : JSON.parse(JSON.stringify(rule));
    clear(ruleEditor);
    const form = h('form', { class: 'card rule-form', 'aria-label': 'Édition de la règle' });
    const title = h('h2', { tabindex: '-1' }, isNew ? 'Nouvelle règle' : `Règle ${draft.id}`);
    const idIn = h('input', { name: 'id', value: draft.id, pattern: '[A-Za-z0-9_.-]+', required: true,
      maxlength: 64, readonly: !isNew });
    const typeIn = select(RULE_TYPES, draft.type, { name: 'type', disabled: !isNew });
    const sevIn = select(Object.entries(SEVERITY_LABEL), draft.severity || 'medium', { name: 'priorite' });
    const cooldownIn = h('input', { type: 'number', step: 1, min: 0, name: 'cooldown_s',
      value: draft.cooldown_s ?? '' });
    const specific = h('div', { class: 'fields' });
    const sched = h('fieldset', {}, h('legend', {}, 'Plages horaires d’activité'));
    const windows = (draft.schedule || []).map((w) => ({ days: [...(w.days || DAYS.map((d) => d[0]))],
      start: w.start || '00:00', end: w.end || '24:00' }));
    const inputs = {};

    function drawSpecific() {
      clear(specific);
      const type = typeIn.value;
      if (type !== 'composite') {
        const zoneIn = select((c.zones || []).map((z) => [z.id, `${z.id} (${ZONE_KIND[z.kind]})`]), draft.zone,
          { name: 'zone' });
        inputs.zone = zoneIn;
        specific.append(field('Zone surveillée', zoneIn).wrap);
        const cls = h('fieldset', { class: 'checks' }, h('legend', {}, 'Classes d’objets'));
        inputs.classes = CLASSES.map(([v, label]) => {
          const cb = h('input', { type: 'checkbox', value: v, id: nextId('classe') });
          cb.checked = (draft.classes || []).includes(v);
          cls.append(h('span', { class: 'check' }, cb, h('label', { for: cb.id }, label)));
          return cb;
        });
        cls.append(h('small', { class: 'muted' }, 'Aucune case cochée : classes par défaut du type de règle.'));
        specific.append(cls);
      } else {
        inputs.zone = null;
        inputs.classes = null;
      }
      if (type === 'franchissement') {
        inputs.direction = select(DIRECTIONS, draft.direction || 'any', { name: 'direction' });
        specific.append(field('Sens de franchissement qui alerte (ligne)', inputs.direction).wrap);
      }
      if (type === 'sens_circulation') {
        const [dx, dy] = draft.allowed_direction || [1, 0];
        inputs.dx = h('input', { type: 'number', step: 0.1, value: dx, name: 'dx' });
        inputs.dy = h('input', { type: 'number', step: 0.1, value: dy, name: 'dy' });
        specific.append(field('Sens autorisé : composante horizontale (vers la droite)', inputs.dx).wrap,
          field('Sens autorisé : composante verticale (vers le bas)', inputs.dy).wrap);
      }
      if (type === 'composite') {
        inputs.event = select(EVENTS, draft.event || 'densite', { name: 'evenement' });
        specific.append(field('Événement signalé', inputs.event).wrap);
        specific.append(compositeEditor());
      }
      inputs.params = (PARAMS[type] || []).map(([key, label, step, hint]) => {
        const inp = h('input', { type: 'number', step, min: 0, name: key, value: draft[key] ?? '',
          placeholder: 'valeur par défaut' });
        specific.append(field(label, inp, hint).wrap);
        return [key, inp];
      });
    }

    let cond = null;
    function compositeEditor() {
      const parsed = parseCondition(draft.when);
      const box = h('fieldset', { class: 'composite' }, h('legend', {}, 'Conditions (ET / OU / NON)'));
      if (parsed === null) {
        cond = null;
        box.append(h('p', {}, 'Condition imbriquée, conservée telle quelle :'),
          h('pre', { class: 'mono' }, JSON.stringify(draft.when, null, 1)));
        return box;
      }
      cond = parsed;
      if (!cond.items.length) cond.items.push({ id: '', neg: false });
      const others = (c.rules || []).filter((r) => r.type !== 'composite' && r.id !== draft.id);
      const opIn = select([['and', 'ET : toutes les conditions'], ['or', 'OU : au moins une condition']],
        cond.op, { name: 'operateur' });
      opIn.addEventListener('change', () => { cond.op = opIn.value; });
      const list = h('ol', { class: 'conditions' });
      const redraw = () => {
        clear(list);
        cond.items.forEach((it, i) => {
          const neg = h('input', { type: 'checkbox', id: nextId('non') });
          neg.checked = it.neg;
          neg.addEventListener('change', () => { it.neg = neg.checked; });
          const rs = select([['', '— choisir une règle —'], ...others.map((r) => [r.id, `${r.id} (${RULE_TYPE_LABEL[r.type]})`])],
            it.id, { 'aria-label': `Règle de la condition ${i + 1}` });
          rs.addEventListener('change', () => { it.id = rs.value; });
          list.append(h('li', {}, h('span', { class: 'check' }, neg, h('label', { for: neg.id }, 'NON')), rs,
            h('button', { type: 'button', class: 'small secondary', 'aria-label': `Retirer la condition ${i + 1}`,
              onclick: () => { cond.items.splice(i, 1); redraw(); } }, 'Retirer')));
        });
      };
      redraw();
      box.append(field('Combinaison', opIn).wrap, list,
        h('button', { type: 'button', class: 'small', onclick: () => { cond.items.push({ id: '', neg: false }); redraw(); } },
          'Ajouter une condition'));
      return box;
    }

    function drawSchedule() {
      clear(sched).append(h('legend', {}, 'Plages horaires d’activité'));
      if (!windows.length) sched.append(h('p', { class: 'muted' }, 'Aucune plage : la règle est active en permanence.'));
      windows.forEach((w, i) => {
        const row = h('div', { class: 'window' }, h('span', { class: 'muted' }, `Plage ${i + 1} :`));
        for (const [d, label] of DAYS) {
          const cb = h('input', { type: 'checkbox', id: nextId('jour') });
          cb.checked = w.days.includes(d);
          cb.addEventListener('change', () => {
            w.days = cb.checked ? [...new Set([...w.days, d])] : w.days.filter((x) => x !== d);
          });
          row.append(h('span', { class: 'check' }, cb, h('label', { for: cb.id }, label)));
        }
        const st = h('input', { value: w.start, pattern: '([01][0-9]|2[0-3]):[0-5][0-9]|24:00', size: 5,
          placeholder: 'hh:mm' });
        const en = h('input', { value: w.end, pattern: '([01][0-9]|2[0-3]):[0-5][0-9]|24:00', size: 5,
          placeholder: 'hh:mm' });
        st.addEventListener('input', () => { w.start = st.value; });
        en.addEventListener('input', () => { w.end = en.value; });
        row.append(field('de', st).wrap, field('à', en).wrap,
          h('button', { type: 'button', class: 'small secondary', onclick: () => { windows.splice(i, 1); drawSchedule(); } },
            'Retirer la plage'));
        sched.append(row);
      });
      sched.append(h('button', { type: 'button', class: 'small',
        onclick: () => { windows.push({ days: DAYS.map((d) => d[0]), start: '08:00', end: '20:00' }); drawSchedule(); } },
      'Ajouter une plage'),
      h('small', { class: 'muted' }, ' Heures locales du site ; une fin avant le début passe minuit.'));
    }

    typeIn.addEventListener('change', drawSpecific);
    drawSpecific();
    drawSchedule();
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    form.append(title, h('div', { class: 'fields' }, field('Identifiant', idIn).wrap, field('Type', typeIn).wrap,
      field('Priorité', sevIn).wrap, field('Délai minimal entre deux alertes (s)', cooldownIn).wrap),
    specific, sched, err,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, isNew ? 'Ajouter la règle' : 'Appliquer'),
      h('button', { type: 'button', class: 'secondary', onclick: () => clear(ruleEditor) }, 'Fermer'),
      !isNew ? h('button', { type: 'button', class: 'danger', onclick: () => deleteRule(rule) },
        'Supprimer la règle') : null));
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') { clear(ruleEditor); camSelect.focus(); } });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const out = { ...draft, id: idIn.value.trim(), type: typeIn.value, severity: sevIn.value };
      const fail = (t) => { err.textContent = t; err.hidden = false; };
      if (!/^[A-Za-z0-9_.-]+$/.test(out.id)) return fail('Identifiant de règle invalide.');
      if (isNew && c.rules.some((r) => r.id === out.id)) return fail(`La règle ${out.id} existe déjà.`);
      const cd = num(cooldownIn.value);
      if (cd === undefined) delete out.cooldown_s; else out.cooldown_s = cd;
      for (const k of Object.keys(PARAMS).flatMap((t) => PARAMS[t].map((p) => p[0]))) {
        if (!(PARAMS[out.type] || []).some((p) => p[0] === k)) delete out[k];
      }
      for (const [k, inp] of inputs.params) {
        const v = num(inp.value);
        if (v === undefined) delete out[k]; else out[k] = v;
      }
      if (out.type === 'composite') {
        delete out.zone; delete out.classes; delete out.direction; delete out.allowed_direction;
        out.event = inputs.event.value;
        if (cond) {
          if (!cond.items.some((i) => i.id)) return fail('Choisissez au moins une règle dans les conditions.');
          if (cond.items.filter((i) => i.id).every((i) => i.neg)) {
            return fail('Il faut au moins une condition sans NON.');
          }
          out.when = buildCondition(cond);
        }
      } else {
        delete out.event; delete out.when;
        if (!inputs.zone.value) return fail('Choisissez une zone (tracez-en une d’abord).');
        out.zone = inputs.zone.value;
        const cls = inputs.classes.filter((cb) => cb.checked).map((cb) => cb.value);
        if (cls.length) out.classes = cls; else delete out.classes;
        const z = c.zones.find((x) => x.id === out.zone);
        if (z && z.kind === 'line' && out.type !== 'franchissement') {
          return fail('Seule une règle de franchissement peut surveiller une ligne.');
        }
        if (out.type === 'franchissement') out.direction = inputs.direction.value; else delete out.direction;
        if (out.type === 'sens_circulation') {
          out.allowed_direction = [num(inputs.dx.value) ?? 0, num(inputs.dy.value) ?? 0];
          if (!out.allowed_direction[0] && !out.allowed_direction[1]) return fail('Le sens autorisé ne peut être nul.');
        } else delete out.allowed_direction;
      }
      const badWin = windows.find((w) => !w.days.length || !/^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/.test(w.start)
        || !/^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/.test(w.end));
      if (badWin) return fail('Chaque plage horaire doit avoir au moins un jour et des heures au format hh:mm.');
      if (windows.length) out.schedule = windows; else delete out.schedule;
      if (isNew) c.rules.push(out); else c.rules[c.rules.indexOf(rule)] = out;
      err.hidden = true;
      markDirty();
      syncEditor();
      drawZones();
      drawRules();
      clear(ruleEditor);
      notify(`Règle ${out.id} prête : enregistrez la configuration pour l’appliquer.`);
      return undefined;
    });
    ruleEditor.append(form);
    title.focus();
  }

  function deleteRule(rule) {
    const c = cam();
    const users = c.rules.filter((r) => r.type === 'composite' && JSON.stringify(r.when).includes(`"${rule.id}"`));
    if (users.length) {
      notify(`La règle ${rule.id} sert aux règles composées ${users.map((r) => r.id).join(', ')}.`, 'erreur');
      return;
    }
    c.rules.splice(c.rules.indexOf(rule), 1);
    markDirty();
    syncEditor();
    drawRules();
    clear(ruleEditor);
  }

  // --- save and test -----------------------------------------------------------------------
  saveBtn.addEventListener('click', async () => {
    const bad = site.cameras.flatMap((c) => (c.zones || []).filter((z) =>
      z.points.length < (z.kind === 'line' ? 2 : 3)).map((z) => `${c.id}/${z.id}`));
    if (bad.length) {
      notify(`Zones incomplètes : ${bad.join(', ')}. Terminez leur tracé ou supprimez-les.`, 'erreur');
      return;
    }
    saveBtn.disabled = true;
    try {
      const out = await put('/config', site);
      version = out.config_version;
      dirty = false;
      versionLine.textContent = `Version de configuration : ${version} (enregistrée le ${fmtDate(new Date().toISOString())})`;
      notify(`Configuration enregistrée (version ${version}).`, 'succes');
    } catch (e) {
      saveBtn.disabled = false;
      notify(`Enregistrement refusé : ${e.message}`, 'erreur');
    }
  });

  function drawTest() {
    if (!canWrite) return;
    const clip = h('input', { name: 'clip', id: 'clip-essai', required: true, maxlength: 255,
      placeholder: 'par exemple : enregistrements/entree-nord.mp4' });
    const withDraft = h('input', { type: 'checkbox', id: 'essai-brouillon' });
    withDraft.checked = true;
    const out = h('div', { id: 'resultat-essai', role: 'status', 'aria-live': 'polite' });
    const run = h('button', { type: 'submit', id: 'lancer-essai' }, 'Lancer le test');
    const form = h('form', { class: 'card', 'aria-label': 'Tester sur un enregistrement' },
      h('h2', {}, 'Tester la configuration sur un enregistrement'),
      h('p', { class: 'muted' }, 'Rejoue un fichier vidéo du dossier de configuration du site avec les zones '
        + 'et règles de la caméra choisie, et montre ce qui aurait été signalé. Rien n’est journalisé ni appliqué.'),
      h('div', { class: 'inline' },
        field('Fichier vidéo (chemin relatif au dossier de configuration)', clip).wrap,
        h('span', { class: 'check' }, withDraft,
          h('label', { for: withDraft.id }, 'Avec les modifications non enregistrées')),
        run),
      out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!clip.value.trim()) { clip.focus(); return; }
      const body = { camera_id: camSelect.value, clip: clip.value.trim() };
      if (withDraft.checked && dirty) body.site = site;
      run.disabled = true;
      clear(out).append(h('p', { class: 'muted' }, 'Test en cours…'));
      try {
        const res = await post('/config/test', body);
        const alerts = res.alerts || [];
        const rows = alerts.map((a) => h('tr', {},
          h('td', {}, `${fmtNumber(a.alert_s ?? a.start_s ?? 0, 1)} s`),
          h('td', {}, String(a.frame_index ?? '—')),
          h('td', {}, EVENT_LABEL[a.event] || a.label_fr || a.event), h('td', {}, a.rule_id || '—'),
          h('td', {}, a.zone || '—'), h('td', {}, SEVERITY_LABEL[a.severity] || a.severity || '—'),
          h('td', {}, (a.track_ids || []).join(', ') || '—'),
          h('td', {}, `${fmtNumber((a.confidence ?? 0) * 100, 0)} %`)));
        clear(out).append(h('p', { id: 'bilan-essai' }, alerts.length
          ? `${alerts.length} alerte(s) auraient été levées sur ${res.clip} (caméra ${res.camera_id}, version ${res.config_version}).`
          : `Aucune alerte n’aurait été levée sur ${res.clip} (caméra ${res.camera_id}).`),
        rows.length ? table(['Instant dans le clip', 'Image', 'Événement', 'Règle', 'Zone', 'Priorité',
          'Pistes', 'Confiance'], rows, { class: 'essai' }) : '');
      } catch (err) {
        clear(out).append(h('p', { class: 'error', role: 'alert' }, `Test impossible : ${err.message}`));
      } finally {
        run.disabled = false;
      }
    });
    clear(testBox).append(form);
  }

  async function showCamera() {
    editor.select(null);
    clear(ruleEditor);
    syncEditor();
    drawZones();
    drawRules();
    versionLine.textContent = `Version de configuration : ${version}${dirty ? ' — modifications non enregistrées' : ''}`;
    editor.setImage(await loadFrame(camSelect.value));
  }
  camSelect.addEventListener('change', showCamera);
  drawTest();
  await showCamera();
  const beforeUnload = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  return () => window.removeEventListener('beforeunload', beforeUnload);
}
