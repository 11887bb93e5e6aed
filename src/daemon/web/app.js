// tranche web view: renders /api/status (pushed by /api/events, polled
// when server-sent events are not available). No framework, no network
// beyond this daemon. Every value from the server goes through textContent,
// never innerHTML.
'use strict';

(() => {
  const STATES = {
    pending: { label: 'pending', glyph: '○' },
    applying: { label: 'applying', glyph: '◐' },
    gating: { label: 'gating', glyph: '◔' },
    healthy: { label: 'healthy', glyph: '✓' },
    failed: { label: 'failed', glyph: '✕' },
    rollingBack: { label: 'rolling back', glyph: '↺' },
    rolledBack: { label: 'rolled back', glyph: '↺' },
    rollbackFailed: { label: 'rollback failed', glyph: '!' },
    notStarted: { label: 'not started', glyph: '–' },
  };
  const PHASES = {
    planned: 'planned', applying: 'applying', gating: 'health gate', baking: 'baking',
    rollingBack: 'rolling back', pausing: 'pausing', finished: 'finished',
  };
  const OUTCOMES = {
    succeeded: ['deployed', 'ok'], nothingToDo: ['nothing to do', 'ok'],
    rolledBack: ['rolled back', 'bad'], paused: ['paused', 'warn'],
    rollbackFailed: ['rollback failed', 'bad'], superseded: ['superseded', 'muted'],
    invalid: ['invalid', 'bad'],
  };
  const COUNT_SIGNS = { created: '+', configured: '~', pruned: '−', failed: '✕', skipped: '·' };

  let status = null;
  let selected = null; // cluster name shown in the detail panel
  const changes = new Map(); // "commit from cluster" -> Promise of /api/changes

  const $ = (id) => document.getElementById(id);
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  // replaceChildren, leaving out absent parts (null, undefined, false).
  const fill = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  const short = (sha) => (sha || '').slice(0, 7);
  const info = (sha) => (status && status.commits && status.commits[sha]) || null;

  function ago(secs) {
    if (!secs) return '';
    const d = Math.max(0, Math.round(Date.now() / 1000 - secs));
    if (d < 5) return 'just now';
    if (d < 60) return `${d}s ago`;
    if (d < 3600) return `${Math.floor(d / 60)}m ago`;
    if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
    return `${Math.floor(d / 86400)}d ago`;
  }
  function took(from, to) {
    if (!from || !to) return '';
    const d = Math.max(0, to - from);
    if (d < 60) return `${d}s`;
    if (d < 3600) return `${Math.floor(d / 60)}m ${d % 60}s`;
    return `${Math.floor(d / 3600)}h ${Math.floor((d % 3600) / 60)}m`;
  }
  const when = (secs) => (secs ? new Date(secs * 1000).toISOString().replace('.000Z', 'Z') : '');

  function shaLink(sha) {
    const i = info(sha);
    const text = short(sha);
    if (i && i.url) return h('a', { class: 'mono sha', href: i.url, title: sha, rel: 'noopener' }, text);
    return h('span', { class: 'mono sha', title: sha }, text);
  }
  function commitLine(sha) {
    const i = info(sha);
    return h('span', { class: 'commit-line' }, shaLink(sha), i ? h('span', { class: 'subject', text: i.subject }) : null);
  }
  function chip(state) {
    const s = STATES[state] || { label: state, glyph: '?' };
    return h('span', { class: `chip st-${state}` }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, s.glyph), s.label);
  }
  function outcomeChip(outcome) {
    const [label, tone] = OUTCOMES[outcome] || [outcome, 'muted'];
    return h('span', { class: `chip tone-${tone}`, text: label });
  }

  // The rollout shown: the one under way, else the last one watched.
  function shown() {
    if (!status) return null;
    if (status.current) return { r: status.current, live: true };
    if (status.lastRollout) return { r: status.lastRollout, live: false };
    return null;
  }

  function renderHeader() {
    $('branch').textContent = status.branch || '–';
    fill($('head'), status.head ? shaLink(status.head) : '–');
    fill($('last-good'), status.lastGood ? shaLink(status.lastGood) : 'none');
    $('role').textContent = status.identity ? `${status.role} (${status.identity})` : status.role || '–';
  }

  function renderCommit(r) {
    const i = info(r.commit);
    const box = $('commit');
    if (!i) { fill(box, h('p', {}, 'Commit ', shaLink(r.commit))); return; }
    fill(box,
      h('p', { class: 'commit-subject' }, i.subject),
      h('p', { class: 'commit-meta' }, shaLink(r.commit), ' · ', h('span', { text: i.author }),
        ' · ', h('time', { datetime: when(i.time), title: when(i.time), text: ago(i.time) })),
      i.body ? h('details', { class: 'commit-body' }, h('summary', {}, 'Message'), h('pre', { text: i.body })) : null,
    );
  }

  function renderRollout() {
    const s = shown();
    const title = $('rollout-title');
    const phase = $('phase');
    const failure = $('failure');
    const gate = $('gate');
    const waiting = $('waiting');
    if (status.waiting) {
      waiting.hidden = false;
      fill(waiting, 'Next: ', commitLine(status.waiting), ' waits for this rollout to end.');
    } else waiting.hidden = true;
    if (!s) {
      delete $('rollout').dataset.commit;
      failure.hidden = true; gate.hidden = true;
      fill($('grid'));
      const h0 = (status.history || []).slice(-1)[0];
      if (!h0) {
        title.textContent = 'No rollout yet';
        fill(phase);
        fill($('commit'), h('p', { class: 'hint' }, 'Waiting for a commit on ', status.branch || 'the branch', '.'));
        $('progress').textContent = '';
        return;
      }
      // Remembered from before this daemon process started: no per-cluster detail.
      title.textContent = 'Last rollout';
      fill(phase, outcomeChip(h0.outcome), h('span', { class: 'elapsed', text: `took ${took(h0.startedAt, h0.finishedAt) || '0s'}` }));
      renderCommit({ commit: h0.commit });
      $('progress').textContent = h0.description;
      fill($('grid'), h('p', { class: 'hint' }, 'Cluster-by-cluster state is shown for rollouts this daemon process has watched; see the history below.'));
      return;
    }
    const r = s.r;
    $('rollout').dataset.commit = r.commit;
    title.textContent = s.live ? 'Rolling out' : 'Last rollout';
    const elapsed = s.live ? took(r.startedAt, Math.round(Date.now() / 1000)) : took(r.startedAt, r.finishedAt);
    fill(phase,
      s.live ? h('span', { class: `chip phase-${r.phase}` }, PHASES[r.phase] || r.phase) : outcomeChip(r.outcome),
      elapsed ? h('span', { class: 'elapsed', text: s.live ? `${elapsed} so far` : `took ${elapsed}` }) : null,
    );
    renderCommit(r);
    const baking = r.phase === 'baking' && r.bakeSeconds ? ` · baking ${r.bakeSeconds}s` : '';
    // A finished rollout's description repeats its failure: say it once.
    $('progress').textContent = !s.live && r.failure ? '' : (r.progress || '') + baking;
    if (r.failure) {
      failure.hidden = false;
      const f = r.failure;
      fill(failure,
        h('strong', {}, s.live ? 'Batch failed' : (OUTCOMES[r.outcome] || ['failed'])[0]),
        h('span', { class: 'reason' }, h('span', { class: 'mono', text: f.cluster }), f.object ? ` ${f.object}` : '', ': ', f.reason),
      );
    } else failure.hidden = true;
    if (r.gate && r.gate.length) {
      gate.hidden = false;
      fill(gate, h('strong', {}, 'Health gate waiting on'), h('ul', {}, r.gate.map((g) => h('li', { class: 'mono', text: g }))));
    } else gate.hidden = true;
    renderGrid(r);
  }

  function counts(c) {
    const parts = [];
    for (const [k, sign] of Object.entries(COUNT_SIGNS)) {
      if (c.counts && c.counts[k]) parts.push(`${sign}${c.counts[k]}`);
    }
    return parts.join(' ');
  }

  function countWords(c) {
    return Object.entries(c.counts || {}).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ');
  }

  // "2/3 healthy", or the one state every cluster of the batch is in.
  function batchSummary(states) {
    const healthy = states.filter((x) => x === 'healthy').length;
    if (states.length && states.every((x) => x === states[0]) && states[0] !== 'healthy') {
      return (STATES[states[0]] || { label: states[0] }).label;
    }
    return `${healthy}/${states.length} healthy`;
  }

  function renderGrid(r) {
    const grid = $('grid');
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.cluster : null;
    const batches = r.batches && r.batches.length ? r.batches : [Object.keys(r.clusters || {})];
    const rows = batches.map((names, i) => {
      const cells = names.map((name) => {
        const c = (r.clusters || {})[name] || { state: 'pending', batch: i };
        const s = STATES[c.state] || { label: c.state, glyph: '?' };
        return h('li', {},
          h('button', {
            type: 'button', class: `cell st-${c.state}`, 'data-cluster': name, 'data-state': c.state,
            'aria-pressed': selected === name ? 'true' : 'false',
            'aria-label': `${name}: ${s.label}`, onclick: () => select(name), onkeydown: gridKeys,
          },
          h('span', { class: 'cell-name', text: name }),
          h('span', { class: 'cell-state' }, h('span', { class: 'glyph', 'aria-hidden': 'true' }, s.glyph), s.label),
          h('span', { class: 'cell-counts', title: countWords(c), text: counts(c) || '\u00a0' })));
      });
      const states = names.map((n) => ((r.clusters || {})[n] || {}).state || 'pending');
      const current = r.phase !== 'finished' && i === r.batch;
      return h('section', { class: `batch${current ? ' current' : ''}`, 'data-batch': i, 'aria-label': `Batch ${i + 1}` },
        h('h3', { class: 'batch-title' }, `Batch ${i + 1}`, h('span', { class: 'batch-sub', text: batchSummary(states) })),
        h('ul', { class: 'cells' }, cells));
    });
    fill(grid, ...rows);
    if (focused) {
      const again = grid.querySelector(`[data-cluster="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  // Arrow keys move between cells; Enter/Space (native button) selects.
  function gridKeys(e) {
    const all = [...document.querySelectorAll('#grid .cell')];
    const i = all.indexOf(e.currentTarget);
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (step === undefined || i < 0) return;
    e.preventDefault();
    const next = all[(i + step + all.length) % all.length];
    next.focus();
  }

  function select(name) {
    selected = selected === name ? null : name;
    render();
    if (selected) $('detail').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  function renderDetail() {
    const s = shown();
    const panel = $('detail');
    const c = s && selected ? (s.r.clusters || {})[selected] : null;
    if (!c) { panel.hidden = true; objectsShown = ''; return; }
    const r = s.r;
    panel.hidden = false;
    $('detail-title').textContent = selected;
    fill($('detail-state'), chip(c.state), h('span', { class: 'elapsed', text: ago(c.since) }));
    const kv = (k, ...v) => [h('dt', { text: k }), h('dd', {}, ...v)];
    fill($('detail-facts'),
      ...kv('Batch', `${c.batch + 1} of ${(r.batches || []).length || 1}`),
      ...kv('Ran before', c.previous ? commitLine(c.previous) : 'nothing (first rollout here)'),
      ...kv('Rolling out', commitLine(r.commit)),
      ...kv('Applied', countWords(c) || 'nothing yet'),
      ...(c.error ? kv('Error', h('span', { class: 'error-text', text: c.error })) : []),
    );
    fill($('detail-gate'), c.gate && c.gate.length
      ? h('div', { class: 'gate' }, h('strong', {}, 'Waiting on'), h('ul', {}, c.gate.map((g) => h('li', { class: 'mono', text: g }))))
      : '');
    renderObjects(r, selected, c);
  }

  function objectKey(o) { return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`; }

  let objectsShown = ''; // what the objects list shows now (kept open while unchanged)

  function renderObjects(r, cluster, c) {
    const box = $('detail-objects');
    const key = `${r.commit} ${c.previous || ''} ${cluster}`;
    const shownNow = `${key} ${JSON.stringify(c.changes || [])}`;
    if (shownNow === objectsShown) return;
    objectsShown = shownNow;
    if (!changes.has(key)) {
      const q = new URLSearchParams({ commit: r.commit, cluster, from: c.previous || '' });
      changes.set(key, fetch(`/api/changes?${q}`).then((res) => (res.ok ? res.json() : res.text().then((t) => ({ error: t })))));
    }
    changes.get(key).then((data) => {
      if (selected !== cluster) return;
      const applied = new Map((c.changes || []).map((o) => [objectKey(o), o]));
      if (data.error) { fill(box, h('p', { class: 'error-text', text: data.error })); return; }
      const rows = data.objects.map((o) => {
        const a = applied.get(objectKey(o));
        applied.delete(objectKey(o));
        return objectRow(o, a);
      });
      for (const a of applied.values()) rows.push(objectRow(null, a));
      fill(box, rows.length ? h('ul', { class: 'objects' }, rows) : h('p', { class: 'hint' }, 'No object changes.'),
        data.unlisted ? h('p', { class: 'hint', text: `…and ${data.unlisted} more objects.` }) : '');
    }).catch((e) => fill(box, h('p', { class: 'error-text', text: String(e) })));
  }

  function objectRow(change, applied) {
    const o = change || applied;
    const outcome = applied ? applied.outcome : 'pending';
    const head = h('span', { class: 'obj-head' },
      h('span', { class: `chip out-${outcome}`, text: outcome }),
      h('span', { class: 'mono obj-name', text: objectKey(o) }),
      h('span', { class: 'obj-app', text: o.app }),
      change ? h('span', { class: 'obj-change', text: change.change }) : null);
    const msg = applied && applied.message ? h('p', { class: 'error-text', text: applied.message }) : null;
    if (!change) return h('li', {}, h('div', { class: 'obj-static' }, head, msg));
    const pre = h('pre', { class: 'diff' }, change.diff.split('\n').map((line) => h('span', {
      class: line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : '',
      text: `${line}\n`,
    })));
    return h('li', {}, h('details', {}, h('summary', {}, head), msg, pre));
  }

  function renderClusters() {
    const body = $('clusters').tBodies[0];
    const names = new Set([...Object.keys(status.clusters || {}), ...Object.keys(status.drift || {})]);
    const rows = [...names].sort().map((n) => {
      const sha = (status.clusters || {})[n];
      const drift = (status.drift || {})[n];
      return h('tr', {},
        h('th', { scope: 'row', class: 'mono', text: n }),
        h('td', {}, sha ? commitLine(sha) : '–'),
        h('td', { class: `num${drift ? ' drift' : ''}`, text: drift === undefined ? '–' : String(drift) }));
    });
    fill(body, ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 3, class: 'hint', text: 'No cluster has run a commit yet.' }))]));
  }

  function renderHistory() {
    const body = $('history').tBodies[0];
    const rows = (status.history || []).slice().reverse().map((e) => h('tr', {},
      h('td', {}, commitLine(e.commit), h('div', { class: 'hint small', text: e.description })),
      h('td', {}, outcomeChip(e.outcome)),
      h('td', { class: 'when' }, h('time', { datetime: when(e.startedAt), title: when(e.startedAt), text: ago(e.startedAt) })),
      h('td', { class: 'num', text: took(e.startedAt, e.finishedAt) || '0s' })));
    fill(body, ...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 4, class: 'hint', text: 'Nothing rolled out yet.' }))]));
  }

  function render() {
    if (!status) return;
    renderHeader();
    renderRollout();
    renderDetail();
    renderClusters();
    renderHistory();
    const s = shown();
    document.title = s ? `${s.live ? '▶' : ''} ${short(s.r.commit)} ${s.live ? s.r.progress : (OUTCOMES[s.r.outcome] || [''])[0]} · tranche` : 'tranche';
  }

  function receive(data) {
    status = data;
    render();
  }

  function live(text, ok) {
    const el = $('live');
    el.textContent = text;
    el.className = `live ${ok ? 'ok' : 'down'}`;
  }

  function poll() {
    fetch('/api/status').then((r) => r.json()).then((d) => { live('polling', true); receive(d); })
      .catch(() => live('daemon unreachable', false))
      .finally(() => setTimeout(poll, 2000));
  }

  function start() {
    if (!window.EventSource) { poll(); return; }
    const es = new EventSource('/api/events');
    es.addEventListener('status', (e) => { live('live', true); receive(JSON.parse(e.data)); });
    es.onerror = () => live('reconnecting…', false);
    // Times ("3m ago", "so far") move on even when nothing changes.
    setInterval(render, 5000);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
