// Tableau de bord: global state and components (EX-025), alerts to review, global stop (EX-046).
import { get, post } from './api.js';
import {
  clear, componentLabel, confirmDialog, every, fmtDate, fmtNumber, h, levelBadge, notify,
  section, table,
} from './util.js';

function duration(s) {
  const t = Math.floor(s || 0);
  const d = Math.floor(t / 86400);
  const hh = Math.floor((t % 86400) / 3600);
  const mm = Math.floor((t % 3600) / 60);
  return `${d ? `${d} j ` : ''}${hh} h ${String(mm).padStart(2, '0')} min`;
}

export async function renderDashboard(main, ctx) {
  main.append(h('h1', {}, 'Tableau de bord'));
  const globalBox = h('div', { id: 'etat-global', class: 'global' });
  const stopBox = h('div', { id: 'arret', class: 'stop-box' });
  const compBox = h('div', { id: 'composants' });
  const alertBox = h('div', { id: 'a-traiter' });
  const licBox = h('div', { id: 'licences' });
  main.append(h('div', { class: 'grid2' },
    section('État du système', globalBox, compBox),
    h('div', {},
      section('Analyse', stopBox),
      ctx.can('alerts:read') ? section('Alertes à traiter', alertBox) : null,
      section('Flux et licences', licBox))));

  let stopped = null;

  async function doStop() {
    const reason = await confirmDialog({
      title: 'Arrêt de l’analyse',
      message: 'Plus aucune image ne sera analysée, sur aucune caméra, jusqu’à la reprise. '
        + 'Les flux restent ouverts. Confirmez-vous l’arrêt ?',
      confirmLabel: 'Confirmer l’arrêt', danger: true, inputLabel: 'Motif de l’arrêt',
    });
    if (reason === null) return;
    try {
      await post('/control/stop', { reason: reason.trim() });
      notify('Analyse arrêtée.', 'succes');
    } catch (e) {
      notify(`Arrêt impossible : ${e.message}`, 'erreur');
    }
    await refresh();
  }

  async function doResume() {
    const ok = await confirmDialog({
      title: 'Reprise de l’analyse', message: 'Reprendre l’analyse sur toutes les caméras actives ?',
      confirmLabel: 'Reprendre l’analyse',
    });
    if (ok === null) return;
    try {
      await post('/control/resume');
      notify('Analyse reprise.', 'succes');
    } catch (e) {
      notify(`Reprise impossible : ${e.message}`, 'erreur');
    }
    await refresh();
  }

  function drawStop(control, error) {
    const newStopped = control ? control.analysis_stopped : null;
    if (newStopped === stopped && stopBox.childElementCount) return;
    stopped = newStopped;
    const hadFocus = stopBox.contains(document.activeElement);
    clear(stopBox);
    if (error) {
      stopBox.append(h('p', { class: 'error' }, `État indisponible : ${error}`));
      return;
    }
    stopBox.append(h('p', { id: 'etat-analyse', class: `analysis ${stopped ? 'stopped' : 'running'}` },
      stopped ? 'Analyse ARRÊTÉE (arrêt global)' : 'Analyse en cours'));
    if (ctx.can('analysis:control')) {
      const btn = stopped
        ? h('button', { type: 'button', id: 'reprendre', class: 'primary big', onclick: doResume },
          'Reprendre l’analyse')
        : h('button', { type: 'button', id: 'arreter', class: 'danger big', onclick: doStop },
          'Arrêt de l’analyse');
      stopBox.append(btn);
      if (hadFocus) btn.focus();
    } else {
      stopBox.append(h('p', { class: 'muted' },
        'L’arrêt global est réservé aux utilisateurs avancés et aux administrateurs.'));
    }
  }

  async function refresh() {
    const [health, control] = await Promise.allSettled([get('/health'), get('/control/state')]);
    clear(globalBox);
    clear(compBox);
    if (health.status === 'fulfilled') {
      const hl = health.value;
      globalBox.append(
        h('p', { class: 'global-line' }, 'État global : ', levelBadge(hl.status)),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Version du moteur'), h('dd', {}, hl.engine_version),
          h('dt', {}, 'Version de configuration'), h('dd', {}, hl.config_version || '—'),
          h('dt', {}, 'Empreinte du modèle (SHA-256)'),
          h('dd', { class: 'mono' }, hl.model_sha256 || '—'),
          h('dt', {}, 'Fonctionne depuis'), h('dd', {}, duration(hl.uptime_s))));
      compBox.append(table(['Composant', 'État', 'Motif'], hl.components.map((c) => h('tr', {},
        h('td', {}, componentLabel(c.name)), h('td', {}, levelBadge(c.level)),
        h('td', {}, c.reason))), { class: 'components' }));
    } else {
      globalBox.append(h('p', { class: 'error' }, `État indisponible : ${health.reason.message}`));
    }
    drawStop(control.status === 'fulfilled' ? control.value : null,
      control.status === 'rejected' ? control.reason.message : null);

    if (ctx.can('alerts:read')) {
      try {
        const page = await get('/alerts?acknowledged=false&limit=1');
        clear(alertBox).append(
          h('p', { class: 'big-number', id: 'nb-a-traiter' }, String(page.total)),
          h('p', {}, page.total === 1 ? 'alerte non acquittée' : 'alertes non acquittées'),
          h('a', { href: '#/alertes', class: 'button-link' }, 'Ouvrir la file des alertes'));
      } catch (e) {
        clear(alertBox).append(h('p', { class: 'error' }, e.message));
      }
    }
    clear(licBox);
    const cams = control.status === 'fulfilled' ? Object.entries(control.value.cameras) : [];
    const active = cams.filter(([, c]) => c.enabled).length;
    licBox.append(h('p', {}, `Caméras actives : ${active} sur ${cams.length}`));
    try {
      const lic = await get('/licences');
      licBox.append(h('p', { id: 'licences-utilisees' },
        `Licences : ${fmtNumber(lic.active_streams, 0)} flux utilisés sur ${fmtNumber(lic.max_streams, 0)}`));
    } catch (e) {
      licBox.append(h('p', { class: 'muted' }, 'Licences : information indisponible.'));
    }
    licBox.append(h('p', { class: 'muted' }, `Mis à jour le ${fmtDate(new Date().toISOString())}`));
  }

  return every(3000, refresh);
}
