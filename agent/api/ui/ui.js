// troupe's UI: reads the local agent's API and draws the nodes (a map and a
// table), services with their instances and checks (and, for a service the
// proxy routes, its route: port, protocol, versions and their split), this
// node's supervised
// instances, one instance with its logs, the KV store as a tree and the
// event history. It refreshes when a blocking query on the catalog returns
// (the index moved, or the wait ran out), never in a tight loop; an open
// instance's logs are read from their cursor once a second. Reads only.
// A token typed by the user stays in this tab (sessionStorage) and goes in
// X-Troupe-Token: the logs need one under the default token policy.
'use strict';

window.uiErrors = [];
window.addEventListener('error', (e) => window.uiErrors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.uiErrors.push(String(e.reason)));

const WAIT = '30s';
const LOG_POLL_MS = 1000;
const LOG_LINES_MAX = 2000;
const TOKEN_KEY = 'troupe-token';
let index = 0;
let renders = 0;
let selfName = '';
let lastEvents = [];
let lastPs = [];
let psAt = 0; // when lastPs was read (ms, this browser's clock)
let memberNames = new Set();

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids.flat()) if (k != null) e.append(k instanceof Node ? k : String(k));
  return e;
}

function status(s) { return h('span', { class: 'st st-' + s }, s); }

function tags(t) {
  if (Array.isArray(t)) return t.map((x) => h('span', { class: 'tag' }, x));
  return Object.entries(t || {}).map(([k, v]) => h('span', { class: 'tag' }, v ? k + '=' + v : k));
}

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
}

class HttpError extends Error {
  constructor(path, code, msg) { super(path + ': HTTP ' + code + (msg ? ' (' + msg + ')' : '')); this.code = code; }
}

async function get(path) {
  const headers = {};
  if (token()) headers['X-Troupe-Token'] = token();
  const r = await fetch(path, { cache: 'no-store', headers });
  if (!r.ok) {
    let msg = '';
    try { msg = (await r.json()).error || ''; } catch (e) { /* not JSON */ }
    throw new HttpError(path, r.status, msg);
  }
  return { body: await r.json(), index: Number(r.headers.get('X-Troupe-Index')) || 0 };
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function instLink(service, n, text) {
  return h('a', { href: '#instance/' + encodeURIComponent(service) + '/' + n }, text);
}

// ---- nodes: the map and the table ----

function drawNodes(members, byNode, self) {
  const order = { alive: 0, suspect: 1, dead: 2, left: 3 };
  members.sort((a, b) => (order[a.status] - order[b.status]) || a.name.localeCompare(b.name));
  fill(document.querySelector('#nodes-t tbody'), members.map((m) => {
    const insts = byNode[m.name] || [];
    return h('tr', { 'data-node': m.name, 'data-status': m.status },
      h('th', { scope: 'row' }, m.name, m.name === self.name ? ' (this node)' : ''),
      h('td', {}, status(m.status)),
      h('td', {}, m.addr + ':' + m.port), h('td', {}, tags(m.tags)),
      h('td', {}, insts.length ? insts.map((i) => i.id).join(', ') : '—'));
  }));
  document.getElementById('map').replaceChildren(...members.map((m) => {
    const insts = byNode[m.name] || [];
    const label = m.name + ', ' + m.status + ', ' + insts.length + ' instances';
    return h('li', { class: 'box st-' + m.status, 'data-node': m.name, 'data-status': m.status,
      'aria-label': label },
    h('b', {}, m.name), ' ', status(m.status),
    h('span', { class: 'addr' }, m.addr + ':' + m.port,
      m.name === self.name ? ' · this node · awareness ' + self.awareness : ''),
    insts.length ? h('ul', { 'aria-label': 'instances on ' + m.name }, insts.map((i) =>
      h('li', {}, h('a', { class: 'chip st-' + i.status, href: '#svc-' + i.service,
        title: i.id + ': ' + i.status, 'data-instance': i.id, 'data-health': i.status },
      i.service)))) : h('span', { class: 'mute' }, 'no instances'));
  }));
}

// ---- services ----

// A route of the proxy (docs/proxy.md) over a service's instances: its port
// and protocol, then every version (of the split or of an instance) with
// its instances, how many pass, and its weight; then the header matches.
function drawRoute(r, insts) {
  const split = r.split || {};
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  const versions = new Map(Object.keys(split).map((v) => [v, { n: 0, passing: 0 }]));
  for (const i of insts) {
    const v = i.service.version || '';
    if (!versions.has(v)) versions.set(v, { n: 0, passing: 0 });
    versions.get(v).n++;
    if (i.status === 'passing') versions.get(v).passing++;
  }
  const weight = (v) => {
    if (!total) return 'any (no split)';
    if (!(v in split)) return 'none (not in the split)';
    return split[v] + ' (' + Math.round(1000 * split[v] / total) / 10 + '%)';
  };
  const proto = r.protocol || 'http';
  return h('div', { class: 'route', 'data-route': r.name, 'data-port': String(r.port),
    'data-protocol': proto },
  h('p', {}, h('b', {}, 'Route ' + r.name), ': port ' + r.port + ', ' + proto,
    r.error ? h('span', { class: 'st st-critical' }, ' ' + r.error) : null),
  h('div', { class: 'scroll' }, h('table', {},
    h('caption', { class: 'sr' }, 'versions of ' + r.service + ' on route ' + r.name),
    h('thead', {}, h('tr', {}, ['Version', 'Instances', 'Passing', 'Weight']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, [...versions.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([v, c]) =>
      h('tr', { 'data-version': v, 'data-weight': v in split ? String(split[v]) : '' },
        h('th', { scope: 'row' }, v || '(none)'), h('td', {}, String(c.n)),
        h('td', {}, String(c.passing)), h('td', {}, weight(v))))))),
  (r.match || []).length ? h('ul', { class: 'matches', 'aria-label': 'header matches' },
    r.match.map((m) => h('li', { 'data-header': m.header, 'data-version': m.version },
      'header ', h('code', {}, m.header + ': ' + m.value), ' → ' + m.version))) : null);
}

function drawServices(services, health, routes) {
  const list = document.getElementById('services-list');
  if (!services.length) { list.replaceChildren(h('p', {}, 'No services registered.')); return; }
  const open = new Set([...list.querySelectorAll('details[open]')].map((d) => d.dataset.service));
  const first = !list.querySelector('details');
  const ps = new Map(lastPs.map((p) => [p.service + '-' + p.instance, p]));
  list.replaceChildren(...services.map((s) => {
    const insts = health[s.name] || [];
    const worst = s.critical ? 'critical' : s.warning ? 'warning' : 'passing';
    const rts = routes.filter((r) => r.service === s.name);
    return h('details', { id: 'svc-' + s.name, 'data-service': s.name, 'data-health': worst,
      open: first ? services.length <= 8 : open.has(s.name) },
    h('summary', {}, h('b', {}, s.name), ' ', status(worst),
      ` ${s.passing}/${s.instances} passing `, tags(s.tags),
      rts.map((r) => h('span', { class: 'tag' }, 'route :' + r.port))),
    rts.map((r) => drawRoute(r, insts)),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Instance', 'Node', 'Address', 'Version', 'Health', 'Checks']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, insts.map((i) => {
        const local = i.node === selfName && ps.get(i.service.id);
        return h('tr', { 'data-instance': i.service.id, 'data-health': i.status },
          h('th', { scope: 'row' }, local ? instLink(local.service, local.instance, i.service.id)
            : i.service.id),
          h('td', {}, i.node),
          h('td', {}, i.service.address + ':' + i.service.port), h('td', {}, i.service.version || '—'),
          h('td', {}, status(i.status)),
          h('td', {}, i.checks.map((c) => h('div', { 'data-check': c.name, 'data-status': c.status },
            c.name + ' ', status(c.status), c.output ? h('pre', {}, c.output) : null))));
      })))));
  }));
}

// ---- this node's instances ----

function drawPs(ps, needToken) {
  fill(document.querySelector('#ps-t tbody'), ps.length ? ps.map((p) =>
    h('tr', { 'data-service': p.service, 'data-state': p.state },
      h('th', { scope: 'row' }, instLink(p.service, p.instance, p.service)),
      h('td', {}, instLink(p.service, p.instance, String(p.instance))), h('td', {}, status(p.state)),
      h('td', {}, p.pid || '—'), h('td', {}, p.restarts), h('td', {}, p.last_exit || '—'),
      h('td', {}, ports(p.ports))))
    : [h('tr', {}, h('td', { colSpan: 7 }, needToken
      ? 'The supervisor needs a token (run:read): type one in the Token field at the top.'
      : 'Nothing supervised here.'))]);
}

function ports(p) { return Object.entries(p || {}).map(([k, v]) => k + '=' + v).join(' ') || '—'; }

function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

// ---- one instance: #instance/SERVICE/N ----

let view = null; // {service, instance, gen}
let viewGen = 0;

function parseHash() {
  const m = /^#instance\/([^/]+)\/(\d+)$/.exec(location.hash);
  return m ? { service: decodeURIComponent(m[1]), instance: Number(m[2]) } : null;
}

function drawInstance() {
  if (!view) return;
  const p = lastPs.find((x) => x.service === view.service && x.instance === view.instance);
  const d = document.getElementById('inst-d');
  document.getElementById('instance-h').textContent =
    'Instance ' + view.instance + ' of ' + view.service + ' on ' + selfName;
  const section = document.getElementById('instance');
  if (!p) {
    section.dataset.state = 'unknown';
    d.replaceChildren(h('dt', {}, 'State'), h('dd', {}, 'not supervised by this node (any more)'));
    return;
  }
  section.dataset.state = p.state;
  const facts = [['State', status(p.state)], ['PID', p.pid || '—'], ['Restarts', String(p.restarts)],
    ['Last exit', p.last_exit || '—'], ['Ports', ports(p.ports)], ['Runtime', p.runtime || '—'],
    ['Up', p.state === 'running' && p.uptime_ms != null ? duration(p.uptime_ms + Date.now() - psAt) : '—']];
  if (p.bundle) facts.push(['Bundle', p.bundle]);
  if (p.error) facts.push(['Error', p.error]);
  d.replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)]));
}

function logLine(l) {
  const t = new Date(l.t);
  return h('div', { class: l.stream === 'err' ? 'err' : '', 'data-stream': l.stream },
    h('time', { dateTime: t.toISOString() }, t.toLocaleTimeString()), l.text);
}

async function followLogs(v) {
  const box = document.getElementById('logs');
  const st = document.getElementById('logs-st');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let cursor = '';
  box.replaceChildren();
  st.textContent = 'loading…';
  document.querySelectorAll('#instance .need').forEach((e) => e.remove());
  while (v.gen === viewGen) {
    const follow = document.getElementById('logs-follow').checked;
    if (cursor && !follow) { st.textContent = 'paused'; await sleep(LOG_POLL_MS); continue; }
    const q = '?instance=' + v.instance + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '&tail=200');
    let r;
    try {
      r = await get('/v1/agent/logs/' + encodeURIComponent(v.service) + q);
    } catch (e) {
      if (v.gen !== viewGen) return;
      if (e.code === 401 || e.code === 403) {
        st.textContent = 'need a token';
        box.before(h('p', { class: 'need', role: 'alert' }, 'The logs need a token that may read them (' +
          e.message + '). Type one in the Token field at the top: it stays in this tab only.'));
        return; // a new token starts the view again
      }
      st.textContent = e.code === 404 ? 'no lines yet' : 'cannot read: ' + e.message;
      await sleep(LOG_POLL_MS * (e.code === 404 ? 1 : 5));
      continue;
    }
    if (v.gen !== viewGen) return;
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
    box.append(...r.body.lines.map(logLine));
    while (box.childElementCount > LOG_LINES_MAX) box.firstElementChild.remove();
    if (atEnd) box.scrollTop = box.scrollHeight;
    cursor = r.body.cursor || cursor;
    st.textContent = follow ? 'following' : 'paused';
    box.dataset.lines = String(box.childElementCount);
    drawInstance(); // its uptime
    await sleep(LOG_POLL_MS);
  }
}

function route() {
  const want = parseHash();
  const section = document.getElementById('instance');
  if (!want) {
    if (view) { viewGen++; view = null; }
    section.hidden = true;
    if (location.hash.startsWith('#svc-')) {
      const d = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (d && d.tagName === 'DETAILS') { d.open = true; d.querySelector('summary').focus(); }
    }
    return;
  }
  if (view && view.service === want.service && view.instance === want.instance) return;
  view = { service: want.service, instance: want.instance, gen: ++viewGen };
  section.hidden = false;
  drawInstance();
  section.scrollIntoView();
  document.getElementById('instance-h').tabIndex = -1;
  document.getElementById('instance-h').focus();
  followLogs(view);
}

// ---- the KV store as a tree ----

function kvValue(b64) {
  try {
    const bytes = Uint8Array.from(atob(b64 || ''), (c) => c.charCodeAt(0));
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /[\u0000-\u0008\u000e-\u001f]/.test(s) ? bytes.length + ' bytes (binary)' : s;
  } catch (e) {
    return 'binary';
  }
}

function drawKv(entries, error) {
  const tree = document.getElementById('kv-tree');
  if (error) {
    tree.replaceChildren(h('p', { class: 'need' }, error.code === 401 || error.code === 403
      ? 'Reading the store needs a token (' + error.message + '): type one in the Token field at the top.'
      : 'Cannot read the store: ' + error.message));
    return;
  }
  const root = { kids: new Map(), entry: null };
  for (const e of entries) {
    let n = root;
    for (const part of e.key.split('/')) {
      if (!n.kids.has(part)) n.kids.set(part, { kids: new Map(), entry: null });
      n = n.kids.get(part);
    }
    n.entry = e;
  }
  const open = new Set([...tree.querySelectorAll('details[open]')].map((d) => d.dataset.prefix));
  const first = !tree.firstChild;
  const walk = (n, prefix) => [...n.kids.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, k]) => {
    const path = prefix + name;
    const leaf = k.entry ? h('div', { class: 'leaf', 'data-key': k.entry.key },
      h('b', {}, name || '(empty)'), h('span', { class: 'val' }, kvValue(k.entry.value)), ' ',
      h('span', { class: 'mute' }, k.entry.size + ' B, by ' + k.entry.origin + ', ' +
        new Date(k.entry.time_ms).toLocaleString())) : null;
    if (!k.kids.size) return h('li', { role: 'treeitem' }, leaf);
    return h('li', { role: 'treeitem' }, leaf,
      h('details', { 'data-prefix': path + '/', open: first || open.has(path + '/') },
        h('summary', {}, h('b', {}, name + '/'), ' ', h('span', { class: 'mute' }, k.kids.size + ' below')),
        h('ul', { role: 'group' }, walk(k, path + '/'))));
  });
  tree.replaceChildren(entries.length ? h('ul', { class: 'tree', role: 'tree', 'aria-label': 'keys' },
    walk(root, '')) : h('p', {}, 'The store is empty.'));
}

// ---- events ----

// the node an event is about: a member's own name for member and agent
// events, else the node whose history it is (this one)
function eventNode(e) {
  if ((e.kind === 'member' || e.kind === 'agent') && memberNames.has(e.subject)) return e.subject;
  return selfName;
}

function addOptions(sel, values) {
  const have = new Set([...sel.options].map((o) => o.value));
  for (const v of [...values].sort()) if (!have.has(v)) sel.append(h('option', { value: v }, v));
}

function drawEvents(events) {
  const kind = document.getElementById('ev-kind');
  const node = document.getElementById('ev-node');
  addOptions(kind, new Set(events.map((e) => e.kind)));
  addOptions(node, new Set([...memberNames, ...events.map(eventNode)]));
  const wk = kind.value;
  const wn = node.value;
  document.getElementById('events-l').replaceChildren(...events
    .filter((e) => (!wk || e.kind === wk) && (!wn || eventNode(e) === wn))
    .reverse().map((e) => h('li', { 'data-kind': e.kind, 'data-node': eventNode(e) },
      h('time', { dateTime: new Date(e.time_ms).toISOString() }, new Date(e.time_ms).toLocaleTimeString()),
      h('span', { class: 'node' }, eventNode(e)), h('b', {}, e.kind), ' ', e.subject, ': ', e.detail)));
}

// ---- the refresh loop ----

async function refresh() {
  const [self, members, services, events] = await Promise.all([
    get('/v1/self'), get('/v1/members'), get('/v1/catalog/services'), get('/v1/events?limit=200')]);
  // views a token policy may close to anonymous readers; the supervisor
  // always needs a token (run:read), so none is asked for without one
  const ps = token() ? await get('/v1/agent/ps').catch(() => ({ body: [] }))
    : { body: [], needToken: true };
  const kv = await get('/v1/kv/?recurse').catch((e) => ({ body: [], error: e }));
  const routes = await get('/v1/routes').catch(() => ({ body: [] })); // an agent without the proxy
  const health = {};
  const byNode = {};
  await Promise.all(services.body.map(async (s) => {
    health[s.name] = (await get('/v1/health/service/' + encodeURIComponent(s.name))).body;
  }));
  for (const list of Object.values(health)) {
    for (const i of list) (byNode[i.node] = byNode[i.node] || []).push(
      { id: i.service.id, service: i.service.service, status: i.status });
  }
  selfName = self.body.name;
  memberNames = new Set(members.body.map((m) => m.name));
  lastPs = ps.body;
  psAt = Date.now();
  document.getElementById('self').textContent = 'node ' + self.body.name + ' · ' +
    self.body.members.alive + ' alive · version ' + self.body.version;
  drawNodes(members.body, byNode, self.body);
  drawServices(services.body, health, Array.isArray(routes.body) ? routes.body : []);
  drawPs(ps.body, ps.needToken);
  drawInstance();
  drawKv(kv.body, kv.error);
  lastEvents = events.body;
  drawEvents(lastEvents);
  renders++;
  document.body.setAttribute('data-renders', String(renders));
  return services.index;
}

function setConn(text, bad) {
  const c = document.getElementById('conn');
  c.textContent = text;
  c.classList.toggle('err', !!bad);
}

async function loop() {
  let backoff = 1000;
  for (;;) {
    try {
      index = await refresh();
      setConn('live (index ' + index + ')', false);
      backoff = 1000;
      // returns when the catalog, the members or the history change, or after WAIT
      await get('/v1/catalog/services?index=' + index + '&wait=' + WAIT);
    } catch (e) {
      setConn('agent unreachable: ' + e.message + '; retrying', true);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30000);
    }
  }
}

function showToken() {
  document.getElementById('token-st').textContent = token()
    ? 'token set for this tab' : 'no token: anonymous reads only';
}

document.getElementById('token-f').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = document.getElementById('token');
  try { sessionStorage.setItem(TOKEN_KEY, f.value.trim()); } catch (e) { /* storage off */ }
  f.value = '';
  showToken();
  if (view) { view = null; route(); } // a view that needed it starts again
  refresh().catch(() => {}); // what the token opens (this node's instances), without waiting
});
document.getElementById('token-forget').addEventListener('click', () => {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ }
  showToken();
  refresh().catch(() => {});
});
document.getElementById('ev-kind').addEventListener('change', () => drawEvents(lastEvents));
document.getElementById('ev-node').addEventListener('change', () => drawEvents(lastEvents));
window.addEventListener('hashchange', route);
showToken();
route();
loop();
