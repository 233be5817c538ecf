// The shell: session check, menu by permission, hash routing between screens.
import { ApiError, get, post, setUnauthorizedHandler } from './api.js';
import { clear, h, notify } from './util.js';
import { renderLogin } from './login.js';
import { renderDashboard } from './dashboard.js';
import { renderAlerts } from './alerts.js';
import { renderRules } from './rules.js';
import { renderLive } from './live.js';
import { renderCameras } from './cameras.js';
import { renderAdmin, adminVisible } from './admin.js';

const can = (me, perm) => !!me && me.permissions.includes(perm);

export const SCREENS = [
  { id: 'tableau-de-bord', title: 'Tableau de bord', show: (me) => can(me, 'system:read'),
    render: renderDashboard },
  { id: 'alertes', title: 'Alertes', show: (me) => can(me, 'alerts:read'), render: renderAlerts },
  { id: 'direct', title: 'Direct', show: (me) => can(me, 'streams:view'), render: renderLive },
  { id: 'zones-et-regles', title: 'Zones et règles',
    show: (me) => can(me, 'config:read') || can(me, 'rules:write'), render: renderRules },
  { id: 'cameras', title: 'Caméras',
    show: (me) => can(me, 'cameras:manage') || can(me, 'config:read'), render: renderCameras },
  { id: 'administration', title: 'Administration', show: adminVisible, render: renderAdmin },
];

const state = { me: null, cleanup: null };

function menu() {
  const ul = clear(document.getElementById('menu'));
  const current = currentId();
  for (const s of SCREENS.filter((x) => x.show(state.me))) {
    const a = h('a', { href: `#/${s.id}`, id: `menu-${s.id}` }, s.title);
    if (s.id === current) a.setAttribute('aria-current', 'page');
    ul.append(h('li', {}, a));
  }
}

function currentId() {
  return (location.hash || '').replace(/^#\/?/, '').split('?')[0] || 'tableau-de-bord';
}

function stopScreen() {
  if (state.cleanup) {
    try { state.cleanup(); } catch (e) { /* ignore */ }
  }
  state.cleanup = null;
}

async function route() {
  stopScreen();
  const main = clear(document.getElementById('contenu'));
  if (!state.me) {
    document.getElementById('entete').hidden = true;
    document.title = 'Connexion — Veilleur';
    renderLogin(main, async (user) => {
      state.me = user;
      await showShell();
    });
    return;
  }
  menu();
  const id = currentId();
  const screen = SCREENS.find((s) => s.id === id);
  if (!screen) {
    main.append(h('h1', {}, 'Page introuvable'),
      h('p', {}, h('a', { href: '#/tableau-de-bord' }, 'Retour au tableau de bord')));
    return;
  }
  if (!screen.show(state.me)) {
    main.append(h('h1', {}, 'Accès refusé'),
      h('p', {}, 'Votre rôle ne donne pas accès à cet écran.'));
    return;
  }
  document.title = `${screen.title} — Veilleur`;
  const ctx = { me: state.me, can: (p) => can(state.me, p) };
  try {
    state.cleanup = (await screen.render(main, ctx)) || null;
  } catch (e) {
    main.append(h('p', { class: 'error', role: 'alert' },
      `Impossible d’afficher cet écran : ${e instanceof ApiError ? e.message : 'erreur inattendue'}`));
  }
}

async function showShell() {
  document.getElementById('entete').hidden = false;
  document.getElementById('utilisateur').textContent =
    `${state.me.login} — ${state.me.role_label}`;
  if (!location.hash) location.hash = '#/tableau-de-bord';
  await route();
  document.getElementById('contenu').focus();
}

async function logout() {
  stopScreen();
  try { await post('/auth/logout'); } catch (e) { /* the session may already be gone */ }
  state.me = null;
  notify('Vous êtes déconnecté.');
  await route();
}

async function start() {
  setUnauthorizedHandler(() => {
    if (state.me) {
      state.me = null;
      notify('Session expirée : reconnectez-vous.', 'erreur');
      route();
    }
  });
  document.getElementById('deconnexion').addEventListener('click', logout);
  window.addEventListener('hashchange', () => { if (state.me) route(); });
  try {
    state.me = await get('/auth/me');
  } catch (e) {
    state.me = null;
  }
  if (state.me) await showShell();
  else await route();
}

start();
