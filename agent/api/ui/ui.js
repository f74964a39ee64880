// troupe's UI: reads the local agent's API and draws nodes, services with
// their instances and checks, this node's supervised instances and the
// event history. It refreshes when a blocking query on the catalog returns
// (the index moved, or the wait ran out), never in a tight loop. Reads only.
'use strict';

window.uiErrors = [];
window.addEventListener('error', (e) => window.uiErrors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.uiErrors.push(String(e.reason)));

const WAIT = '30s';
let index = 0;
let renders = 0;

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
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

async function get(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return { body: await r.json(), index: Number(r.headers.get('X-Troupe-Index')) || 0 };
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function drawNodes(members, byNode) {
  const order = { alive: 0, suspect: 1, dead: 2, left: 3 };
  members.sort((a, b) => (order[a.status] - order[b.status]) || a.name.localeCompare(b.name));
  fill(document.querySelector('#nodes-t tbody'), members.map((m) => {
    const insts = byNode[m.name] || [];
    return h('tr', { 'data-node': m.name, 'data-status': m.status },
      h('th', { scope: 'row' }, m.name), h('td', {}, status(m.status)),
      h('td', {}, m.addr + ':' + m.port), h('td', {}, tags(m.tags)),
      h('td', {}, insts.length ? insts.map((i) => i.id).join(', ') : '—'));
  }));
  document.getElementById('map').replaceChildren(...members.map((m) =>
    h('div', { class: 'box st-' + m.status },
      h('b', {}, m.name), ' ', status(m.status),
      h('ul', {}, (byNode[m.name] || []).map((i) => h('li', {}, i.service + ' ', status(i.status)))))));
}

function drawServices(services, health) {
  const list = document.getElementById('services-list');
  if (!services.length) { list.replaceChildren(h('p', {}, 'No services registered.')); return; }
  list.replaceChildren(...services.map((s) => {
    const insts = health[s.name] || [];
    const worst = s.critical ? 'critical' : s.warning ? 'warning' : 'passing';
    return h('details', { 'data-service': s.name, 'data-health': worst, open: services.length <= 8 },
      h('summary', {}, h('b', {}, s.name), ' ', status(worst),
        ` ${s.passing}/${s.instances} passing `, tags(s.tags)),
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Instance', 'Node', 'Address', 'Version', 'Health', 'Checks']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, insts.map((i) => h('tr', { 'data-instance': i.service.id, 'data-health': i.status },
          h('th', { scope: 'row' }, i.service.id), h('td', {}, i.node),
          h('td', {}, i.service.address + ':' + i.service.port), h('td', {}, i.service.version || '—'),
          h('td', {}, status(i.status)),
          h('td', {}, i.checks.map((c) => h('div', {}, c.name + ' ', status(c.status),
            c.output ? h('pre', {}, c.output) : null)))))))));
  }));
}

function drawPs(ps) {
  fill(document.querySelector('#ps-t tbody'), ps.length ? ps.map((p) =>
    h('tr', { 'data-service': p.service, 'data-state': p.state },
      h('th', { scope: 'row' }, p.service), h('td', {}, p.instance), h('td', {}, status(p.state)),
      h('td', {}, p.pid || '—'), h('td', {}, p.restarts), h('td', {}, p.last_exit || '—'),
      h('td', {}, Object.entries(p.ports || {}).map(([k, v]) => k + '=' + v).join(' ') || '—')))
    : [h('tr', {}, h('td', { colSpan: 7 }, 'Nothing supervised here.'))]);
}

function drawEvents(events) {
  const sel = document.getElementById('ev-kind');
  const kinds = new Set([...sel.options].map((o) => o.value));
  for (const e of events) if (!kinds.has(e.kind)) { kinds.add(e.kind); sel.append(h('option', { value: e.kind }, e.kind)); }
  const want = sel.value;
  document.getElementById('events-l').replaceChildren(...events.filter((e) => !want || e.kind === want)
    .reverse().map((e) => h('li', { 'data-kind': e.kind },
      h('time', { dateTime: new Date(e.time_ms).toISOString() }, new Date(e.time_ms).toLocaleTimeString()),
      h('b', {}, e.kind), ' ', e.subject, ': ', e.detail)));
}

let lastEvents = [];

async function refresh() {
  const [self, members, services, events] = await Promise.all([
    get('/v1/self'), get('/v1/members'), get('/v1/catalog/services'), get('/v1/events?limit=100')]);
  const ps = await get('/v1/agent/ps').catch(() => ({ body: [] }));
  const health = {};
  const byNode = {};
  await Promise.all(services.body.map(async (s) => {
    health[s.name] = (await get('/v1/health/service/' + encodeURIComponent(s.name))).body;
  }));
  for (const list of Object.values(health)) {
    for (const i of list) (byNode[i.node] = byNode[i.node] || []).push(
      { id: i.service.id, service: i.service.service, status: i.status });
  }
  document.getElementById('self').textContent = 'node ' + self.body.name + ' · ' +
    self.body.members.alive + ' alive · version ' + self.body.version;
  drawNodes(members.body, byNode);
  drawServices(services.body, health);
  drawPs(ps.body);
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

document.getElementById('ev-kind').addEventListener('change', () => drawEvents(lastEvents));
loop();
