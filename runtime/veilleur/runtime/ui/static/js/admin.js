// Administration: accounts, groups and profiles (EX-018 … EX-022), machine tokens (EX-015),
// audit (EX-024), application logs, retention (EX-043, EX-044), backups (EX-030, EX-031),
// licences, versions and supervision metrics. Each tab shows only what the role allows.
import { del, download, get, patch, post, put, qs } from './api.js';
import {
  clear, confirmDialog, field, fmtDate, fmtNumber, h, nextId, notify, section, select, table,
  yesNo,
} from './util.js';

const can = (me, p) => !!me && me.permissions.includes(p);

const ROLES = [['standard', 'Utilisateur standard'], ['avance', 'Utilisateur avancé'],
  ['administrateur', 'Administrateur technique']];
const ROLE_LABEL = Object.fromEntries(ROLES);
const OUTCOME_LABEL = { succes: 'succès', refus: 'refus', echec: 'échec' };
const PERMISSIONS = [
  ['system:read', 'voir l’état du système'], ['streams:view', 'voir les flux vidéo'],
  ['alerts:read', 'consulter les alertes'], ['alerts:review', 'traiter les alertes'],
  ['stats:read', 'consulter les statistiques'], ['journal:export', 'exporter le journal'],
  ['journal:verify', 'vérifier l’intégrité du journal'], ['config:read', 'consulter la configuration'],
  ['rules:write', 'modifier zones, lignes, seuils et règles'],
  ['analysis:control', 'arrêter ou reprendre l’analyse'],
  ['cameras:manage', 'ajouter, retirer, activer des caméras'], ['users:manage', 'gérer les comptes'],
  ['groups:manage', 'gérer les groupes et profils'],
  ['audit:read', 'consulter l’audit et les journaux applicatifs'],
  ['retention:manage', 'régler les durées de conservation'],
  ['backup:manage', 'sauvegarder et restaurer la configuration'],
  ['metrics:read', 'lire les métriques de supervision'],
];

const TABS = [
  { id: 'comptes', title: 'Comptes', perm: 'users:manage', render: users },
  { id: 'groupes', title: 'Groupes et profils', perm: 'groups:manage', render: groups },
  { id: 'jetons', title: 'Jetons d’accès', perm: 'users:manage', render: tokens },
  { id: 'audit', title: 'Audit', perm: 'audit:read', render: audit },
  { id: 'journaux', title: 'Journaux applicatifs', perm: 'audit:read', render: logs },
  { id: 'conservation', title: 'Conservation', perm: 'retention:manage', render: retention },
  { id: 'sauvegardes', title: 'Sauvegardes', perm: 'backup:manage', render: backups },
  { id: 'systeme', title: 'Licences et versions', perm: 'metrics:read', render: system },
];

export function adminVisible(me) {
  return TABS.some((t) => can(me, t.perm));
}

export async function renderAdmin(main, ctx) {
  main.append(h('h1', {}, 'Administration'));
  const tabs = TABS.filter((t) => can(ctx.me, t.perm));
  const list = h('div', { role: 'tablist', 'aria-label': 'Rubriques d’administration', class: 'tabs' });
  const panel = h('div', { role: 'tabpanel', id: 'panneau-admin', tabindex: '0' });
  main.append(list, panel);
  const buttons = tabs.map((t) => h('button', { type: 'button', role: 'tab', id: `onglet-${t.id}`,
    'aria-controls': 'panneau-admin', 'aria-selected': 'false', tabindex: '-1' }, t.title));
  async function open(i, focus = false) {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', buttons[i].id);
    if (focus) buttons[i].focus();
    clear(panel);
    panel.setAttribute('aria-busy', 'true');
    delete panel.dataset.rubrique;
    try {
      await tabs[i].render(panel, ctx);
    } catch (e) {
      panel.append(h('p', { class: 'error', role: 'alert' }, `Rubrique indisponible : ${e.message}`));
    }
    panel.setAttribute('aria-busy', 'false');
    panel.dataset.rubrique = tabs[i].id; // loaded
  }
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => open(i));
    b.addEventListener('keydown', (e) => {
      const k = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (k) { e.preventDefault(); open((i + k + buttons.length) % buttons.length, true); }
      if (e.key === 'Home') { e.preventDefault(); open(0, true); }
      if (e.key === 'End') { e.preventDefault(); open(buttons.length - 1, true); }
    });
    list.append(b);
  });
  if (tabs.length) await open(0);
  return null;
}

function errorLine() {
  return h('p', { class: 'error', role: 'alert', hidden: true });
}

function showError(p, msg) {
  p.textContent = msg;
  p.hidden = false;
}

function checkboxes(legend, options, checked = []) {
  const fs = h('fieldset', { class: 'checks' }, h('legend', {}, legend));
  const boxes = options.map(([v, label]) => {
    const cb = h('input', { type: 'checkbox', value: v, id: nextId('case') });
    cb.checked = checked.includes(v);
    fs.append(h('span', { class: 'check' }, cb, h('label', { for: cb.id }, label)));
    return cb;
  });
  return { fs, values: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

// --- accounts --------------------------------------------------------------------------------
async function users(panel, ctx) {
  const [list, grps] = await Promise.all([get('/users'), get('/groups').catch(() => [])]);
  const creatable = ctx.me.role === 'administrateur' ? ROLES : ROLES.slice(0, 1);
  const manageable = new Set(creatable.map((r) => r[0]));
  const again = () => { clear(panel); users(panel, ctx); };
  const act = async (fn, ok) => {
    try { await fn(); notify(ok, 'succes'); again(); } catch (e) { notify(e.message, 'erreur'); }
  };
  const rows = list.map((u) => {
    const mine = u.login === ctx.me.login;
    const locked = u.locked_until_utc && new Date(u.locked_until_utc) > new Date();
    const actions = manageable.has(u.role) ? [
      h('button', { type: 'button', class: 'small secondary', 'aria-label': `Réinitialiser le mot de passe de ${u.login}`,
        onclick: async () => {
          const pw = await confirmDialog({ title: `Nouveau mot de passe pour ${u.login}`,
            message: 'Ses sessions ouvertes seront fermées.', inputLabel: 'Nouveau mot de passe',
            inputType: 'password', inputRequired: true, confirmLabel: 'Réinitialiser' });
          if (pw !== null) act(() => post(`/users/${encodeURIComponent(u.login)}/password`, { new_password: pw }), 'Mot de passe réinitialisé.');
        } }, 'Mot de passe'),
      locked ? h('button', { type: 'button', class: 'small', 'aria-label': `Déverrouiller ${u.login}`,
        onclick: () => act(() => patch(`/users/${encodeURIComponent(u.login)}`, { unlock: true }), 'Compte déverrouillé.') },
      'Déverrouiller') : null,
      !mine ? h('button', { type: 'button', class: 'small secondary',
        'aria-label': `${u.active ? 'Désactiver' : 'Réactiver'} ${u.login}`,
        onclick: () => act(() => patch(`/users/${encodeURIComponent(u.login)}`, { active: !u.active }),
          u.active ? 'Compte désactivé.' : 'Compte réactivé.') }, u.active ? 'Désactiver' : 'Réactiver') : null,
      !mine ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Supprimer ${u.login}`,
        onclick: async () => {
          const ok = await confirmDialog({ title: `Supprimer le compte ${u.login}`, danger: true,
            message: 'Ses sessions et ses jetons sont supprimés avec lui.', confirmLabel: 'Supprimer' });
          if (ok !== null) act(() => del(`/users/${encodeURIComponent(u.login)}`), 'Compte supprimé.');
        } }, 'Supprimer') : null,
    ] : [h('span', { class: 'muted' }, 'hors de votre rôle')];
    return h('tr', { dataset: { login: u.login } }, h('td', {}, u.login), h('td', {}, u.display_name || '—'),
      h('td', {}, ROLE_LABEL[u.role] || u.role), h('td', {}, (u.groups || []).join(', ') || '—'),
      h('td', {}, u.active ? (locked ? `verrouillé jusqu’au ${fmtDate(u.locked_until_utc)}` : 'actif') : 'désactivé'),
      h('td', {}, fmtDate(u.last_login_utc)), h('td', { class: 'actions-cell' }, actions));
  });
  panel.append(section('Comptes', table(['Identifiant', 'Nom', 'Rôle', 'Groupes', 'État',
    'Dernière connexion', 'Actions'], rows, { class: 'users' })));

  const login = h('input', { name: 'login', required: true, minlength: 2, maxlength: 64, autocomplete: 'off' });
  const name = h('input', { name: 'nom', maxlength: 128 });
  const role = select(creatable, 'standard', { name: 'role' });
  const pw = h('input', { name: 'mot-de-passe', type: 'password', required: true, autocomplete: 'new-password' });
  const gr = checkboxes('Groupes', grps.map((g) => [g.name, g.name]));
  const err = errorLine();
  const form = h('form', { class: 'fields', 'aria-label': 'Nouveau compte' },
    field('Identifiant', login).wrap, field('Nom affiché', name).wrap, field('Rôle', role).wrap,
    field('Mot de passe initial', pw, 'Politique de l’ANSSI : longueur et diversité imposées.').wrap,
    gr.fs, err, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Créer le compte')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      await post('/users', { login: login.value.trim(), display_name: name.value.trim(), role: role.value,
        password: pw.value, groups: gr.values() });
      notify(`Compte ${login.value.trim()} créé.`, 'succes');
      again();
    } catch (ex) { showError(err, ex.message); }
  });
  panel.append(section('Nouveau compte', form));
}

// --- groups and profiles ---------------------------------------------------------------------
async function groups(panel, ctx) {
  const [grps, profiles] = await Promise.all([get('/groups'), get('/profiles')]);
  const again = () => { clear(panel); groups(panel, ctx); };
  const gRows = grps.map((g) => h('tr', {}, h('td', {}, g.name), h('td', {}, g.description || '—'),
    h('td', {}, (g.members || []).join(', ') || '—'),
    h('td', {}, h('button', { type: 'button', class: 'small danger', 'aria-label': `Supprimer le groupe ${g.name}`,
      onclick: async () => {
        if (await confirmDialog({ title: `Supprimer le groupe ${g.name}`, danger: true, confirmLabel: 'Supprimer',
          message: 'Ses membres perdent les profils qu’il portait.' }) === null) return;
        try { await del(`/groups/${encodeURIComponent(g.name)}`); again(); } catch (e) { notify(e.message, 'erreur'); }
      } }, 'Supprimer'))));
  const gname = h('input', { name: 'groupe', required: true, minlength: 2, maxlength: 64 });
  const gdesc = h('input', { name: 'description', maxlength: 512 });
  const gerr = errorLine();
  const gform = h('form', { class: 'inline', 'aria-label': 'Nouveau groupe' }, field('Nom du groupe', gname).wrap,
    field('Description', gdesc).wrap, h('button', { type: 'submit' }, 'Créer le groupe'), gerr);
  gform.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await post('/groups', { name: gname.value.trim(), description: gdesc.value.trim() }); again(); } catch (ex) { showError(gerr, ex.message); }
  });
  panel.append(section('Groupes', table(['Groupe', 'Description', 'Membres', 'Actions'], gRows), gform));

  const permLabel = Object.fromEntries(PERMISSIONS);
  const pRows = profiles.map((p) => h('tr', {}, h('td', {}, p.name),
    h('td', {}, p.cameras.map((c) => (c === '*' ? 'toutes' : c)).join(', ')),
    h('td', {}, p.permissions.map((x) => permLabel[x] || x).join(' ; ')),
    h('td', {}, p.groups.join(', ') || '—'),
    h('td', {}, h('button', { type: 'button', class: 'small secondary', onclick: () => fill(p),
      'aria-label': `Modifier le profil ${p.name}` }, 'Modifier'), ' ',
    h('button', { type: 'button', class: 'small danger', 'aria-label': `Supprimer le profil ${p.name}`,
      onclick: async () => {
        if (await confirmDialog({ title: `Supprimer le profil ${p.name}`, danger: true, confirmLabel: 'Supprimer' }) === null) return;
        try { await del(`/profiles/${encodeURIComponent(p.name)}`); again(); } catch (e) { notify(e.message, 'erreur'); }
      } }, 'Supprimer'))));
  const pbox = h('div');
  function fill(p) {
    clear(pbox);
    const pname = h('input', { name: 'profil', required: true, value: p ? p.name : '', readonly: !!p });
    const pcams = h('input', { name: 'cameras', required: true, value: p ? p.cameras.join(', ') : '*' });
    const perms = checkboxes('Droits', PERMISSIONS, p ? p.permissions : []);
    const pgr = checkboxes('Groupes qui portent ce profil', grps.map((g) => [g.name, g.name]), p ? p.groups : []);
    const perr = errorLine();
    const f = h('form', { class: 'fields', 'aria-label': 'Profil' }, field('Nom du profil', pname).wrap,
      field('Caméras', pcams, 'Identifiants séparés par des virgules ; * pour toutes.').wrap, perms.fs, pgr.fs, perr,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, p ? 'Enregistrer le profil' : 'Créer le profil')));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await put(`/profiles/${encodeURIComponent(pname.value.trim())}`, {
          cameras: pcams.value.split(',').map((x) => x.trim()).filter(Boolean),
          permissions: perms.values(), groups: pgr.values() });
        notify('Profil enregistré.', 'succes');
        again();
      } catch (ex) { showError(perr, ex.message); }
    });
    pbox.append(f);
    pname.focus();
  }
  fill(null);
  panel.append(section('Profils (caméras et droits)', table(['Profil', 'Caméras', 'Droits', 'Groupes', 'Actions'], pRows), pbox));
}

// --- machine tokens --------------------------------------------------------------------------
async function tokens(panel, ctx) {
  const [list, accounts] = await Promise.all([get('/tokens'), get('/users')]);
  const again = () => { clear(panel); tokens(panel, ctx); };
  const rows = list.map((t) => h('tr', {}, h('td', {}, String(t.id)), h('td', {}, t.name), h('td', {}, t.login),
    h('td', {}, fmtDate(t.created_utc)), h('td', {}, t.expires_utc ? fmtDate(t.expires_utc) : 'jamais'),
    h('td', {}, fmtDate(t.last_used_utc)), h('td', {}, t.revoked ? 'révoqué' : 'valide'),
    h('td', {}, t.revoked ? '' : h('button', { type: 'button', class: 'small danger', 'aria-label': `Révoquer le jeton ${t.name}`,
      onclick: async () => {
        if (await confirmDialog({ title: `Révoquer le jeton ${t.name}`, danger: true, confirmLabel: 'Révoquer' }) === null) return;
        try { await del(`/tokens/${t.id}`); again(); } catch (e) { notify(e.message, 'erreur'); }
      } }, 'Révoquer'))));
  panel.append(section('Jetons d’accès machine', table(['N°', 'Nom', 'Compte', 'Créé le', 'Expire le',
    'Dernier usage', 'État', 'Actions'], rows)));
  const acc = select(accounts.map((u) => [u.login, `${u.login} (${ROLE_LABEL[u.role] || u.role})`]), '', { name: 'compte' });
  const name = h('input', { name: 'nom-jeton', required: true, maxlength: 64 });
  const days = h('input', { type: 'number', name: 'jours', min: 1, max: 3650, placeholder: 'sans expiration' });
  const out = h('div', { role: 'status', 'aria-live': 'polite' });
  const err = errorLine();
  const f = h('form', { class: 'fields', 'aria-label': 'Nouveau jeton' }, field('Compte représenté', acc).wrap,
    field('Nom du jeton', name, 'Par exemple : hyperviseur, VMS.').wrap, field('Validité (jours)', days).wrap, err,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Créer le jeton')), out);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      const t = await post('/tokens', { login: acc.value, name: name.value.trim(),
        expires_days: days.value ? Number(days.value) : null });
      clear(out).append(h('p', { class: 'notice' }, 'Jeton créé. Copiez-le maintenant : il ne sera plus affiché.'),
        h('code', { class: 'mono token', translate: 'no' }, t.token));
    } catch (ex) { showError(err, ex.message); }
  });
  panel.append(section('Nouveau jeton', f));
}

// --- audit -----------------------------------------------------------------------------------
async function audit(panel) {
  const LIMIT = 50;
  let offset = 0;
  const actionIn = h('input', { name: 'action', maxlength: 32, placeholder: 'toutes' });
  const box = h('div', { id: 'audit-liste' });
  const verifyOut = h('span', { role: 'status' });
  const exportBox = h('span', { class: 'exports' });
  async function load() {
    const page = await get(`/audit${qs({ action: actionIn.value.trim(), limit: LIMIT, offset })}`);
    const rows = page.items.map((e) => h('tr', {}, h('td', {}, fmtDate(e.utc)), h('td', {}, e.actor),
      h('td', {}, e.action_fr || e.event), h('td', {}, OUTCOME_LABEL[e.outcome] || e.outcome),
      h('td', { class: 'mono', translate: 'no' }, `${e.method || ''} ${e.path || ''}`), h('td', {}, e.camera_id || '—'),
      h('td', {}, e.ip || '—')));
    clear(box).append(h('p', {}, `${page.total} entrée(s) ; entrées ${offset + 1} à ${offset + page.items.length}`),
      table(['Date', 'Qui', 'Action', 'Résultat', 'Requête', 'Caméra', 'Adresse'], rows, { class: 'audit' }),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', disabled: offset === 0,
          onclick: () => { offset = Math.max(0, offset - LIMIT); load(); } }, 'Page précédente'),
        h('button', { type: 'button', class: 'secondary', disabled: offset + LIMIT >= page.total,
          onclick: () => { offset += LIMIT; load(); } }, 'Page suivante')));
    clear(exportBox);
    for (const [fmt, label] of [['csv', 'Exporter en CSV'], ['xlsx', 'Exporter en XLSX']]) {
      const href = `/api/v1/audit/export${qs({ format: fmt, action: actionIn.value.trim() })}`;
      exportBox.append(h('button', { type: 'button', onclick: () => download(href, `audit-veilleur.${fmt}`)
        .catch((e) => notify(`Export impossible : ${e.message}`, 'erreur')) }, label));
    }
  }
  const f = h('form', { class: 'inline', 'aria-label': 'Filtre de l’audit' }, field('Action (code)', actionIn).wrap,
    h('button', { type: 'submit' }, 'Filtrer'), exportBox,
    h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try {
        const v = await get('/audit/verify');
        verifyOut.textContent = v.ok ? `Chaîne intègre (${v.entries} entrées).`
          : `Chaîne rompue à l’entrée ${v.first_broken_seq} : ${v.reason}`;
      } catch (e) { verifyOut.textContent = e.message; }
    } }, 'Vérifier l’intégrité'), verifyOut);
  f.addEventListener('submit', (e) => { e.preventDefault(); offset = 0; load(); });
  panel.append(section('Journal d’audit', f, box));
  await load();
}

// --- application logs ------------------------------------------------------------------------
const LEVELS = [['', 'Tous'], ['DEBUG', 'Débogage'], ['INFO', 'Information'],
  ['WARNING', 'Avertissement'], ['ERROR', 'Erreur'], ['CRITICAL', 'Critique']];
const LEVEL_FR = Object.fromEntries(LEVELS);

async function logs(panel) {
  const box = h('div');
  const level = select(LEVELS, '', { name: 'niveau' });
  const f = h('form', { class: 'inline', 'aria-label': 'Filtre des journaux' }, field('Niveau minimal', level).wrap,
    h('button', { type: 'submit' }, 'Afficher'));
  f.addEventListener('submit', (e) => { e.preventDefault(); clear(box); loadLogs(box, level.value); });
  panel.append(section('Journaux applicatifs', f, box));
  await loadLogs(box, '');
}

async function loadLogs(box, level) {
  try {
    const data = await get(`/logs${qs({ level })}`);
    const lines = Array.isArray(data) ? data : (data.items || data.lines || []);
    clear(box).append(lines.length
      ? h('pre', { class: 'logs mono', translate: 'no' }, lines.map((l) => (typeof l === 'string' ? l
        : `${fmtDate(l.utc || l.time || l.ts)} ${LEVEL_FR[l.level] || l.level || ''} ${l.camera ? `[${l.camera}] ` : ''}${l.message ?? JSON.stringify(l)}`)).join('\n'))
      : h('p', { class: 'muted' }, 'Aucune ligne.'));
  } catch (e) {
    box.append(h('p', { class: 'muted' }, `Journaux indisponibles : ${e.message}`));
  }
}

// --- retention -------------------------------------------------------------------------------
const RETENTION_LABEL = {
  alert: 'Alertes', review: 'Traitements des alertes', control: 'Actions de contrôle',
  purge: 'Traces des purges', audit: 'Journal d’audit', snapshot: 'Images des alertes',
  snapshots: 'Images des alertes', clip: 'Extraits vidéo', clips: 'Extraits vidéo', logs: 'Journaux applicatifs',
};

async function retention(panel) {
  const box = h('div');
  panel.append(section('Durées de conservation', box));
  let data;
  try { data = await get('/retention'); } catch (e) {
    box.append(h('p', { class: 'muted' }, `Réglage indisponible : ${e.message}`));
    return;
  }
  const inputs = [];
  const f = h('form', { class: 'fields', 'aria-label': 'Durées de conservation' });
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'number' && v !== null) continue;
    const inp = h('input', { type: 'number', min: 1, step: 1, name: k, value: v ?? '',
      placeholder: 'sans limite' });
    inputs.push([k, inp]);
    f.append(field(`${RETENTION_LABEL[k] || k.replace(/_/g, ' ')} (jours)`, inp,
      'Vide : conservé sans limite de durée.').wrap);
  }
  const err = errorLine();
  f.append(err, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Enregistrer')));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { ...data };
    for (const [k, inp] of inputs) body[k] = inp.value === '' ? null : Number(inp.value);
    try { data = await put('/retention', body); notify('Durées de conservation enregistrées.', 'succes'); } catch (ex) { showError(err, ex.message); }
  });
  box.append(f);
}

// --- backups ---------------------------------------------------------------------------------
async function backups(panel) {
  const box = h('div');
  panel.append(section('Sauvegardes de la configuration', box));
  async function load() {
    let list;
    try { list = await get('/config/backups'); } catch (e) {
      clear(box).append(h('p', { class: 'muted' }, `Sauvegardes indisponibles : ${e.message}`));
      return;
    }
    const items = Array.isArray(list) ? list : (list.items || []);
    const rows = items.map((b) => {
      const name = typeof b === 'string' ? b : b.name;
      return h('tr', {}, h('td', {}, name), h('td', {}, b.note || '—'), h('td', {}, fmtDate(b.utc || b.created_utc)),
        h('td', {}, b.config_version || '—'), h('td', {}, b.size !== undefined ? `${fmtNumber(b.size / 1024, 1)} Kio` : '—'),
        h('td', {}, h('button', { type: 'button', class: 'small danger', 'aria-label': `Restaurer ${name}`,
          onclick: async () => {
            if (await confirmDialog({ title: `Restaurer la sauvegarde ${name}`, danger: true, confirmLabel: 'Restaurer',
              message: 'La configuration actuelle sera remplacée ; les caméras concernées redémarrent.' }) === null) return;
            try { await post(`/config/backups/${encodeURIComponent(name)}/restore`); notify('Configuration restaurée.', 'succes'); load(); } catch (e) { notify(e.message, 'erreur'); }
          } }, 'Restaurer')));
    });
    clear(box).append(rows.length ? table(['Sauvegarde', 'Note', 'Date', 'Version', 'Taille', 'Actions'], rows)
      : h('p', { class: 'muted' }, 'Aucune sauvegarde.'),
    newBackup());
  }
  function newBackup() {
    const note = h('input', { name: 'note', maxlength: 200 });
    const f = h('form', { class: 'inline', 'aria-label': 'Nouvelle sauvegarde' }, field('Note', note).wrap,
      h('button', { type: 'submit', class: 'primary' }, 'Sauvegarder maintenant'));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      try { await post('/config/backups', { note: note.value.trim() }); notify('Sauvegarde créée.', 'succes'); load(); } catch (ex) { notify(ex.message, 'erreur'); }
    });
    return f;
  }
  await load();
}

// --- licences, versions, metrics -------------------------------------------------------------
async function system(panel) {
  const [health, lic] = await Promise.allSettled([get('/health'), get('/licences')]);
  const facts = h('dl', { class: 'facts', id: 'versions' });
  if (health.status === 'fulfilled') {
    const hl = health.value;
    facts.append(h('dt', {}, 'Version du moteur'), h('dd', {}, hl.engine_version),
      h('dt', {}, 'Empreinte du modèle (SHA-256)'), h('dd', { class: 'mono' }, hl.model_sha256 || '—'),
      h('dt', {}, 'Version de configuration'), h('dd', {}, hl.config_version || '—'),
      h('dt', {}, 'Analyse en cours'), h('dd', {}, yesNo(hl.analysis_running)));
  }
  if (lic.status === 'fulfilled') {
    facts.append(h('dt', {}, 'Licences'), h('dd', {}, `${lic.value.active_streams} flux actifs sur ${lic.value.max_streams} autorisés`));
  } else {
    facts.append(h('dt', {}, 'Licences'), h('dd', { class: 'muted' }, 'information indisponible'));
  }
  panel.append(section('Licences et versions', facts));
  const mbox = h('div');
  panel.append(section('Métriques de supervision', mbox));
  try {
    const r = await get('/metrics');
    const text = typeof r === 'string' ? r : (r instanceof Response ? await r.text() : JSON.stringify(r, null, 1));
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    mbox.append(h('pre', { class: 'logs mono', translate: 'no' }, lines.slice(0, 200).join('\n')));
  } catch (e) {
    mbox.append(h('p', { class: 'muted' }, `Métriques indisponibles : ${e.message}`));
  }
}
