// The DriftGuard dashboard: one page with hash routes (#/, #/drifts, #/resource/<id>,
// #/resolved) over the JSON API, kept current by the API's event stream.
//
// Plain ES module: no dependency, no build step. Every piece of data reaches the page
// through textContent or attribute setters, never as HTML. The token is asked for once
// (on the first 401), kept in sessionStorage and sent in the Authorization header only.
// Secret values never reach the page: the API gives fingerprints, shown as they are.

const TOKEN_KEY = 'driftguard.token';
const PAGE_SIZE = 50;
const POLL_MS = 10_000;
const LIVE_DEBOUNCE_MS = 300;
const SEARCH_DEBOUNCE_MS = 300;
const RETRY_MAX_MS = 60_000;
const EVENT_PAGES = 5;
const EVENT_PAGE_SIZE = 200;
const SVG_NS = 'http://www.w3.org/2000/svg';
const SEVERITIES = ['High', 'Medium', 'Low'];
const STATUSES = ['active', 'resolved', 'none'];
const DRIFT_TYPES = [
  'Scaling', 'VersionChange', 'ResourceChange', 'ConfigurationChange', 'LabelChange',
  'AnnotationChange', 'PortChange', 'VolumeChange', 'SecretChange', 'ConfigMapChange',
  'Missing', 'Orphaned', 'Other',
];
// The drifts page's URL parameters, in the order they are written.
const DRIFT_PARAMS = ['status', 'severity', 'type', 'namespace', 'application', 'cluster', 'q', 'sort', 'offset'];
const SORTABLE = ['resource_id', 'severity', 'first_detected', 'last_detected', 'detection_count'];
const EVENT_LABELS = {
  drift_detected: 'Drift detected',
  drift_changed: 'Drift changed',
  drift_resolved: 'Drift resolved',
};

// ---------------------------------------------------------------------------------------
// DOM helpers: elements from properties and children; text is always text.

function setProps(node, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

function addChildren(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  addChildren(node, children);
  return node;
}

function svg(tag, props, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setProps(node, props);
  addChildren(node, children);
  return node;
}

function dash(what = 'not set') {
  return el('span', { class: 'unset', title: what, text: '—' });
}

function visuallyHidden(text) {
  return el('span', { class: 'visually-hidden', text });
}

// ---------------------------------------------------------------------------------------
// Formatting.

const pad = (n) => String(n).padStart(2, '0');

/** `2025-01-31 12:00:05 UTC`, or the text as given when it is no time. */
export function formatTime(value) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return String(value ?? '');
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}

function timeEl(value, what) {
  if (!value) return dash(what);
  return el('time', { datetime: value, title: value, text: formatTime(value) });
}

/** Human text for a duration in seconds: `45 s`, `4 min`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 1) return 'under 1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** A commit id shortened to 7 characters; any other revision text as it is. */
export function shortRevision(revision) {
  const text = String(revision ?? '');
  return /^[0-9a-f]{12,}$/i.test(text) ? text.slice(0, 7) : text;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function severityEl(severity) {
  if (!severity) return dash('no drift');
  const known = SEVERITIES.includes(severity);
  return el('span', { class: known ? `sev sev-${severity.toLowerCase()}` : 'sev', text: severity });
}

/** A drift's value as text: JSON for objects and lists; `null` is an absent field. */
function valueEl(value) {
  if (value === null || value === undefined) return el('span', { class: 'absent', text: '(absent)' });
  if (typeof value === 'object') return el('pre', { class: 'value' }, el('code', { text: JSON.stringify(value, null, 2) }));
  return el('code', { class: 'value', text: String(value) });
}

/**
 * The web page of a commit, for an application source that is an http(s) repository URL
 * (`<scheme>host/org/repo.git (branch main, path …)` → `<scheme>host/org/repo/commit/<rev>`,
 * as GitHub, GitLab and Gitea lay them out); null otherwise.
 */
export function commitUrl(source, revision) {
  if (!source || !revision || !/^[0-9a-f]{7,64}$/i.test(revision)) return null;
  const first = String(source).trim().split(/\s+/)[0];
  let url;
  try {
    url = new URL(first);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (!path || path === '/') return null;
  url.pathname = `${path}/commit/${revision}`;
  return url.href;
}

// ---------------------------------------------------------------------------------------
// Routes: `#/`, `#/drifts?…`, `#/resource/<id>?cluster=…`, `#/resolved`.

export function parseRoute(hash) {
  let text = String(hash || '').replace(/^#/, '');
  if (!text.startsWith('/')) text = '/';
  const mark = text.indexOf('?');
  const path = mark < 0 ? text : text.slice(0, mark);
  const params = new URLSearchParams(mark < 0 ? '' : text.slice(mark + 1));
  if (path === '/drifts') return { page: 'drifts', params };
  if (path === '/resolved') return { page: 'resolved', params };
  if (path.startsWith('/resource/')) {
    const raw = path.slice('/resource/'.length);
    if (!raw) return { page: 'overview', params };
    let id;
    try {
      id = decodeURIComponent(raw);
    } catch {
      id = raw;
    }
    return { page: 'resource', id, cluster: params.get('cluster') || '', params };
  }
  return { page: 'overview', params };
}

export function resourceHash(resourceId, cluster) {
  const query = cluster ? `?${new URLSearchParams({ cluster })}` : '';
  return `#/resource/${encodeURIComponent(resourceId)}${query}`;
}

/** `#/drifts` with these filters, empty ones left out, in a fixed order. */
export function driftsHash(filters) {
  const params = new URLSearchParams();
  for (const name of DRIFT_PARAMS) {
    const value = filters[name];
    if (value !== undefined && value !== null && value !== '' && !(name === 'offset' && Number(value) === 0)) {
      params.set(name, String(value));
    }
  }
  const query = params.toString();
  return query ? `#/drifts?${query}` : '#/drifts';
}

function resourceLink(resourceId, cluster) {
  return el('a', { href: resourceHash(resourceId, cluster), text: resourceId });
}

// ---------------------------------------------------------------------------------------
// The API: JSON with the token; a 401 asks for a token and tries again.

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const connection = { reachable: true, streaming: false };

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

function headers(accept) {
  const result = { Accept: accept };
  const current = token();
  if (current) result.Authorization = `Bearer ${current}`;
  return result;
}

function apiUrl(path, params = {}) {
  const url = new URL(`../api/v1/${path}`, document.baseURI);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  return url;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

async function api(path, params) {
  for (;;) {
    const sent = token();
    let response;
    try {
      response = await fetch(apiUrl(path, params), {
        headers: headers('application/json'),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      setReachable(false);
      throw new ApiError(0, `DriftGuard cannot be reached (${error.message})`, null);
    }
    setReachable(true);
    const body = await readJson(response);
    if (response.status === 401) {
      // A token entered meanwhile is tried at once; otherwise ask (once for all callers).
      if (token() === sent) await needToken(Boolean(sent), body && body.error);
      continue;
    }
    if (!response.ok) {
      throw new ApiError(response.status, (body && body.error) || `HTTP ${response.status}`, body);
    }
    return body;
  }
}

// ---------------------------------------------------------------------------------------
// The token dialog.

let tokenRequest = null;

function needToken(rejected, message) {
  const fresh = !tokenRequest;
  if (fresh) {
    let resolve;
    const promise = new Promise((done) => {
      resolve = done;
    });
    tokenRequest = { promise, resolve };
  }
  if (rejected) {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage refused: the token was never kept either.
    }
  }
  const error = document.getElementById('token-error');
  if (rejected) {
    error.textContent = `That token was not accepted${message ? `: ${message}` : '.'}`;
    error.hidden = false;
  } else if (fresh) {
    error.hidden = true;
  }
  openTokenDialog();
  return tokenRequest.promise;
}

function openTokenDialog() {
  const dialog = document.getElementById('token-dialog');
  hideNotice();
  if (!dialog.open) dialog.showModal();
  document.getElementById('token-input').focus();
}

function setUpTokenDialog() {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      showNotice('This browser does not let the page keep the token (session storage is off).');
      return;
    }
    input.value = '';
    const request = tokenRequest;
    tokenRequest = null;
    dialog.close('token');
    if (request) request.resolve();
    live.restart();
  });
  dialog.addEventListener('close', () => {
    input.value = '';
    if (tokenRequest) {
      showNotice('DriftGuard needs an access token to show its data.', 'Enter a token', openTokenDialog);
    }
  });
}

function showNotice(message, action, onAction) {
  const notice = document.getElementById('notice');
  notice.replaceChildren(el('span', { text: message }));
  if (action) notice.append(' ', el('button', { type: 'button', onclick: onAction, text: action }));
  notice.hidden = false;
}

function hideNotice() {
  const notice = document.getElementById('notice');
  notice.hidden = true;
  notice.replaceChildren();
}

// ---------------------------------------------------------------------------------------
// Live updates: the event stream read with fetch (so the token travels in a header),
// polling while it is down, and the status shown in [data-live-status].

function showLiveStatus() {
  const status = connection.streaming ? 'live' : connection.reachable ? 'polling' : 'offline';
  const node = document.querySelector('[data-live-status]');
  if (node && node.textContent !== status) {
    node.textContent = status;
    node.setAttribute('data-live-status', status);
  }
}

function setReachable(reachable) {
  if (connection.reachable !== reachable) {
    connection.reachable = reachable;
    showLiveStatus();
  }
}

/** A Server-Sent Events parser: feed it text, it calls `onEvent(type, data)`. */
export function eventParser(onEvent) {
  let buffer = '';
  let type = '';
  let data = [];
  const line = (text) => {
    if (text === '') {
      if (type || data.length) onEvent(type || 'message', data.join('\n'));
      type = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return; // a comment: `: keep-alive`
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  };
  return (chunk) => {
    buffer += chunk;
    let start = 0;
    for (let i = 0; i < buffer.length; i += 1) {
      const c = buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === buffer.length) break; // maybe the first half of \r\n
      line(buffer.slice(start, i));
      if (c === '\r' && buffer[i + 1] === '\n') i += 1;
      start = i + 1;
    }
    buffer = buffer.slice(start);
  };
}

const live = {
  controller: null,
  attempt: 0,
  connectedBefore: false,
  retryTimer: 0,
  pollTimer: 0,
  refreshTimer: 0,

  start() {
    this.startPolling();
    this.connect();
  },

  restart() {
    this.attempt = 0;
    this.connect();
  },

  connect() {
    clearTimeout(this.retryTimer);
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.run(controller).catch(() => this.down(controller));
  },

  async run(controller) {
    const sent = token();
    let response;
    try {
      response = await fetch(apiUrl('stream'), {
        headers: headers('text/event-stream'),
        cache: 'no-store',
        credentials: 'omit',
        signal: controller.signal,
      });
    } catch {
      if (!controller.signal.aborted) {
        setReachable(false);
        this.down(controller);
      }
      return;
    }
    setReachable(true);
    if (response.status === 401) {
      await response.body?.cancel().catch(() => {});
      // Wait for a token (the page's own requests ask for it), then connect again.
      if (token() === sent) await needToken(Boolean(sent), null);
      if (this.controller === controller) this.connect();
      return;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => {});
      this.down(controller);
      return;
    }
    connection.streaming = true;
    showLiveStatus();
    this.stopPolling();
    this.attempt = 0;
    // Events may have been missed while disconnected: catch up.
    if (this.connectedBefore) this.schedule();
    this.connectedBefore = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const feed = eventParser((type) => {
      if (type === 'analysis' || type === 'drift' || type === 'lagged') this.schedule();
    });
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // The connection broke; reconnect below.
    }
    if (!controller.signal.aborted) this.down(controller);
  },

  /** The stream is down: poll meanwhile and reconnect with backoff. */
  down(controller) {
    if (this.controller !== controller) return;
    connection.streaming = false;
    showLiveStatus();
    this.startPolling();
    const delay = Math.min(RETRY_MAX_MS, 1000 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  },

  startPolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      if (!tokenRequest) refresh('live');
    }, POLL_MS);
  },

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = 0;
  },

  /** Re-fetches the current page soon; a burst of events makes one refresh. */
  schedule() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      if (!tokenRequest) refresh('live');
    }, LIVE_DEBOUNCE_MS);
  },
};

// ---------------------------------------------------------------------------------------
// Shared page pieces.

function heading(text) {
  return el('h1', { tabindex: '-1', text });
}

function errorBox() {
  return el('div', { class: 'error', role: 'alert', 'data-error': '', hidden: true });
}

function showError(box, error) {
  box.replaceChildren(el('p', { text: errorText(error) }));
  box.hidden = false;
}

function errorText(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error && error.message}`;
  if (error.status === 0) return `${error.message}. The page tries again every ${POLL_MS / 1000} s.`;
  if (error.status === 403) return `${error.message}. Ask for a token with the read scope.`;
  if (error.status === 503) return `${error.message}. DriftGuard's store is not answering; the page tries again.`;
  return error.message;
}

function clearError(box) {
  box.hidden = true;
  box.replaceChildren();
}

/** A table in a container that scrolls sideways on narrow screens. */
function scrollingTable(table, label) {
  return el('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-label': label }, table);
}

function headerRow(columns) {
  return el('tr', {}, columns.map(([key, label]) => el('th', { scope: 'col', 'data-col': key, text: label })));
}

function caption(text) {
  return el('caption', { text });
}

/**
 * The sentence of the empty state when nothing drifts: which revision the clusters match,
 * from the applications (or the records) of `cluster` when given.
 */
function noDriftMessage(applications, records, cluster) {
  const revisions = new Map();
  const add = (revision, name) => {
    if (!revision) return;
    const names = revisions.get(revision) || new Set();
    if (name) names.add(name);
    revisions.set(revision, names);
  };
  for (const app of applications || []) {
    if (!cluster || app.cluster === cluster) add(app.revision, app.name);
  }
  if (!revisions.size) for (const record of records || []) add(record.git_revision, record.application);
  const clusters = new Set((applications || []).map((a) => a.cluster));
  const where = cluster ? `cluster ${cluster}` : clusters.size > 1 ? 'every cluster' : 'the cluster';
  const parts = [];
  if (revisions.size === 1) {
    const [revision] = revisions.keys();
    parts.push(`No drift: ${where} matches Git at revision `, el('code', { title: revision, text: shortRevision(revision) }), '.');
  } else if (revisions.size > 1) {
    parts.push(`No drift: ${where} matches Git (`);
    let first = true;
    for (const [revision, names] of revisions) {
      if (!first) parts.push('; ');
      first = false;
      parts.push(`${[...names].join(', ') || 'an application'} at `, el('code', { title: revision, text: shortRevision(revision) }));
    }
    parts.push(').');
  } else {
    parts.push(`No drift: ${where} matches its desired state.`);
  }
  parts.push(' Nothing to do; this page updates by itself when drift appears.');
  return parts;
}

const NO_RECORDS_MESSAGE = 'No records yet: DriftGuard has not finished an analysis, or the desired state '
  + 'declares no resource. Check /ready for failing sources; records appear here after the next analysis.';

// ---------------------------------------------------------------------------------------
// Overview.

class OverviewPage {
  constructor(route) {
    this.route = route;
    this.title = 'Overview';
  }

  mount() {
    this.error = errorBox();
    this.empty = el('p', { class: 'empty', 'data-empty': '', hidden: true });
    const card = (key, label, href) => el('li', { class: `card card-${key}` },
      el('a', { href }, el('span', { class: 'card-value', 'data-count': key, text: '…' }), el('span', { class: 'card-label', text: label })));
    this.mttr = el('span', { 'data-stat': 'mttr', text: '…' });
    this.events = el('span', { 'data-stat': 'events', text: '…' });
    this.breakdowns = {};
    const breakdown = (key, label) => {
      const body = el('tbody');
      const section = el('section', { class: 'breakdown', 'data-breakdown': key, 'aria-labelledby': `breakdown-${key}` },
        el('h2', { id: `breakdown-${key}`, text: label }),
        el('table', {}, el('caption', { class: 'visually-hidden', text: `Drifting records ${label.toLowerCase()}` }), body),
        el('p', { class: 'muted', hidden: true, text: 'No drifting record.' }));
      this.breakdowns[key] = { section, body };
      return section;
    };
    this.charts = {
      day: new TimelineChart('timeline-24h', 'Last 24 hours', 'per hour'),
      week: new TimelineChart('timeline-7d', 'Last 7 days', 'per 6 hours'),
    };
    this.mostDrifted = el('ol', { 'data-list': 'most-drifted' });
    this.mostDriftedEmpty = el('p', { class: 'muted', hidden: true, text: 'No drift has been detected yet.' });
    this.appsBody = el('tbody');
    this.appsSection = el('section', { class: 'panel', hidden: true, 'aria-labelledby': 'apps-title' },
      el('h2', { id: 'apps-title', text: 'Applications' }),
      scrollingTable(el('table', { class: 'apps' }, caption('Where the desired state comes from'),
        el('thead', {}, headerRow([['name', 'Application'], ['cluster', 'Cluster'], ['source', 'Source'], ['revision', 'Revision'], ['render', 'Last read']])),
        this.appsBody), 'Applications'));
    return [
      heading('Overview'),
      this.error,
      this.empty,
      el('ul', { class: 'cards', 'aria-label': 'Records by status' },
        card('drifted', 'drifting', driftsHash({ status: 'active' })),
        card('in_sync', 'in sync', driftsHash({ status: 'none' })),
        card('resolved', 'resolved', '#/resolved'),
        card('total', 'records', '#/drifts')),
      el('dl', { class: 'stats' },
        el('div', {}, el('dt', { text: 'Mean time to resolve' }), el('dd', {}, this.mttr)),
        el('div', {}, el('dt', { text: 'Lifecycle events' }), el('dd', {}, this.events))),
      el('div', { class: 'charts' }, this.charts.day.section, this.charts.week.section),
      el('div', { class: 'breakdowns' },
        breakdown('severity', 'By severity'),
        breakdown('type', 'By drift type'),
        breakdown('namespace', 'By namespace'),
        breakdown('application', 'By application'),
        breakdown('cluster', 'By cluster')),
      el('section', { class: 'panel', 'aria-labelledby': 'most-drifted-title' },
        el('h2', { id: 'most-drifted-title', text: 'Most drifted resources' }),
        this.mostDrifted, this.mostDriftedEmpty),
      this.appsSection,
    ];
  }

  async load() {
    const [statistics, applications, day, week] = await Promise.allSettled([
      api('statistics'),
      api('applications'),
      api('statistics/timeline', { window: '24h', step: '1h' }),
      api('statistics/timeline', { window: '7d', step: '6h' }),
    ]);
    if (statistics.status === 'rejected') throw statistics.reason;
    return {
      stats: statistics.value.statistics || {},
      applications: applications.status === 'fulfilled' ? applications.value.applications || [] : [],
      day,
      week,
    };
  }

  render({ stats, applications, day, week }) {
    const byStatus = stats.by_status || {};
    const counts = {
      drifted: byStatus.active ?? 0,
      in_sync: byStatus.none ?? 0,
      resolved: byStatus.resolved ?? 0,
      total: stats.total_resources ?? 0,
    };
    for (const [key, value] of Object.entries(counts)) {
      document.querySelector(`[data-count="${key}"]`).textContent = String(value);
    }
    this.mttr.textContent = stats.mean_time_to_resolve_seconds === null || stats.mean_time_to_resolve_seconds === undefined
      ? 'no drift resolved yet'
      : formatDuration(stats.mean_time_to_resolve_seconds);
    this.events.textContent = String(stats.total_events ?? 0);

    if (counts.total === 0) {
      this.empty.replaceChildren(NO_RECORDS_MESSAGE);
      this.empty.hidden = false;
    } else if (counts.drifted === 0) {
      this.empty.replaceChildren(...noDriftMessage(applications, [], ''));
      this.empty.hidden = false;
    } else {
      this.empty.hidden = true;
    }

    const active = driftsHash({ status: 'active' });
    this.fillBreakdown('severity', stats.by_severity, SEVERITIES, (key) => driftsHash({ status: 'active', severity: key }));
    this.fillBreakdown('type', stats.by_type, null, (key) => driftsHash({ status: 'active', type: key }));
    this.fillBreakdown('namespace', stats.by_namespace, null, (key) => (key ? driftsHash({ status: 'active', namespace: key }) : active), (key) => key || '(cluster-scoped)');
    this.fillBreakdown('application', stats.by_application, null, (key) => driftsHash({ status: 'active', application: key }));
    this.fillBreakdown('cluster', stats.by_cluster, null, (key) => driftsHash({ status: 'active', cluster: key }));

    this.charts.day.render(day);
    this.charts.week.render(week);

    const clusters = new Set((stats.most_drifted || []).map((m) => m.cluster));
    this.mostDrifted.replaceChildren(...(stats.most_drifted || []).map((item) => el('li', {},
      resourceLink(item.resource_id, item.cluster),
      clusters.size > 1 ? el('span', { class: 'muted', text: ` in ${item.cluster}` }) : null,
      el('span', { class: 'muted', text: ` — ${plural(item.drift_events, 'drift episode', 'drift episodes')}` }))));
    this.mostDriftedEmpty.hidden = (stats.most_drifted || []).length > 0;

    this.appsSection.hidden = applications.length === 0;
    this.appsBody.replaceChildren(...applications.map((app) => {
      const render = app.render || {};
      return el('tr', { 'data-application': app.name, 'data-cluster': app.cluster },
        el('th', { scope: 'row', text: app.name }),
        el('td', { text: app.cluster }),
        el('td', { class: 'wrap', text: app.source }),
        el('td', {}, app.revision ? el('code', { title: app.revision, text: shortRevision(app.revision) }) : dash('a folder has no revision')),
        el('td', {}, el('span', { class: `render render-${render.status}`, text: render.status || '' }),
          render.error ? el('span', { class: 'wrap muted', text: ` ${render.error}` }) : null));
    }));
  }

  fillBreakdown(key, counts, fixedKeys, href, label = (k) => k) {
    const { section, body } = this.breakdowns[key];
    const values = { ...(counts || {}) };
    const keys = fixedKeys
      ? [...fixedKeys, ...Object.keys(values).filter((k) => !fixedKeys.includes(k))]
      : Object.keys(values).sort((a, b) => (values[b] - values[a]) || a.localeCompare(b));
    const max = Math.max(1, ...keys.map((k) => values[k] || 0));
    body.replaceChildren(...keys.map((k) => {
      const value = values[k] || 0;
      const bar = el('span', { class: `bar${key === 'severity' ? ` bar-${k.toLowerCase()}` : ''}` });
      bar.style.width = `${(100 * value) / max}%`;
      const name = key === 'severity' ? severityEl(k) : el('span', { text: label(k) });
      return el('tr', { 'data-key': k },
        el('th', { scope: 'row' }, el('a', { href: href(k) }, name)),
        el('td', { 'data-value': String(value), class: 'num', text: String(value) }),
        el('td', { class: 'share', 'aria-hidden': 'true' }, bar));
    }));
    section.querySelector('p.muted').hidden = keys.length > 0;
  }
}

/** A bar chart of drift (up, by severity) and resolutions (down) per time bucket. */
class TimelineChart {
  constructor(name, label, step) {
    this.name = name;
    this.label = label;
    this.step = step;
    this.titleId = `${name}-title`;
    this.svg = svg('svg', { 'data-chart': name, class: 'chart', viewBox: '0 0 720 200', role: 'img', 'aria-labelledby': this.titleId });
    this.fallback = el('div', { class: 'visually-hidden' });
    this.section = el('section', { class: 'panel chart-panel', 'aria-labelledby': `${name}-heading` },
      el('h2', { id: `${name}-heading`, text: label }),
      this.svg,
      el('ul', { class: 'legend', 'aria-hidden': 'true' },
        SEVERITIES.map((s) => el('li', {}, el('span', { class: `swatch swatch-${s.toLowerCase()}` }), `${s} drift`)),
        el('li', {}, el('span', { class: 'swatch swatch-resolved' }), 'resolved')),
      this.fallback);
  }

  render(result) {
    const title = `Drift detected and resolved ${this.step}, ${this.label.toLowerCase()}`;
    const buckets = result && result.status === 'fulfilled' && Array.isArray(result.value.buckets) ? result.value.buckets : null;
    if (!buckets || buckets.length === 0) {
      this.svg.replaceChildren(
        svg('title', { id: this.titleId, text: `${title}: no data` }),
        svg('text', { x: 360, y: 100, 'text-anchor': 'middle', class: 'chart-empty', text: 'no data' }));
      const why = result && result.status === 'rejected' && result.reason.status !== 404 ? ` (${result.reason.message})` : '';
      this.fallback.replaceChildren(el('p', { text: `${title}: no data${why}.` }));
      return;
    }
    const sum = (counts) => Object.values(counts || {}).reduce((n, v) => n + (Number(v) || 0), 0);
    const up = Math.max(0, ...buckets.map((b) => sum(b.drift)));
    const down = Math.max(0, ...buckets.map((b) => sum(b.resolved)));
    const [left, right, top, bottom] = [40, 8, 12, 30];
    const width = 720 - left - right;
    const height = 200 - top - bottom;
    const range = up + down || 1;
    const zero = top + (down || up ? (height * up) / range : height / 2);
    const scale = height / range;
    const slot = width / buckets.length;
    const bar = Math.max(1, slot * 0.72);
    const nodes = [svg('title', { id: this.titleId, text: title })];
    nodes.push(svg('line', { x1: left, x2: left + width, y1: zero, y2: zero, class: 'axis' }));
    nodes.push(svg('text', { x: left - 6, y: zero + 4, 'text-anchor': 'end', class: 'tick', text: '0' }));
    if (up) nodes.push(svg('text', { x: left - 6, y: top + 8, 'text-anchor': 'end', class: 'tick', text: String(up) }));
    if (down) nodes.push(svg('text', { x: left - 6, y: top + height, 'text-anchor': 'end', class: 'tick', text: String(down) }));
    const every = Math.max(1, Math.ceil(buckets.length / 6));
    buckets.forEach((bucket, index) => {
      const x = left + index * slot + (slot - bar) / 2;
      let y = zero;
      const group = svg('g', { class: 'bucket' });
      const parts = [];
      for (const severity of SEVERITIES) {
        const n = (bucket.drift && bucket.drift[severity]) || 0;
        if (!n) continue;
        y -= n * scale;
        group.append(svg('rect', { x, y, width: bar, height: n * scale, class: `bar-${severity.toLowerCase()}` }));
        parts.push(`${n} ${severity}`);
      }
      const resolved = sum(bucket.resolved);
      if (resolved) group.append(svg('rect', { x, y: zero, width: bar, height: resolved * scale, class: 'bar-resolved' }));
      const when = formatTime(bucket.start);
      group.prepend(svg('title', { text: `${when}: ${parts.length ? `${parts.join(', ')} drift` : 'no drift'}; ${resolved} resolved` }));
      // An invisible full-height target so that narrow buckets still show their tooltip.
      group.prepend(svg('rect', { x: left + index * slot, y: top, width: slot, height, class: 'hit' }));
      nodes.push(group);
      if (index % every === 0) {
        const date = new Date(bucket.start);
        const text = Number.isNaN(date.getTime()) ? ''
          : this.name === 'timeline-24h' ? `${pad(date.getUTCHours())}:00`
            : `${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}h`;
        nodes.push(svg('text', { x: left + index * slot + slot / 2, y: 200 - 10, 'text-anchor': 'middle', class: 'tick', text }));
      }
    });
    this.svg.replaceChildren(...nodes);

    const rows = buckets.map((bucket) => el('tr', {},
      el('th', { scope: 'row', text: formatTime(bucket.start) }),
      SEVERITIES.map((s) => el('td', { text: String((bucket.drift && bucket.drift[s]) || 0) })),
      el('td', { text: String(sum(bucket.resolved)) })));
    this.fallback.replaceChildren(el('table', {}, caption(`${title} (times in UTC)`),
      el('thead', {}, headerRow([['start', 'From'], ['High', 'High'], ['Medium', 'Medium'], ['Low', 'Low'], ['resolved', 'Resolved']])),
      el('tbody', {}, rows)));
  }
}

// ---------------------------------------------------------------------------------------
// Drifts: the filtered, sorted, paged table of records.

class DriftsPage {
  constructor(route) {
    this.route = route;
    this.title = 'Drifts';
    this.searchTimer = 0;
  }

  sameView() {
    return true;
  }

  filters() {
    const params = this.route.params;
    const result = {};
    for (const name of DRIFT_PARAMS) result[name] = params.get(name) || '';
    const offset = Number.parseInt(result.offset, 10);
    result.offset = Number.isFinite(offset) && offset > 0 ? offset : 0;
    return result;
  }

  go(changes) {
    const next = { ...this.filters(), offset: 0, ...changes };
    const hash = driftsHash(next);
    if (hash === location.hash) return;
    // Not loaded from now on (hashchange comes later): no one reads the old rows as new.
    main().setAttribute('data-loaded', 'false');
    location.hash = hash;
  }

  mount() {
    this.error = errorBox();
    const select = (name, label, values) => {
      const node = el('select', { id: `filter-${name}`, name },
        el('option', { value: '', text: 'all' }), values.map((v) => el('option', { value: v, text: v })));
      node.addEventListener('change', () => this.go({ [name]: node.value }));
      return el('div', { class: 'field' }, el('label', { for: `filter-${name}`, text: label }), node);
    };
    this.search = el('input', { id: 'filter-q', type: 'search', name: 'q', placeholder: 'resource id or field path…', autocomplete: 'off', spellcheck: 'false' });
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => {
        this.searchTimer = 0;
        this.go({ q: this.search.value.trim() });
      }, SEARCH_DEBOUNCE_MS);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        clearTimeout(this.searchTimer);
        this.searchTimer = 0;
        this.go({ q: this.search.value.trim() });
      }
    });
    const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter drift records' },
      select('status', 'Status', STATUSES),
      select('severity', 'Severity', SEVERITIES),
      select('type', 'Drift type', DRIFT_TYPES),
      select('namespace', 'Namespace', []),
      select('application', 'Application', []),
      select('cluster', 'Cluster', []),
      el('div', { class: 'field field-q' }, el('label', { for: 'filter-q', text: 'Search' }), this.search),
      el('div', { class: 'field field-clear' }, el('a', { href: '#/drifts', class: 'clear', text: 'Clear filters' })));
    form.addEventListener('submit', (event) => event.preventDefault());
    this.selects = Object.fromEntries(['status', 'severity', 'type', 'namespace', 'application', 'cluster']
      .map((name) => [name, form.querySelector(`#filter-${name}`)]));

    this.total = el('span', { 'data-total': '', text: '…' });
    this.totalLabel = el('span', { text: 'records' });
    this.range = el('span', { class: 'muted' });
    this.empty = el('div', { class: 'empty', 'data-empty': '', hidden: true });
    this.caption = caption('Drift records');
    this.head = el('tr');
    this.body = el('tbody');
    this.table = el('table', { id: 'drift-table' }, this.caption, el('thead', {}, this.head), this.body);
    this.prev = el('button', { id: 'page-prev', type: 'button', text: '← Previous' });
    this.next = el('button', { id: 'page-next', type: 'button', text: 'Next →' });
    this.prev.addEventListener('click', () => this.go({ ...this.filters(), offset: Math.max(0, this.filters().offset - PAGE_SIZE) }));
    this.next.addEventListener('click', () => this.go({ ...this.filters(), offset: this.filters().offset + PAGE_SIZE }));
    this.pageLabel = el('span', { class: 'page-label', 'aria-live': 'polite' });
    this.buildHead();
    this.showFilters();
    return [
      heading('Drifts'),
      form,
      this.error,
      el('p', { class: 'summary' }, this.total, ' ', this.totalLabel, ' ', this.range),
      this.empty,
      scrollingTable(this.table, 'Drift records'),
      el('nav', { class: 'pager', 'aria-label': 'Pages of records' }, this.prev, this.pageLabel, this.next),
    ];
  }

  routeChanged(route) {
    this.route = route;
    this.showFilters();
  }

  /** Puts the URL's filters into the controls (the search box only when not being typed in). */
  showFilters() {
    const filters = this.filters();
    for (const [name, node] of Object.entries(this.selects)) {
      ensureOption(node, filters[name]);
      node.value = filters[name];
    }
    // Not while a search typed is waiting for its debounce: it would undo the typing.
    if (!this.searchTimer) this.search.value = filters.q;
    this.buildHead();
  }

  buildHead() {
    const focused = document.activeElement && this.head.contains(document.activeElement)
      ? document.activeElement.getAttribute('data-sort') : null;
    const { sort } = this.filters();
    const descending = sort.startsWith('-');
    const key = sort.replace(/^-/, '') || 'resource_id';
    const columns = [
      ['resource_id', 'Resource'], ['cluster', 'Cluster'], ['application', 'Application'],
      ['status', 'Status'], ['severity', 'Severity'], ['types', 'Drift types'],
      ['first_detected', 'First detected'], ['last_detected', 'Last detected'],
      ['detection_count', 'Detections'],
    ];
    this.head.replaceChildren(...columns.map(([name, label]) => {
      const th = el('th', { scope: 'col', 'data-col': name });
      if (!SORTABLE.includes(name)) {
        th.textContent = label;
        return th;
      }
      const current = name === key;
      if (current) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      const nextSort = current && !descending ? `-${name}` : name;
      const button = el('button', { type: 'button', class: 'sort', 'data-sort': name },
        label, el('span', { class: 'sort-mark', 'aria-hidden': 'true', text: current ? (descending ? ' ▼' : ' ▲') : ' ↕' }));
      button.addEventListener('click', () => this.go({ sort: nextSort === 'resource_id' ? '' : nextSort }));
      th.append(button);
      return th;
    }));
    if (focused) {
      const again = [...this.head.querySelectorAll('button[data-sort]')].find((b) => b.getAttribute('data-sort') === focused);
      if (again) again.focus();
    }
    const order = key === 'resource_id' && !sort ? 'by resource' : `by ${key.replace(/_/g, ' ')}, ${descending ? 'descending' : 'ascending'}`;
    this.caption.textContent = `Drift records, ${order}`;
  }

  async load() {
    const f = this.filters();
    const [list, statistics, applications, clusters] = await Promise.allSettled([
      api('drift-records', {
        drift_status: f.status,
        severity: f.severity,
        type: f.type,
        namespace: f.namespace,
        application: f.application,
        cluster: f.cluster,
        q: f.q,
        sort: f.sort,
        limit: PAGE_SIZE,
        offset: f.offset,
      }),
      api('statistics'),
      api('applications'),
      api('clusters'),
    ]);
    if (list.status === 'rejected') throw list.reason;
    const value = (result, key) => (result.status === 'fulfilled' ? result.value[key] : null);
    return {
      list: list.value,
      stats: value(statistics, 'statistics') || {},
      applications: value(applications, 'applications') || [],
      clusters: value(clusters, 'clusters') || [],
    };
  }

  render({ list, stats, applications, clusters }) {
    const f = this.filters();
    const namespaces = new Set(Object.keys(stats.by_namespace || {}).filter(Boolean));
    for (const app of applications) if (app.namespace) namespaces.add(app.namespace);
    fillOptions(this.selects.namespace, namespaces, f.namespace);
    fillOptions(this.selects.application, new Set([...Object.keys(stats.by_application || {}), ...applications.map((a) => a.name)]), f.application);
    fillOptions(this.selects.cluster, new Set([...Object.keys(stats.by_cluster || {}), ...clusters.map((c) => c.name)]), f.cluster);

    const records = list.drift_records || [];
    const count = records.length;
    const known = typeof list.total === 'number';
    const total = known ? list.total : f.offset + count;
    this.total.textContent = known ? String(total) : `${total}${count === PAGE_SIZE ? '+' : ''}`;
    this.totalLabel.textContent = total === 1 ? 'record' : 'records';
    this.range.textContent = count ? `(showing ${f.offset + 1}–${f.offset + count})` : '';
    this.prev.disabled = f.offset === 0;
    this.next.disabled = known ? f.offset + count >= total : count < PAGE_SIZE;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    this.pageLabel.textContent = `Page ${Math.floor(f.offset / PAGE_SIZE) + 1} of ${known ? pages : '?'}`;

    this.body.replaceChildren(...records.map((record) => el('tr', { 'data-resource-id': record.resource_id, 'data-cluster': record.cluster },
      el('td', { 'data-col': 'resource_id' }, resourceLink(record.resource_id, record.cluster)),
      el('td', { 'data-col': 'cluster', text: record.cluster }),
      el('td', { 'data-col': 'application', text: record.application }),
      el('td', { 'data-col': 'status' }, el('span', { class: `status status-${record.drift_status}`, text: record.drift_status })),
      el('td', { 'data-col': 'severity' }, severityEl(record.severity)),
      el('td', { 'data-col': 'types', text: (record.drift_types || []).join(', ') }),
      el('td', { 'data-col': 'first_detected' }, timeEl(record.first_detected, 'never drifted')),
      el('td', { 'data-col': 'last_detected' }, timeEl(record.last_detected, 'never drifted')),
      el('td', { 'data-col': 'detection_count', class: 'num', text: String(record.detection_count ?? 0) }))));

    if (count > 0 || f.offset > 0) {
      this.empty.hidden = count > 0;
      if (count === 0) this.empty.replaceChildren(el('p', {}, 'No record on this page. ', el('a', { href: driftsHash({ ...f, offset: 0 }), text: 'Go to the first page' }), '.'));
      return;
    }
    const filtered = ['severity', 'type', 'namespace', 'q'].some((name) => f[name]);
    if (!filtered && f.status === 'active') {
      this.empty.replaceChildren(el('p', {}, ...noDriftMessage(applications, [], f.cluster)),
        el('p', {}, el('a', { href: '#/resolved', text: 'See resolved drift' })));
    } else if (!filtered && !f.status && !f.application && !f.cluster) {
      this.empty.replaceChildren(el('p', { text: NO_RECORDS_MESSAGE }));
    } else {
      this.empty.replaceChildren(el('p', {}, 'No record matches these filters — ', el('a', { href: '#/drifts', text: 'clear them' }), '.'));
    }
    this.empty.hidden = false;
  }
}

function ensureOption(select, value) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(el('option', { value, text: value }));
}

/** Sets the options of a select to "all" and `values` (sorted), keeping `selected`. */
function fillOptions(select, values, selected) {
  const wanted = [...values].filter(Boolean).sort();
  if (selected && !wanted.includes(selected)) wanted.push(selected);
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') !== wanted.join('\n')) {
    select.replaceChildren(el('option', { value: '', text: 'all' }), ...wanted.map((v) => el('option', { value: v, text: v })));
  }
  select.value = selected || '';
}

// ---------------------------------------------------------------------------------------
// Resource: one record, its differing fields and its history.

class ResourcePage {
  constructor(route) {
    this.route = route;
    this.title = route.id;
  }

  sameView() {
    return false;
  }

  mount() {
    this.error = errorBox();
    this.fields = {};
    const field = (name, label) => {
      const dd = el('dd', { 'data-field': name, text: '…' });
      this.fields[name] = dd;
      return el('div', {}, el('dt', { text: label }), dd);
    };
    this.empty = el('p', { class: 'empty', 'data-empty': '', hidden: true });
    this.body = el('tbody');
    this.table = el('table', { id: 'field-table', hidden: true },
      caption('Fields whose live value differs from Git'),
      el('thead', {}, headerRow([['path', 'Field'], ['desired', 'In Git'], ['live', 'In the cluster'], ['type', 'Drift type'], ['severity', 'Severity'], ['manager', 'Changed by']])),
      this.body);
    this.timeline = el('ol', { id: 'event-timeline', class: 'timeline' });
    this.timelineNote = el('p', { class: 'muted', hidden: true });
    this.detail = el('div', { class: 'detail' },
      el('dl', { class: 'fields' },
        field('resource_id', 'Resource'),
        field('cluster', 'Cluster'),
        field('application', 'Application'),
        field('drift_status', 'Status'),
        field('severity', 'Severity'),
        field('first_detected', 'First detected'),
        field('last_detected', 'Last detected'),
        field('resolved_at', 'Resolved at'),
        field('resolution_message', 'Resolution'),
        field('detection_count', 'Detections'),
        field('git_revision', 'Git revision')),
      el('section', { class: 'panel', 'aria-labelledby': 'fields-title' },
        el('h2', { id: 'fields-title', text: 'Differences' }),
        this.empty,
        scrollingTable(this.table, 'Fields that differ')),
      el('section', { class: 'panel', 'aria-labelledby': 'history-title' },
        el('h2', { id: 'history-title', text: 'History' }),
        this.timeline, this.timelineNote));
    return [
      el('p', { class: 'back' }, el('a', { href: '#/drifts', text: '← All drift records' })),
      heading(this.route.id),
      this.error,
      this.detail,
    ];
  }

  async load() {
    const { id, cluster } = this.route;
    const path = `drift-records/${encodeURIComponent(id)}`;
    const [record, applications, early] = await Promise.allSettled([
      api(path, { cluster }),
      api('applications'),
      cluster ? loadEvents(path, cluster) : Promise.resolve(null),
    ]);
    if (record.status === 'rejected') throw record.reason;
    const events = cluster ? early : (await Promise.allSettled([loadEvents(path, record.value.cluster)]))[0];
    return {
      record: record.value,
      applications: applications.status === 'fulfilled' ? applications.value.applications || [] : [],
      events,
    };
  }

  showError(error) {
    this.detail.hidden = true;
    if (error instanceof ApiError && error.status === 409 && error.body && Array.isArray(error.body.clusters)) {
      this.error.replaceChildren(el('p', { text: `${this.route.id} has a record in several clusters. Choose one:` }),
        el('ul', {}, error.body.clusters.map((c) => el('li', {}, el('a', { href: resourceHash(this.route.id, c), text: c })))));
      this.error.hidden = false;
      return;
    }
    if (error instanceof ApiError && error.status === 404) {
      this.error.replaceChildren(el('p', {}, `${error.message}. The resource may not be declared in Git, or is in another cluster: `,
        el('a', { href: driftsHash({ q: this.route.id.split(':').pop() }), text: 'search the drift records' }), '.'));
      this.error.hidden = false;
      return;
    }
    showError(this.error, error);
  }

  render({ record, applications, events }) {
    this.detail.hidden = false;
    const set = (name, ...content) => this.fields[name].replaceChildren(...content);
    set('resource_id', record.resource_id);
    set('cluster', record.cluster);
    set('application', record.application);
    set('drift_status', el('span', { class: `status status-${record.drift_status}`, text: record.drift_status }));
    set('severity', severityEl(record.severity));
    set('first_detected', timeEl(record.first_detected, 'never drifted'));
    set('last_detected', timeEl(record.last_detected, 'never drifted'));
    set('resolved_at', timeEl(record.resolved_at, 'not resolved'));
    set('resolution_message', record.resolution_message ? record.resolution_message : dash('not resolved'));
    set('detection_count', String(record.detection_count ?? 0));
    const revision = record.git_revision;
    if (revision) {
      const app = applications.find((a) => a.name === record.application && a.cluster === record.cluster);
      const href = app ? commitUrl(app.source, revision) : null;
      set('git_revision', href
        ? el('a', { href, rel: 'noopener noreferrer', title: revision }, el('code', { text: shortRevision(revision) }))
        : el('code', { title: revision, text: shortRevision(revision) }));
    } else {
      set('git_revision', dash('no revision: the desired state is not read from Git'));
    }

    const drifts = record.drifts || [];
    this.body.replaceChildren(...drifts.map((drift) => el('tr', { 'data-path': drift.path ?? '' },
      el('td', { 'data-col': 'path' }, drift.path ? el('code', { text: drift.path }) : el('span', { class: 'muted', text: '(the whole resource)' })),
      el('td', { 'data-col': 'desired' }, valueEl(drift.desired)),
      el('td', { 'data-col': 'live' }, valueEl(drift.live)),
      el('td', { 'data-col': 'type', text: drift.drift_type }),
      el('td', { 'data-col': 'severity' }, severityEl(drift.severity)),
      el('td', { 'data-col': 'manager' }, managerText(drift)))));
    this.table.hidden = drifts.length === 0;
    if (drifts.length === 0) {
      const matches = revision
        ? ['In sync: every field matches Git at revision ', el('code', { title: revision, text: shortRevision(revision) })]
        : ['In sync: every field matches the desired state'];
      if (record.drift_status === 'resolved') {
        this.empty.replaceChildren(...matches, '. The drift was resolved ', timeEl(record.resolved_at),
          record.resolution_message ? ` (${record.resolution_message})` : '', '. Nothing to do.');
      } else {
        this.empty.replaceChildren(...matches, '. Nothing to do.');
      }
      this.empty.hidden = false;
    } else {
      this.empty.hidden = true;
    }

    if (events.status === 'rejected') {
      this.timeline.replaceChildren();
      this.timelineNote.textContent = `The history is not available: ${errorText(events.reason)}`;
      this.timelineNote.hidden = false;
      return;
    }
    const { list, more } = events.value;
    this.timeline.replaceChildren(...list.map((event) => el('li', { 'data-kind': event.kind, class: `event event-${event.kind}` },
      timeEl(event.at), ' ',
      el('strong', { text: EVENT_LABELS[event.kind] || event.kind }), ' ',
      event.severity ? severityEl(event.severity) : null, ' ',
      (event.drift_types || []).length ? el('span', { class: 'types', text: event.drift_types.join(', ') }) : null,
      event.message ? el('p', { class: 'message', text: event.message }) : null)));
    if (list.length === 0) {
      this.timelineNote.textContent = 'No lifecycle event: this resource has never drifted.';
    } else if (more) {
      this.timelineNote.textContent = `Only the first ${list.length} events are listed.`;
    }
    this.timelineNote.hidden = list.length > 0 && !more;
  }
}

function managerText(drift) {
  const parts = [];
  if (drift.manager) parts.push(el('code', { text: drift.manager }));
  else parts.push(dash('no manager recorded'));
  if (drift.hand_edit) parts.push(' ', el('span', { class: 'tag', text: 'hand edit' }));
  if (drift.unowned) parts.push(' ', el('span', { class: 'tag', text: 'no owner (webhook or policy)' }));
  return parts;
}

/** A resource's events, following `next` cursors for a few pages. */
async function loadEvents(path, cluster) {
  const list = [];
  let cursor = '';
  for (let page = 0; page < EVENT_PAGES; page += 1) {
    const body = await api(`${path}/events`, { cluster, limit: EVENT_PAGE_SIZE, cursor });
    list.push(...(body.events || []));
    cursor = body.next || '';
    if (!cursor) break;
  }
  return { list, more: Boolean(cursor) };
}

// ---------------------------------------------------------------------------------------
// Resolved: the latest resolutions.

class ResolvedPage {
  constructor(route) {
    this.route = route;
    this.title = 'Resolved';
  }

  sameView() {
    return true;
  }

  routeChanged(route) {
    this.route = route;
  }

  mount() {
    this.error = errorBox();
    this.empty = el('p', { class: 'empty', 'data-empty': '', hidden: true });
    this.body = el('tbody');
    this.note = el('p', { class: 'muted', hidden: true });
    this.table = el('table', { id: 'resolved-table' },
      caption('Recently resolved drift, most recent first'),
      el('thead', {}, headerRow([
        ['resource_id', 'Resource'], ['cluster', 'Cluster'], ['application', 'Application'],
        ['first_detected', 'Detected'], ['resolved_at', 'Resolved'], ['duration', 'Drifted for'],
        ['resolution_message', 'How'], ['detection_count', 'Detections'],
      ])),
      this.body);
    return [heading('Resolved'), this.error, this.empty, this.note, scrollingTable(this.table, 'Resolved drift')];
  }

  async load() {
    try {
      return { list: await api('drift-records/resolved', { sort: '-resolved_at', limit: PAGE_SIZE }), sorted: true };
    } catch (error) {
      // A DriftGuard without list sorting: the first records by id, sorted here.
      if (!(error instanceof ApiError) || error.status !== 400 || !/`sort`/.test(error.message)) throw error;
      return { list: await api('drift-records/resolved', { limit: 1000 }), sorted: false };
    }
  }

  render({ list, sorted }) {
    let records = list.drift_records || [];
    if (!sorted) {
      records = [...records].sort((a, b) => String(b.resolved_at).localeCompare(String(a.resolved_at))).slice(0, PAGE_SIZE);
    }
    this.body.replaceChildren(...records.map((record) => {
      const seconds = (Date.parse(record.resolved_at) - Date.parse(record.first_detected)) / 1000;
      return el('tr', { 'data-resource-id': record.resource_id, 'data-cluster': record.cluster },
        el('td', { 'data-col': 'resource_id' }, resourceLink(record.resource_id, record.cluster)),
        el('td', { 'data-col': 'cluster', text: record.cluster }),
        el('td', { 'data-col': 'application', text: record.application }),
        el('td', { 'data-col': 'first_detected' }, timeEl(record.first_detected)),
        el('td', { 'data-col': 'resolved_at' }, timeEl(record.resolved_at)),
        el('td', { 'data-col': 'duration', text: Number.isFinite(seconds) ? formatDuration(seconds) : '' }),
        el('td', { 'data-col': 'resolution_message', class: 'wrap', text: record.resolution_message || '' }),
        el('td', { 'data-col': 'detection_count', class: 'num', text: String(record.detection_count ?? 0) }));
    }));
    const total = typeof list.total === 'number' ? list.total : null;
    this.note.textContent = total !== null && total > records.length
      ? `The ${records.length} most recent of ${total} resolutions.` : '';
    this.note.hidden = !this.note.textContent;
    if (records.length === 0) {
      this.empty.textContent = 'No drift has been resolved yet. A drifting resource shows here once it matches Git '
        + 'again: revert the live change (or let your GitOps tool do it), or commit the change to Git.';
      this.empty.hidden = false;
    } else {
      this.empty.hidden = true;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The router: one view at a time in main#page.

const PAGES = { overview: OverviewPage, drifts: DriftsPage, resource: ResourcePage, resolved: ResolvedPage };

let view = null;
let renders = 0;
let generation = 0;
let routed = false;

function main() {
  return document.getElementById('page');
}

function route() {
  const next = parseRoute(location.hash);
  for (const link of document.querySelectorAll('nav a[data-nav]')) {
    if (link.getAttribute('data-nav') === next.page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const page = main();
  if (view && view.name === next.page && view.sameView()) {
    view.routeChanged(next);
    refresh('navigate');
    return;
  }
  view = new PAGES[next.page](next);
  view.name = next.page;
  if (!view.routeChanged) view.routeChanged = (r) => { view.route = r; };
  page.setAttribute('data-page', next.page);
  page.setAttribute('data-loaded', 'false');
  page.replaceChildren(...view.mount());
  document.title = `${view.title} · DriftGuard`;
  if (routed) page.querySelector('h1').focus();
  routed = true;
  refresh('navigate');
}

/** What has the keyboard focus in the page, to find it again after a re-render. */
function focusKey() {
  const active = document.activeElement;
  if (!active || active === document.body || !main().contains(active)) return null;
  if (active.id) return (node) => node.id === active.id;
  const href = active.getAttribute('href');
  if (href) return (node) => node.getAttribute('href') === href;
  return null;
}

function restoreFocus(key) {
  const active = document.activeElement;
  if (!key || (active && active !== document.body && main().contains(active))) return;
  const target = [...main().querySelectorAll('[id], a[href]')].find(key);
  if (target) target.focus({ preventScroll: true });
}

/** Loads the current view's data and renders it; `navigate` marks the page not loaded meanwhile. */
async function refresh(kind) {
  const current = view;
  if (!current) return;
  const mine = ++generation;
  const page = main();
  if (kind === 'navigate') page.setAttribute('data-loaded', 'false');
  let data;
  let failure = null;
  try {
    data = await current.load();
  } catch (error) {
    failure = error;
  }
  if (current !== view || mine !== generation) return;
  if (failure) {
    if (current.showError) current.showError(failure);
    else showError(current.error, failure);
  } else {
    clearError(current.error);
    // A live update must not throw the keyboard focus out of a table it re-renders.
    const focus = focusKey();
    try {
      current.render(data);
    } catch (error) {
      showError(current.error, error);
    }
    restoreFocus(focus);
  }
  page.setAttribute('data-loaded', 'true');
  renders += 1;
  page.setAttribute('data-render', String(renders));
}

function boot() {
  setUpTokenDialog();
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main().focus();
  });
  window.addEventListener('hashchange', () => {
    // Only `#/…` is a route; any other fragment leaves the page as it is.
    if (location.hash === '' || location.hash.startsWith('#/')) route();
  });
  window.addEventListener('online', () => live.restart());
  showLiveStatus();
  route();
  live.start();
}

if (typeof document !== 'undefined' && document.getElementById('page')) boot();
