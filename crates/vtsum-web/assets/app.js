// vtsum's pages. Every value from VirusTotal or an upload reaches the page through
// textContent or a property and is never parsed as markup, so hostile file names stay text.
'use strict';

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);

  // Builds an element; children are nodes or text (text is never parsed as HTML).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function human(secs) {
    secs = Math.max(0, Math.round(secs));
    const d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600),
      m = Math.floor(secs % 3600 / 60), s = secs % 60;
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${m}m`;
    if (m) return `${m}m ${s}s`;
    return `${s}s`;
  }

  async function json(url, options) {
    const res = await fetch(url, Object.assign({ credentials: 'same-origin' }, options || {}));
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  function renderKeys(keys) {
    const body = $('#keys');
    if (!body) return;
    body.replaceChildren(...keys.map(k => el('tr', {},
      el('td', {}, el('code', {}, k.id)),
      el('td', {}, el('span', { class: `key-state ${k.state}` }, k.state)),
      el('td', {}, k.free_now === null ? '–' : k.free_now),
      el('td', {}, k.left_today === null ? '–' : k.left_today))));
  }

  async function refreshQuota() {
    try {
      const q = await json('/api/v1/quota');
      renderKeys(q.keys);
      $('#cache-found').textContent = q.cache_found;
      $('#cache-unknown').textContent = q.cache_unknown;
    } catch (_) { /* shown again on the next refresh */ }
  }

  function confirmDeletes() {
    document.querySelectorAll('form.delete-job').forEach(f => f.addEventListener('submit', ev => {
      if (!window.confirm('Delete this job and its results? Cached answers are kept.')) ev.preventDefault();
    }));
  }

  // ---- front page -------------------------------------------------------------------
  function front() {
    const form = $('#submit-form'), file = $('#file'), text = $('#text'), preview = $('#preview');
    let timer = null, seq = 0;
    async function update() {
      const n = ++seq;
      const data = new FormData();
      if (file.files.length) data.append('file', file.files[0]);
      data.append('text', text.value);
      if (!file.files.length && !text.value.trim()) { preview.textContent = ''; return; }
      try {
        const p = await json('/api/v1/extract', { method: 'POST', body: data });
        if (n !== seq) return;
        preview.className = 'preview ' + (p.hashes ? 'ok' : 'bad');
        preview.textContent = p.hashes
          ? `Found ${p.hashes} unique hash${p.hashes === 1 ? '' : 'es'}` +
            (p.duplicates ? ` (${p.duplicates} repeats dropped)` : '') +
            `; ${p.lines_without_hash} non-blank line${p.lines_without_hash === 1 ? '' : 's'} held none.`
          : `No md5, sha1 or sha256 found; ${p.lines_without_hash} non-blank lines held none.`;
        preview.dataset.hashes = p.hashes;
      } catch (e) {
        if (n === seq) { preview.className = 'preview bad'; preview.textContent = e.message; }
      }
    }
    const later = () => { clearTimeout(timer); timer = setTimeout(update, 250); };
    file.addEventListener('change', update);
    text.addEventListener('input', later);
    form.addEventListener('submit', () => { $('#start').disabled = true; $('#start').textContent = 'Starting…'; });
    setInterval(refreshQuota, 5000);
  }

  // ---- job page ---------------------------------------------------------------------
  const VERDICTS = ['malicious', 'suspicious', 'clean', 'unanalysed', 'unknown', 'error'];
  const PAGE = 100;

  function job() {
    const id = document.body.dataset.job;
    const started = performance.now();
    // input hash -> {index, row}. The index is the order rows reached the page: results
    // load in input order and live rows arrive roughly in input order after them.
    const rows = new Map();
    let seq = 0;
    const view = { key: null, dir: 1, verdict: '', text: '', page: 0 };
    let state = null, loaded = false, scheduled = false, countdown = null;

    function setJob(j) {
      state = j.state;
      const st = $('#state');
      st.textContent = j.state.replace('_', ' ');
      st.className = `state ${j.state}`;
      document.body.dataset.state = j.state;
      $('#counts').textContent = `${j.done} / ${j.total} done`;
      $('#hits').textContent = j.cache_hits ? `${j.cache_hits} from cache` : '';
      $('#bar').max = j.total; $('#bar').value = j.done;
      $('#eta').textContent = j.state === 'running' && j.eta_secs ? `about ${human(j.eta_secs)} left` : '';
      const waiting = $('#waiting');
      clearInterval(countdown);
      if (j.state === 'waiting_quota' && j.resumes_at_unix) {
        const show = () => {
          const at = new Date(j.resumes_at_unix * 1000);
          const hhmm = at.toISOString().slice(11, 16);
          const left = j.resumes_at_unix - Date.now() / 1000;
          waiting.textContent = `All keys are out of daily quota; resumes at ${hhmm} UTC ` +
            `(${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} your time, in ${human(left)}). ` +
            'Results so far are kept below; this page updates by itself.';
        };
        show();
        countdown = setInterval(show, 30000);
        waiting.hidden = false;
      } else {
        waiting.hidden = true;
      }
      if (j.state === 'failed' && j.error) notice(`The job failed: ${j.error}`);
    }

    function notice(message) {
      $('#notices').append(el('p', { class: 'notice warn' }, message));
    }

    function addRow(row) {
      const known = rows.get(row.input);
      rows.set(row.input, { index: known ? known.index : seq++, row });
      schedule();
    }

    async function loadResults() {
      const body = await json(`/api/v1/jobs/${id}/results?format=json`);
      body.results.forEach(addRow);
      loaded = true;
      schedule();
    }

    function schedule() {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => { scheduled = false; render(); });
    }

    function matches(r) {
      if (view.verdict && r.verdict !== view.verdict) return false;
      if (!view.text) return true;
      const hay = [r.input, r.md5, r.sha1, r.sha256, r.threat_label, r.type, r.meaningful_name,
        ...(r.names || []), ...(r.tags || [])].join('\n').toLowerCase();
      return hay.includes(view.text);
    }

    function compare(a, b) {
      if (!view.key) return a.index - b.index;
      let x = a.row[view.key], y = b.row[view.key];
      if (view.key === 'malicious') { x = [x, a.row.suspicious]; y = [y, b.row.suspicious]; }
      if (view.key === 'verdict') { x = VERDICTS.indexOf(x); y = VERDICTS.indexOf(y); }
      const nx = x === null || x === undefined, ny = y === null || y === undefined;
      if (nx || ny) return nx === ny ? a.index - b.index : nx ? 1 : -1; // blanks last
      if (Array.isArray(x)) return view.dir * (x[0] - y[0] || x[1] - y[1]) || a.index - b.index;
      const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return view.dir * c || a.index - b.index;
    }

    function detections(r) {
      if (r.status !== 'found' || !r.total) return el('span', { class: 'muted' }, r.status === 'found' ? 'not analysed' : '–');
      const bar = el('span', { class: 'det-bar', title: `${r.malicious} malicious, ${r.suspicious} suspicious of ${r.total}` });
      const mal = el('span', { class: 'det-mal' }), sus = el('span', { class: 'det-sus' });
      mal.style.width = `${100 * r.malicious / r.total}%`;
      sus.style.width = `${100 * r.suspicious / r.total}%`;
      bar.append(mal, sus);
      return el('span', { class: 'det' }, bar, ` ${r.malicious}/${r.total}`);
    }

    function link(r) {
      if (!r.permalink || !r.permalink.startsWith('https://www.virustotal.com/')) return '';
      return el('a', { href: r.permalink, target: '_blank', rel: 'noopener noreferrer' }, 'open');
    }

    function render() {
      const all = [...rows.values()];
      const counts = {};
      let hits = 0;
      for (const { row } of all) { counts[row.verdict] = (counts[row.verdict] || 0) + 1; if (row.from_cache) hits++; }
      $('#summary').replaceChildren(
        el('span', { class: 'count total' }, `${all.length} results`),
        ...VERDICTS.filter(v => counts[v]).map(v => el('span', { class: `count v-${v}`, 'data-verdict': v }, `${counts[v]} ${v}`)),
        ...(hits ? [el('span', { class: 'count muted' }, `${hits} from cache`)] : []));
      const shown = all.filter(({ row }) => matches(row)).sort(compare);
      const pages = Math.max(1, Math.ceil(shown.length / PAGE));
      view.page = Math.min(view.page, pages - 1);
      const slice = shown.slice(view.page * PAGE, (view.page + 1) * PAGE);
      $('#rows').replaceChildren(...slice.map(({ row: r }) => {
        const tr = el('tr', { class: `row v-${r.verdict}`, 'data-input': r.input, tabIndex: 0 },
          el('td', { class: 'hash' }, el('code', {}, r.input)),
          el('td', {}, el('span', { class: `verdict v-${r.verdict}` }, r.verdict)),
          el('td', {}, detections(r)),
          el('td', {}, r.threat_label || ''),
          el('td', {}, r.type || ''),
          el('td', { class: 'name' }, r.meaningful_name || (r.names && r.names[0]) || r.error || ''),
          el('td', { class: 'date' }, (r.first_seen || '').slice(0, 10)),
          el('td', { class: 'date' }, (r.last_seen || '').slice(0, 10)),
          el('td', {}, link(r)));
        tr.addEventListener('click', ev => { if (ev.target.tagName !== 'A') toggle(tr, r); });
        tr.addEventListener('keydown', ev => { if (ev.key === 'Enter') toggle(tr, r); });
        return tr;
      }));
      $('#shown').textContent = shown.length === all.length ? '' : `${shown.length} of ${all.length} shown`;
      $('#page').textContent = `page ${view.page + 1} of ${pages}`;
      $('#prev').disabled = view.page === 0;
      $('#next').disabled = view.page >= pages - 1;
      document.querySelectorAll('#report th[data-key]').forEach(th => {
        th.setAttribute('aria-sort', th.dataset.key === view.key ? (view.dir > 0 ? 'ascending' : 'descending') : 'none');
      });
      if (loaded && !document.body.dataset.renderedMs) {
        document.body.dataset.renderedMs = Math.round(performance.now() - started);
      }
      document.body.dataset.rows = all.length;
    }

    async function toggle(tr, r) {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains('detail')) { next.remove(); tr.classList.remove('open'); return; }
      tr.classList.add('open');
      const cell = el('td', { colSpan: 9 }, el('p', { class: 'muted' }, 'Loading engine results…'));
      const detail = el('tr', { class: 'detail' }, cell);
      tr.after(detail);
      const facts = el('dl', { class: 'facts' });
      const fact = (k, v) => { if (v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length)) facts.append(el('dt', {}, k), el('dd', {}, Array.isArray(v) ? v.join(', ') : v)); };
      fact('md5', r.md5); fact('sha1', r.sha1); fact('sha256', r.sha256); fact('size', r.size);
      fact('names', r.names); fact('tags', r.tags); fact('reputation', r.reputation);
      fact('last analysis', r.last_analysis); fact('error', r.error);
      if (r.status !== 'found') { cell.replaceChildren(facts); return; }
      try {
        const full = await json(`/api/v1/files/${encodeURIComponent(r.sha256 || r.input)}?engines=true`);
        const engines = Object.entries(full.engines || {});
        const rank = { malicious: 0, suspicious: 1 };
        engines.sort((a, b) => (rank[a[1].category] ?? 2) - (rank[b[1].category] ?? 2) || a[0].localeCompare(b[0]));
        const table = el('table', { class: 'engines' },
          el('thead', {}, el('tr', {}, el('th', {}, 'Engine'), el('th', {}, 'Category'), el('th', {}, 'Result'), el('th', {}, 'Version'), el('th', {}, 'Updated'))),
          el('tbody', {}, ...engines.map(([name, e]) => el('tr', { class: `cat-${e.category || 'none'}` },
            el('td', {}, name), el('td', {}, e.category || ''), el('td', {}, e.result || ''),
            el('td', {}, e.version || ''), el('td', {}, e.update || '')))));
        cell.replaceChildren(facts, engines.length ? table : el('p', { class: 'muted' }, 'No per-engine results.'));
      } catch (e) {
        cell.replaceChildren(facts, el('p', { class: 'notice bad' }, e.message));
      }
    }

    document.querySelectorAll('#report th[data-key]').forEach(th => th.addEventListener('click', () => {
      if (view.key === th.dataset.key) view.dir = -view.dir; else { view.key = th.dataset.key; view.dir = 1; }
      render();
    }));
    $('#verdict-filter').addEventListener('change', e => { view.verdict = e.target.value; view.page = 0; render(); });
    $('#search').addEventListener('input', e => { view.text = e.target.value.trim().toLowerCase(); view.page = 0; render(); });
    $('#prev').addEventListener('click', () => { view.page--; render(); });
    $('#next').addEventListener('click', () => { view.page++; render(); });

    const events = new EventSource(`/api/v1/jobs/${id}/events`);
    events.addEventListener('job', ev => {
      const j = JSON.parse(ev.data);
      const first = state === null;
      setJob(j);
      // The stream opens with the true state; results already in the store come from the
      // API (again after a reconnect), and later rows from the stream.
      if (first || j.state === 'done' || j.state === 'failed') loadResults().catch(e => notice(e.message));
      if (j.state === 'done' || j.state === 'failed') { events.close(); refreshQuota(); }
    });
    events.addEventListener('open', () => { if (state !== null) loadResults().catch(e => notice(e.message)); });
    events.addEventListener('row', ev => { addRow(JSON.parse(ev.data).row); });
    events.addEventListener('keys', ev => renderKeys(JSON.parse(ev.data)));
    events.addEventListener('notice', ev => notice(JSON.parse(ev.data).message));
    events.addEventListener('resync', () => loadResults().catch(e => notice(e.message)));
  }

  document.addEventListener('DOMContentLoaded', () => {
    confirmDeletes();
    const page = document.body.dataset.page;
    if (page === 'front') front();
    if (page === 'job') job();
  });
})();
