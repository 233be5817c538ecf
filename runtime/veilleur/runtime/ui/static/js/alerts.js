// Alertes: the queue to review (EX-039), filters, live refresh, exports.
import { apiFetch, download, errorText, get, post, qs } from './api.js';
import {
  CLASS_LABEL, EVENTS, EVENT_LABEL, QUALIFICATION_LABEL, SEVERITY_LABEL, clear, every, field,
  fmtDate, fmtNumber, h, notify, select, table, yesNo,
} from './util.js';

const POLL_MS = 2000;

// Dates are typed the French way (jj/mm/aaaa hh:mm), whatever the browser's own language.
const DATE_RE = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2})[:h](\d{2}))?\s*$/;

function isoOrEmpty(text) {
  const m = DATE_RE.exec(text || '');
  if (!m) return '';
  const [, dd, mm, yyyy, hh = '0', mi = '0'] = m;
  const d = new Date(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh), Number(mi));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function reviewSummary(r) {
  if (!r) return 'à traiter';
  const parts = [];
  parts.push(r.acknowledged ? 'acquittée' : 'à traiter');
  if (r.qualification) parts.push(QUALIFICATION_LABEL[r.qualification].toLowerCase());
  if (r.comments && r.comments.length) parts.push(`${r.comments.length} commentaire(s)`);
  return parts.join(', ');
}

export async function renderAlerts(main, ctx) {
  main.append(h('h1', {}, 'Alertes'));
  const seen = new Set();
  let first = true;
  let selected = null;

  // --- filters -----------------------------------------------------------------------------
  let cams = [];
  try {
    cams = Object.keys((await get('/control/state')).cameras);
  } catch (e) { cams = ctx.me.cameras || []; }
  const fCam = select([['', 'Toutes'], ...cams.map((c) => [c, c])], '', { name: 'camera' });
  const fEvent = select([['', 'Tous'], ...EVENTS], '', { name: 'evenement' });
  const fQual = select([['', 'Toutes'], ['non_qualifiee', 'Non qualifiée'],
    ['vrai_positif', 'Vrai positif'], ['faux_positif', 'Faux positif']], '', { name: 'qualification' });
  const fAck = select([['false', 'À traiter (non acquittées)'], ['true', 'Acquittées'], ['', 'Toutes']],
    'false', { name: 'acquittement' });
  const fSince = h('input', { name: 'depuis', placeholder: 'jj/mm/aaaa hh:mm', size: 16, inputmode: 'numeric' });
  const fUntil = h('input', { name: 'jusqua', placeholder: 'jj/mm/aaaa hh:mm', size: 16, inputmode: 'numeric' });
  const filters = h('form', { class: 'filters card', 'aria-label': 'Filtres des alertes' },
    field('Caméra', fCam).wrap, field('Événement', fEvent).wrap,
    field('Qualification', fQual).wrap, field('État', fAck).wrap,
    field('Du', fSince).wrap, field('Au', fUntil).wrap);
  const exportBox = h('div', { class: 'exports' });
  if (ctx.can('journal:export')) filters.append(exportBox);

  const counter = h('p', { id: 'compteur', role: 'status', 'aria-live': 'polite' });
  const listBox = h('div', { id: 'file-alertes', class: 'queue' });
  const detail = h('section', { id: 'detail-alerte', class: 'card detail', 'aria-label': 'Détail de l’alerte' },
    h('p', { class: 'muted' }, 'Sélectionnez une alerte dans la file pour la traiter.'));
  main.append(filters, h('div', { class: 'split' }, h('div', {}, counter, listBox), detail));

  function params() {
    return {
      camera_id: fCam.value, event: fEvent.value, qualification: fQual.value,
      acknowledged: fAck.value, since: isoOrEmpty(fSince.value), until: isoOrEmpty(fUntil.value),
    };
  }

  function drawExports() {
    clear(exportBox);
    const p = params();
    const qmap = { vrai_positif: 'true_positive', faux_positif: 'false_positive',
      non_qualifiee: 'unreviewed' };
    for (const [fmt, label] of [['csv', 'Exporter en CSV'], ['xlsx', 'Exporter en XLSX']]) {
      const href = `/api/v1/journal/export${qs({ format: fmt, kind: ['alert', 'review'],
        camera_id: p.camera_id, event: p.event, since: p.since, until: p.until,
        qualification: qmap[p.qualification] })}`;
      exportBox.append(h('button', { type: 'button', id: `export-${fmt}`, onclick: async (e) => {
        const btn = e.currentTarget;
        btn.disabled = true;
        try {
          const rows = await download(href, `journal-veilleur.${fmt}`);
          notify(`Export ${fmt.toUpperCase()} prêt${rows ? ` : ${rows} ligne(s)` : ''}.`, 'succes');
        } catch (err) {
          notify(`Export impossible : ${err.message}`, 'erreur');
        } finally {
          btn.disabled = false;
        }
      } }, label));
    }
  }

  // --- the queue ---------------------------------------------------------------------------
  async function refresh() {
    let page;
    try {
      page = await get(`/alerts${qs({ ...params(), limit: 200 })}`);
    } catch (e) {
      counter.textContent = `File indisponible : ${e.message}`;
      return;
    }
    const count = `${page.total} alerte(s)${page.total > page.items.length
      ? ` (les ${page.items.length} plus récentes affichées)` : ''}`;
    if (counter.textContent !== count) counter.textContent = count; // announced on change only
    const hadFocusId = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.alertId : null;
    const rows = page.items.map((a) => {
      const isNew = !first && !seen.has(a.id);
      seen.add(a.id);
      const open = h('button', { type: 'button', class: 'link', dataset: { alertId: a.id },
        'aria-label': `Ouvrir l’alerte ${EVENT_LABEL[a.event] || a.label_fr} sur ${a.camera_id} du ${fmtDate(a.utc)}`,
        onclick: () => openAlert(a.id) }, fmtDate(a.utc));
      const tr = h('tr', { class: [isNew ? 'nouvelle' : '', a.id === selected ? 'selected' : '',
        `sev-${a.severity}`].join(' '), dataset: { alertId: a.id } },
      h('td', {}, open), h('td', {}, a.camera_id), h('td', {}, EVENT_LABEL[a.event] || a.label_fr),
      h('td', {}, SEVERITY_LABEL[a.severity] || a.severity),
      h('td', { class: 'etat' }, reviewSummary(a.review)));
      return tr;
    });
    first = false;
    clear(listBox).append(rows.length
      ? table(['Date et heure', 'Caméra', 'Événement', 'Priorité', 'Traitement'], rows,
        { class: 'alerts' })
      : h('p', { class: 'muted', id: 'file-vide' }, 'Aucune alerte pour ces filtres.'));
    if (hadFocusId) {
      const b = listBox.querySelector(`button[data-alert-id="${CSS.escape(hadFocusId)}"]`);
      if (b) b.focus();
    }
    if (selected && !page.items.some((a) => a.id === selected)) return;
    if (selected) await refreshReview();
  }

  // --- one alert ---------------------------------------------------------------------------
  let reviewBox = null;
  let actionButtons = {};

  function drawBoxes(canvas, alert) {
    const g = canvas.getContext('2d');
    g.fillStyle = '#2b2d42';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = '#ffb703';
    g.lineWidth = 3;
    g.font = '16px sans-serif';
    g.fillStyle = '#ffb703';
    (alert.boxes || []).forEach((b, i) => {
      let [x1, y1, x2, y2] = b;
      if (Math.max(x1, y1, x2, y2) <= 1.0) {
        x1 *= canvas.width; x2 *= canvas.width; y1 *= canvas.height; y2 *= canvas.height;
      }
      g.strokeRect(x1, y1, x2 - x1, y2 - y1);
      const tid = (alert.track_ids || [])[i];
      if (tid !== undefined) g.fillText(`piste ${tid}`, x1 + 4, Math.max(16, y1 - 4));
    });
  }

  // --- evidence (EX-104): the snapshot drawn by the service, or why there is none --------
  let evidenceUrl = null;
  function dropEvidence() {
    if (evidenceUrl) URL.revokeObjectURL(evidenceUrl);
    evidenceUrl = null;
  }

  function sketch(a) {
    const canvas = h('canvas', { width: 480, height: 270, class: 'evidence',
      'aria-label': 'Position des détections dans l’image' });
    drawBoxes(canvas, a);
    return h('figure', { id: 'croquis-alerte' }, canvas, h('figcaption', { class: 'muted' },
      'Cadres des détections ayant déclenché l’alerte (position dans l’image, sans la vidéo).'));
  }

  function evidence(a) {
    const box = h('div', { id: 'preuve', 'aria-busy': 'true' },
      h('p', { class: 'muted' }, 'Chargement du cliché…'));
    const id = a.id;
    (async () => {
      let r;
      try {
        r = await apiFetch(`/api/v1/alerts/${encodeURIComponent(id)}/snapshot.jpg`);
      } catch (e) {
        r = null;
      }
      if (selected !== id) return; // another alert was opened meanwhile
      dropEvidence();
      clear(box);
      box.setAttribute('aria-busy', 'false');
      if (r && r.ok) {
        evidenceUrl = URL.createObjectURL(await r.blob());
        box.dataset.etat = 'cliche';
        box.append(h('figure', {}, h('img', { src: evidenceUrl, class: 'evidence', id: 'cliche-alerte',
          alt: `Cliché de l’alerte : image du signalement sur ${a.camera_id}, avec les cadres des détections et la zone ${a.zone || ''}` }),
        h('figcaption', { class: 'muted' },
          'Cliché enregistré au moment de l’alerte, cadres et zone dessinés par le service ; '
          + 'son empreinte est vérifiée à chaque affichage.')));
        return;
      }
      const why = r ? await errorText(r) : 'service injoignable';
      if (r && r.status === 409) {
        box.dataset.etat = 'altere';
        box.append(h('p', { class: 'notice warning-box', role: 'alert', id: 'cliche-avertissement' },
          h('strong', {}, 'Attention : cliché refusé par le service. '), `Motif : ${why}.`));
      } else {
        box.dataset.etat = 'absent';
        box.append(h('p', { class: 'muted', id: 'cliche-absent' }, `Aucun cliché : ${why}.`));
      }
      box.append(sketch(a));
    })();
    return box;
  }

  async function openAlert(id) {
    selected = id;
    listBox.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
    const row = listBox.querySelector(`tr[data-alert-id="${CSS.escape(id)}"]`);
    if (row) row.classList.add('selected');
    let a;
    try {
      a = await get(`/alerts/${encodeURIComponent(id)}`);
    } catch (e) {
      clear(detail).append(h('p', { class: 'error' }, e.message));
      return;
    }
    reviewBox = h('div', { id: 'etat-traitement' });
    const heading = h('h2', { tabindex: '-1' }, `${EVENT_LABEL[a.event] || a.label_fr} — ${a.camera_id}`);
    clear(detail).append(heading,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Date et heure'), h('dd', {}, fmtDate(a.utc)),
        h('dt', {}, 'Règle'), h('dd', {}, a.rule_id),
        h('dt', {}, 'Zone'), h('dd', {}, a.zone || '—'),
        h('dt', {}, 'Priorité'), h('dd', {}, SEVERITY_LABEL[a.severity] || a.severity),
        h('dt', {}, 'Confiance'), h('dd', {}, `${fmtNumber(a.confidence * 100, 0)} %`),
        h('dt', {}, 'Pistes'), h('dd', {}, (a.track_ids || []).join(', ') || '—'),
        h('dt', {}, 'Instant dans le flux'), h('dd', {}, `${fmtNumber(a.alert_s, 1)} s (image ${a.frame_index})`),
        a.classes ? [h('dt', {}, 'Classes'), h('dd', {}, a.classes.map((c) => CLASS_LABEL[c] || c).join(', '))] : null,
        h('dt', {}, 'Version de configuration'), h('dd', { class: 'mono' }, a.config_version)),
      evidence(a),
      reviewBox);
    if (ctx.can('alerts:review')) detail.append(actions());
    drawReview(a.review);
    heading.focus();
  }

  async function review(body, okText) {
    try {
      const out = await post(`/alerts/${encodeURIComponent(selected)}/reviews`, body);
      drawReview(out.state);
      notify(okText, 'succes');
      await refresh();
    } catch (e) {
      notify(`Action refusée : ${e.message}`, 'erreur');
    }
  }

  function actions() {
    const comment = h('textarea', { rows: 3, maxlength: 2000, name: 'commentaire' });
    actionButtons = {
      ack: h('button', { type: 'button', id: 'acquitter', class: 'primary',
        onclick: () => review({ acknowledge: true }, 'Alerte acquittée.') }, 'Acquitter'),
      vrai: h('button', { type: 'button', id: 'vrai-positif',
        onclick: () => review({ qualification: 'vrai_positif' }, 'Qualifiée vrai positif.') },
      'Vrai positif'),
      faux: h('button', { type: 'button', id: 'faux-positif',
        onclick: () => review({ qualification: 'faux_positif' }, 'Qualifiée faux positif.') },
      'Faux positif'),
    };
    const form = h('form', { class: 'comment' },
      field('Commentaire', comment).wrap,
      h('button', { type: 'submit', id: 'commenter' }, 'Commenter'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!comment.value.trim()) { comment.focus(); return; }
      await review({ comment: comment.value.trim() }, 'Commentaire ajouté.');
      comment.value = '';
    });
    return h('div', { class: 'review-actions' },
      h('div', { class: 'actions' }, actionButtons.ack, actionButtons.vrai, actionButtons.faux), form);
  }

  function drawReview(r) {
    if (!reviewBox) return;
    r = r || { acknowledged: false, comments: [] };
    clear(reviewBox).append(h('h3', {}, 'Traitement'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Acquittée'), h('dd', { id: 'acquittee' }, r.acknowledged
          ? `oui, par ${r.acknowledged_by} le ${fmtDate(r.acknowledged_at)}` : yesNo(false)),
        h('dt', {}, 'Qualification'), h('dd', { id: 'qualification' }, r.qualification
          ? `${QUALIFICATION_LABEL[r.qualification]} (${r.qualified_by}, ${fmtDate(r.qualified_at)})`
          : 'non qualifiée')),
      (r.comments || []).length
        ? h('ul', { class: 'comments' }, r.comments.map((c) => h('li', {},
          h('strong', {}, `${c.by || c.actor || ''} `), h('span', { class: 'muted' }, `${fmtDate(c.at || c.utc)} : `),
          c.text || c.comment || '')))
        : '');
    if (actionButtons.ack) actionButtons.ack.disabled = !!r.acknowledged;
  }

  async function refreshReview() {
    try {
      const a = await get(`/alerts/${encodeURIComponent(selected)}`);
      drawReview(a.review);
    } catch (e) { /* keep the last state */ }
  }

  const periodOk = (el) => {
    const bad = el.value.trim() !== '' && !isoOrEmpty(el.value);
    el.setAttribute('aria-invalid', String(bad));
    if (bad) notify('Date non reconnue : écrivez jj/mm/aaaa, éventuellement suivie de hh:mm.', 'erreur');
    return !bad;
  };
  for (const el of [fCam, fEvent, fQual, fAck, fSince, fUntil]) {
    el.addEventListener('change', () => {
      if (!periodOk(fSince) || !periodOk(fUntil)) return;
      drawExports(); first = true; seen.clear(); refresh();
    });
  }
  filters.addEventListener('submit', (e) => e.preventDefault());
  drawExports();
  const stop = every(POLL_MS, refresh);
  return () => { stop(); dropEvidence(); };
}
