// Caméras: list with stream state, enable / disable (EX-035), add / remove (EX-033).
import { del, get, post, put } from './api.js';
import {
  clear, confirmDialog, every, field, h, levelBadge, notify, section, select, table,
} from './util.js';

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
  return every(4000, refresh);
}
