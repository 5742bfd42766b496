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
        const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
        const others = [plural(p.urls, 'URL', 'URLs'), plural(p.domains, 'domain', 'domains'),
          plural(p.ips, 'IP address', 'IP addresses')];
        if (p.urls || p.domains || p.ips) {
          preview.textContent += ` Also ${others.join(', ')}: tick them under “Look up” to check them too.`;
        }
        if (p.non_file_hashes) preview.textContent += ` ${plural(p.non_file_hashes, 'IMPHASH-like value', 'IMPHASH-like values')} not looked up.`;
        preview.dataset.others = `${p.urls},${p.domains},${p.ips}`;
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
  // The server filters, sorts, pages and counts (GET /api/v1/jobs/{id}/results with paging
  // parameters): the page holds one page of rows, whatever the job's size. Live rows only
  // tell it that the current page may have changed; it asks again at most once a second.
  const VERDICTS = ['malicious', 'suspicious', 'clean', 'unanalysed', 'unknown', 'error'];
  const PAGE = 100;
  const LIVE_EVERY_MS = 1000;
  const TYPING_MS = 200;

  function job() {
    const id = document.body.dataset.job;
    const view = { sort: 'index', order: 'asc', verdict: '', kind: '', q: '', offset: 0 };
    // Rows whose details are open, by input: they stay open when the page is refreshed.
    const open = new Map();
    let state = null, countdown = null, seq = 0, controller = null;
    let lastLoad = -Infinity, later = null, typing = null;

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

    let lastNotice = '';
    function notice(message) {
      if (message === lastNotice) return;
      lastNotice = message;
      $('#notices').append(el('p', { class: 'notice warn' }, message));
    }

    // Whether a page is being fetched or waits to be: tests wait for '0' after acting.
    function busy(on) { document.body.dataset.loading = on ? '1' : '0'; }

    function url() {
      const p = new URLSearchParams({ offset: view.offset, limit: PAGE, sort: view.sort, order: view.order });
      if (view.verdict) p.set('verdict', view.verdict);
      if (view.kind) p.set('kind', view.kind);
      if (view.q) p.set('q', view.q);
      return `/api/v1/jobs/${id}/results?${p}`;
    }

    // Fetches the current page now; an answer to an older request is dropped.
    async function load() {
      clearTimeout(later); later = null;
      const n = ++seq;
      if (controller) controller.abort();
      controller = new AbortController();
      lastLoad = performance.now();
      busy(true);
      try {
        const page = await json(url(), { signal: controller.signal });
        if (n !== seq) return;
        if (page.offset > 0 && page.offset >= page.matching) {
          // The filter left fewer rows than the page we were on: show the last page.
          view.offset = Math.max(0, Math.floor((page.matching - 1) / PAGE) * PAGE);
          load();
          return;
        }
        render(page);
        busy(later !== null || typing !== null);
      } catch (e) {
        if (n !== seq) return;
        busy(false);
        if (e.name !== 'AbortError') notice(`Cannot load the results: ${e.message}`);
      }
    }

    // Live updates: the page again, at most once every LIVE_EVERY_MS.
    function refresh() {
      if (later !== null) return;
      busy(true);
      later = setTimeout(load, Math.max(0, lastLoad + LIVE_EVERY_MS - performance.now()));
    }

    // A user's change of sort, filter or page: at once, from the first row when it asked.
    function reload(fromStart) {
      if (fromStart) view.offset = 0;
      load();
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

    function isFile(r) { return !r.kind || r.kind === 'file'; }

    // What the name column says of a URL, a domain or an IP address.
    function objectLine(r) {
      const parts = r.kind === 'url' ? [r.title, r.last_http_response_code ? `HTTP ${r.last_http_response_code}` : '']
        : r.kind === 'domain' ? [r.registrar, (r.creation_date || '').slice(0, 10)]
        : [r.as_owner, r.asn ? `AS${r.asn}` : '', r.country];
      return parts.filter(Boolean).join(', ');
    }

    function link(r) {
      if (!r.permalink || !r.permalink.startsWith('https://www.virustotal.com/')) return '';
      return el('a', { href: r.permalink, target: '_blank', rel: 'noopener noreferrer' }, 'open');
    }

    // The whole job's counts; each verdict is a chip that filters by it.
    function summary(counts) {
      const chip = v => {
        const b = el('button', { type: 'button', class: `count chip v-${v}`, 'data-verdict': v,
          'aria-pressed': String(view.verdict === v) }, `${counts.verdicts[v]} ${v}`);
        b.addEventListener('click', () => setVerdict(view.verdict === v ? '' : v));
        return b;
      };
      $('#summary').replaceChildren(
        el('span', { class: 'count total' }, `${counts.total} results`),
        ...VERDICTS.filter(v => counts.verdicts[v]).map(chip),
        ...(counts.cache_hits ? [el('span', { class: 'count muted' }, `${counts.cache_hits} from cache`)] : []));
    }

    function render(page) {
      summary(page.counts);
      const trs = [];
      const kept = new Map();
      for (const r of page.rows) {
        const tr = el('tr', { class: `row v-${r.verdict}`, 'data-input': r.input, 'data-index': r.index, tabIndex: 0 },
          // An indicator is text, never a link (a malicious URL must not be one click away);
          // its defanged form, when the text wrote it so, stays beside it.
          el('td', { class: 'hash' }, el('code', {}, r.input),
            ...(r.written ? [el('span', { class: 'written muted' }, ` (${r.written})`)] : [])),
          el('td', {}, el('span', { class: `verdict v-${r.verdict}` }, r.verdict)),
          el('td', {}, detections(r)),
          el('td', {}, r.threat_label || ''),
          el('td', {}, isFile(r) ? (r.type || '') : r.kind),
          el('td', { class: 'name' }, r.error || (isFile(r) ? (r.meaningful_name || (r.names && r.names[0])) : objectLine(r)) || ''),
          el('td', { class: 'date' }, (r.first_seen || '').slice(0, 10)),
          el('td', { class: 'date' }, (r.last_seen || '').slice(0, 10)),
          el('td', {}, link(r)));
        tr.addEventListener('click', ev => { if (ev.target.tagName !== 'A') toggle(tr, r); });
        tr.addEventListener('keydown', ev => { if (ev.key === 'Enter') toggle(tr, r); });
        trs.push(tr);
        const detail = open.get(r.input);
        if (detail) { tr.classList.add('open'); trs.push(detail); kept.set(r.input, detail); }
      }
      open.clear();
      kept.forEach((d, k) => open.set(k, d));
      $('#rows').replaceChildren(...trs);
      const total = page.counts.total, pages = Math.max(1, Math.ceil(page.matching / PAGE));
      const at = Math.floor(page.offset / PAGE);
      $('#shown').textContent = view.verdict || view.kind || view.q ? `${page.matching} of ${total} shown` : '';
      $('#page').textContent = `page ${at + 1} of ${pages}`;
      $('#prev').disabled = page.offset === 0;
      $('#next').disabled = at >= pages - 1;
      $('#verdict-filter').value = view.verdict;
      document.querySelectorAll('#report th[data-key]').forEach(th => {
        th.setAttribute('aria-sort', th.dataset.key === view.sort ? (view.order === 'asc' ? 'ascending' : 'descending') : 'none');
      });
      // Hooks for the browser tests: milliseconds since navigation of the first page and
      // of the latest, and the counts behind them.
      const now = Math.round(performance.now());
      if (!document.body.dataset.renderedMs) document.body.dataset.renderedMs = now;
      document.body.dataset.renderedAt = performance.now();
      document.body.dataset.rows = total;
      document.body.dataset.matching = page.matching;
    }

    async function toggle(tr, r) {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains('detail')) { next.remove(); tr.classList.remove('open'); open.delete(r.input); return; }
      tr.classList.add('open');
      const cell = el('td', { colSpan: 9 }, el('p', { class: 'muted' }, 'Loading engine results…'));
      const detail = el('tr', { class: 'detail' }, cell);
      tr.after(detail);
      open.set(r.input, detail);
      const facts = el('dl', { class: 'facts' });
      const fact = (k, v) => { if (v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length)) facts.append(el('dt', {}, k), el('dd', {}, Array.isArray(v) ? v.join(', ') : v)); };
      fact('md5', r.md5); fact('sha1', r.sha1); fact('sha256', r.sha256); fact('size', r.size);
      fact('names', r.names); fact('tags', r.tags); fact('reputation', r.reputation);
      fact('last analysis', r.last_analysis); fact('error', r.error);
      if (!isFile(r)) {
        fact('written as', r.written); fact('final URL', r.final_url); fact('title', r.title);
        fact('HTTP status', r.last_http_response_code); fact('categories', r.categories);
        fact('registrar', r.registrar); fact('created', r.creation_date);
        fact('DNS records', r.last_dns_records); fact('ASN', r.asn); fact('AS owner', r.as_owner);
        fact('country', r.country); fact('network', r.network);
        cell.replaceChildren(facts);
        return;
      }
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

    function setVerdict(v) { view.verdict = v; reload(true); }

    document.querySelectorAll('#report th[data-key]').forEach(th => th.addEventListener('click', () => {
      if (view.sort === th.dataset.key) view.order = view.order === 'asc' ? 'desc' : 'asc';
      else { view.sort = th.dataset.key; view.order = 'asc'; }
      reload(true);
    }));
    $('#verdict-filter').addEventListener('change', e => setVerdict(e.target.value));
    $('#kind-filter').addEventListener('change', e => { view.kind = e.target.value; reload(true); });
    $('#search').addEventListener('input', e => {
      clearTimeout(typing);
      busy(true);
      typing = setTimeout(() => {
        typing = null;
        const q = e.target.value.trim().toLowerCase();
        if (q === view.q) { busy(later !== null); return; }
        view.q = q;
        reload(true);
      }, TYPING_MS);
    });
    $('#prev').addEventListener('click', () => { view.offset = Math.max(0, view.offset - PAGE); reload(false); });
    $('#next').addEventListener('click', () => { view.offset += PAGE; reload(false); });

    // The first page loads at once, beside the event stream. The stream opens with the
    // job's true state: a state other than the one this page was rendered with (or the
    // last one seen) loads the page again; in between, rows only schedule a refresh.
    const rendered = $('#state').textContent.trim();
    load();
    const events = new EventSource(`/api/v1/jobs/${id}/events`);
    events.addEventListener('job', ev => {
      const j = JSON.parse(ev.data);
      if (j.state !== (state === null ? rendered : state)) load();
      setJob(j);
      if (j.state === 'done' || j.state === 'failed') { events.close(); refreshQuota(); }
    });
    events.addEventListener('open', () => { if (state !== null) refresh(); });
    events.addEventListener('row', () => refresh());
    events.addEventListener('keys', ev => renderKeys(JSON.parse(ev.data)));
    events.addEventListener('notice', ev => notice(JSON.parse(ev.data).message));
    events.addEventListener('resync', () => refresh());
  }

  document.addEventListener('DOMContentLoaded', () => {
    confirmDeletes();
    const page = document.body.dataset.page;
    if (page === 'front') front();
    if (page === 'job') job();
  });
})();
