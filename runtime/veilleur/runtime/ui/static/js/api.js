// The API client: same-origin fetch with the session cookie; French error messages.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

const STATUS_FR = {
  400: 'requête refusée',
  401: 'session expirée : reconnectez-vous',
  403: 'droit insuffisant',
  404: 'fonction ou élément indisponible sur ce service',
  409: 'conflit avec l’état actuel',
  413: 'envoi trop volumineux',
  422: 'saisie refusée',
  423: 'compte verrouillé',
  429: 'trop de requêtes',
  500: 'erreur interne du service',
  503: 'service indisponible',
};

// The service words configuration refusals in French with the fields' paths
// (``cameras.0.calibration.image_points : 4 élément(s) au moins``); the operator reads the
// fields by name: « caméra n° 1, calibration, points dans l'image ».
const FIELD_FR = {
  cameras: 'caméra', zones: 'zone', rules: 'règle', calibration: 'calibration',
  image_points: 'points dans l’image', ground_points_m: 'points au sol (m)', points: 'points',
  schedule: 'plage horaire', source: 'source', site: 'site', when: 'condition', body: 'saisie',
};

function frenchField(loc) {
  const parts = loc.split('.');
  const out = [];
  for (let i = 0; i < parts.length; i += 1) {
    const p = parts[i];
    const next = parts[i + 1];
    const name = FIELD_FR[p] || p.replace(/_/g, ' ');
    if (next !== undefined && /^\d+$/.test(next)) {
      out.push(`${name} n° ${Number(next) + 1}`);
      i += 1;
    } else {
      out.push(name);
    }
  }
  return out.join(', ');
}

/** The service's refusal with its field paths named in words; other texts unchanged. */
export function frenchDetail(text) {
  const m = /^(configuration refusée \(\d+ erreur\(s\)\)|requête invalide) : (.*)$/s.exec(
    String(text));
  if (!m) return String(text);
  const items = m[2].split(' ; ').map((part) => {
    const f = /^([\w.]+) : (.*)$/s.exec(part);
    return f ? `${frenchField(f[1])} : ${f[2]}` : part;
  });
  return `${m[1]} : ${items.join(' ; ')}`;
}

/** The French reason of a failed response (the API's ``detail`` when it gives one). */
export async function errorText(r) {
  let detail = null;
  try {
    const body = await r.json();
    detail = body && body.detail;
  } catch (e) {
    detail = null;
  }
  if (typeof detail === 'string' && detail) return frenchDetail(detail);
  if (Array.isArray(detail)) {
    const where = detail.map((d) => (d.loc || []).filter((x) => x !== 'body').join('.'))
      .filter(Boolean);
    return `saisie refusée${where.length ? ` (champ : ${where.join(', ')})` : ''}`;
  }
  return STATUS_FR[r.status] || `erreur ${r.status}`;
}

// At most a few requests at once (as a browser does per host anyway): nine live tiles and the
// alert queue share them fairly. The account store takes its write lock up front, so
// concurrent requests of one session are safe.
const MAX_IN_FLIGHT = 6;
let inFlight = 0;
const waiting = [];

async function slot(fn) {
  if (inFlight >= MAX_IN_FLIGHT) await new Promise((resolve) => waiting.push(resolve));
  else inFlight += 1;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next(); // the slot passes on as it is
    else inFlight -= 1;
  }
}

/** fetch through the request slot; a GET answered 500 is tried again twice. */
export async function apiFetch(url, opts = {}) {
  const method = (opts.method || 'GET').toUpperCase();
  for (let attempt = 0; ; attempt += 1) {
    const r = await slot(() => fetch(url, { credentials: 'same-origin', ...opts }));
    if (r.status !== 500 || method !== 'GET' || attempt >= 2) return r;
    await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
  }
}

/** Download a file from the API (export) and hand it to the browser under its own name. */
export async function download(url, fallbackName) {
  const r = await apiFetch(url);
  if (!r.ok) throw new ApiError(r.status, await errorText(r));
  const cd = r.headers.get('content-disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const href = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
  return r.headers.get('x-veilleur-rows');
}

export async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await apiFetch(`/api/v1${path}`, opts);
  } catch (e) {
    throw new ApiError(0, 'service injoignable');
  }
  if (r.status === 401 && !path.startsWith('/auth/login')) onUnauthorized();
  if (!r.ok) throw new ApiError(r.status, await errorText(r));
  if (r.status === 204) return null;
  const ct = r.headers.get('content-type') || '';
  return ct.includes('json') ? r.json() : r;
}

export const get = (p) => api('GET', p);
export const post = (p, b = {}) => api('POST', p, b);
export const put = (p, b) => api('PUT', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
    else u.append(k, v);
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
