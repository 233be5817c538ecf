// Shared helpers: element builder, French labels, dates, messages, dialogs.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function nextId(prefix = 'c') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field; returns {wrap, input}. */
export function field(label, input, hint) {
  if (!input.id) input.id = nextId('champ');
  const wrap = h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  if (hint) {
    const hid = nextId('aide');
    input.setAttribute('aria-describedby', hid);
    wrap.append(h('small', { id: hid, class: 'muted' }, hint));
  }
  return { wrap, input };
}

export function select(options, value, attrs = {}) {
  const s = h('select', attrs);
  for (const [v, label] of options) {
    const o = h('option', { value: v }, label);
    if (String(v) === String(value ?? '')) o.selected = true;
    s.append(o);
  }
  return s;
}

export const EVENTS = [
  ['sens_circulation', 'Sens de circulation'],
  ['franchissement', 'Franchissement'],
  ['mouvement_foule', 'Mouvement de foule'],
  ['densite', 'Densité'],
  ['objet_abandonne', 'Objets abandonnés'],
  ['arme', 'Armes'],
  ['personne_au_sol', 'Personne au sol'],
  ['feu', 'Feu'],
];
export const EVENT_LABEL = Object.fromEntries(EVENTS);
export const RULE_TYPES = [...EVENTS, ['composite', 'Règle composée (ET / OU / NON)']];
export const RULE_TYPE_LABEL = Object.fromEntries(RULE_TYPES);

export const CLASSES = [
  ['person', 'personne'],
  ['vehicle', 'véhicule'],
  ['bicycle', 'vélo'],
  ['bag', 'bagage'],
  ['weapon', 'arme'],
  ['fire', 'feu'],
  ['smoke', 'fumée'],
  ['person_lying', 'personne au sol'],
];
export const CLASS_LABEL = Object.fromEntries(CLASSES);

export const DAYS = [
  ['mon', 'lun.'], ['tue', 'mar.'], ['wed', 'mer.'], ['thu', 'jeu.'],
  ['fri', 'ven.'], ['sat', 'sam.'], ['sun', 'dim.'],
];

export const LEVEL_LABEL = { vert: 'Normal', jaune: 'Dégradé', rouge: 'En défaut' };
export const SEVERITY_LABEL = { low: 'basse', medium: 'moyenne', high: 'haute' };
export const QUALIFICATION_LABEL = {
  vrai_positif: 'Vrai positif',
  faux_positif: 'Faux positif',
  non_qualifiee: 'Non qualifiée',
};

export function componentLabel(name) {
  if (name.startsWith('camera:')) return `Caméra ${name.slice(7)}`;
  if (name.startsWith('disque:')) return `Disque ${name.slice(7)}`;
  const known = {
    journal: 'Journal des alertes', analyse: 'Analyse', moteur: 'Moteur d’analyse',
    detecteur: 'Détecteur', modele: 'Modèle', licences: 'Licences', disque: 'Disque',
  };
  return known[name] || name.charAt(0).toUpperCase() + name.slice(1);
}

const DATE_FMT = new Intl.DateTimeFormat('fr-FR', {
  dateStyle: 'short', timeStyle: 'medium', timeZone: 'Europe/Paris',
});

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : DATE_FMT.format(d);
}

export function fmtNumber(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return Number(x).toLocaleString('fr-FR', { maximumFractionDigits: digits });
}

export function yesNo(b) {
  return b ? 'oui' : 'non';
}

/** A short message in the corner (role=status), kind: info | succes | erreur. */
export function notify(text, kind = 'info') {
  const box = document.getElementById('messages');
  const m = h('div', { class: `toast ${kind}` }, text);
  box.append(m);
  setTimeout(() => m.remove(), kind === 'erreur' ? 9000 : 4000);
}

/** Modal confirmation with an optional text field; resolves to null when cancelled. */
export function confirmDialog({ title, message, confirmLabel = 'Confirmer', danger = false,
  inputLabel = null, inputRequired = false, inputType = 'textarea' }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-titre' });
    let input = null;
    const form = h('form', { method: 'dialog' });
    form.append(h('h2', { id: 'dlg-titre' }, title));
    if (message) form.append(h('p', {}, message));
    if (inputLabel) {
      input = inputType === 'textarea'
        ? h('textarea', { rows: 3, maxlength: 500, required: inputRequired })
        : h('input', { type: inputType, required: inputRequired, autocomplete: 'new-password' });
      form.append(field(inputLabel, input).wrap);
    }
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', value: 'ok' },
      confirmLabel);
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Annuler');
    form.append(h('div', { class: 'actions' }, ok, cancel));
    dlg.append(form);
    document.body.append(dlg);
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel.addEventListener('click', () => finish(null));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (input && inputRequired && !input.value.trim()) { input.focus(); return; }
      finish(input ? input.value : true);
    });
    dlg.showModal();
    (input || ok).focus();
  });
}

/** A state badge: vert / jaune / rouge with its French word (colour is never the only cue). */
export function levelBadge(level) {
  return h('span', { class: `badge ${level}` }, LEVEL_LABEL[level] || level);
}

/** Periodic task that never overlaps itself; returns a stop function. */
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { /* shown by the task itself */ }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows));
}

export function section(title, ...children) {
  const id = nextId('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}
