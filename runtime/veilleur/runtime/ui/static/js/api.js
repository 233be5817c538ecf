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

// The site configuration's validation messages come in English from the service (its YAML
// schema); the operator reads them in French. Known phrasings are translated, field paths
// are named; anything else is shown as received.
const FIELD_FR = {
  cameras: 'caméra', zones: 'zone', rules: 'règle', calibration: 'calibration',
  image_points: 'points dans l’image', ground_points_m: 'points au sol (m)', points: 'points',
  schedule: 'plage horaire', source: 'source', site: 'site', when: 'condition',
};
const MESSAGES_FR = [
  [/^List should have at least (\d+) items? after validation, not (\d+)$/,
    (m) => `il faut au moins ${m[1]} éléments (et non ${m[2]})`],
  [/^List should have at most (\d+) items? after validation, not (\d+)$/,
    (m) => `il faut au plus ${m[1]} éléments (et non ${m[2]})`],
  [/^Input should be greater than or equal to (.+)$/, (m) => `la valeur doit être supérieure ou égale à ${m[1]}`],
  [/^Input should be less than or equal to (.+)$/, (m) => `la valeur doit être inférieure ou égale à ${m[1]}`],
  [/^Input should be greater than (.+)$/, (m) => `la valeur doit être supérieure à ${m[1]}`],
  [/^Input should be less than (.+)$/, (m) => `la valeur doit être inférieure à ${m[1]}`],
  [/^Input should be a valid number.*$/, () => 'la valeur doit être un nombre'],
  [/^Field required$/, () => 'champ obligatoire'],
  [/^unknown field.*$/, () => 'champ inconnu (retirez-le ou vérifiez son orthographe)'],
  [/^Value error, (.*)$/, (m) => frenchMessage(m[1])],
  [/^calibration has (\d+) image points but (\d+) ground points$/,
    (m) => `la calibration a ${m[1]} points dans l’image mais ${m[2]} points au sol`],
  [/^calibration needs at least 4 image points.*\(got (\d+) and (\d+)\)$/,
    (m) => `la calibration demande au moins 4 points dans l’image et autant au sol (reçus : ${m[1]} et ${m[2]})`],
  [/^calibration points are \(nearly\) collinear$/,
    () => 'les points de calibration sont (presque) alignés : choisissez des points qui forment un quadrilatère'],
  [/^calibration points give no valid homography$/,
    () => 'ces points de calibration ne donnent pas de transformation valable'],
];

function frenchMessage(msg) {
  for (const [re, fr] of MESSAGES_FR) {
    const m = re.exec(msg.trim());
    if (m) return fr(m);
  }
  return msg;
}

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

/** The service's configuration messages in French (see above); other texts unchanged. */
export function frenchDetail(text) {
  const lines = String(text).split('\n');
  const head = /^(.*): invalid (site configuration|[\w ]+) \((\d+) error\(s\)\)$/.exec(lines[0]);
  if (!head) return lines.length === 1 ? frenchMessage(lines[0]) : text;
  const what = head[2] === 'site configuration' ? 'configuration du site' : head[2];
  const out = [`${head[1]} : ${what} invalide (${head[3]} erreur${Number(head[3]) > 1 ? 's' : ''})`];
  for (const line of lines.slice(1)) {
    const m = /^\s*-\s*([^:]+):\s*(.*)$/.exec(line);
    out.push(m ? `${frenchField(m[1])} : ${frenchMessage(m[2])}` : line.trim());
  }
  return out.join(' ; ');
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
