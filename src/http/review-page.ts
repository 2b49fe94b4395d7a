/**
 * GET /review — the reviewers' page: one self-contained HTML document (no build step, no
 * external assets) that lists the queue with the time left to each request's deadline, shows a
 * request with its owner (asking for the basis the audit log needs), and confirms or rejects it
 * through the same API as everyone else. The token lives in sessionStorage only.
 *
 * In Russian, Kazakh or English: `?lang=ru|kk|en`, else the browser's Accept-Language, else
 * Russian. Reasons are shown from the reason catalogue with their code beside them; the
 * request's `detail` is shown as the results carry it (English, machine-oriented).
 */
import { LANGUAGES, type Language, REASON_CATALOGUE } from '../domain/reason-catalogue.js';
import { PAGE_TEXT, type PageText } from './review-page-text.js';

const DEFAULT_LANGUAGE: Language = 'ru';

function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/**
 * The page's language: `?lang=` when it names one, else the first of the browser's
 * Accept-Language ranges (by q, then order) that is Russian, Kazakh or English, else Russian.
 */
export function pickLanguage(query: unknown, acceptLanguage: string | undefined): Language {
  if (isLanguage(query)) return query;
  const ranges = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { primary: tag.trim().toLowerCase().split('-')[0] ?? '', weight, index };
    })
    .filter((r) => Number.isFinite(r.weight) && r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const range of ranges) if (isLanguage(range.primary)) return range.primary;
  return DEFAULT_LANGUAGE;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The page's styles, the same in every language (allowed by their hash: security-headers.ts). */
const STYLE = `<style>
  :root { font-family: system-ui, sans-serif; color: #1d2733; }
  body { margin: 0 auto; max-width: 80rem; padding: 1rem 1.5rem; }
  h1 { font-size: 1.3rem; }
  nav { float: right; font-size: .9rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #d8dee6; font-size: .9rem; }
  tr.selected { background: #eef4ff; }
  button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
  .panel { border: 1px solid #d8dee6; border-radius: .4rem; padding: .8rem 1rem; margin: 1rem 0; }
  .error { color: #a01616; }
  .muted { color: #64707d; }
  .code { color: #64707d; font-family: ui-monospace, monospace; font-size: .8rem; }
  .overdue { color: #a01616; font-weight: 600; }
  label { display: block; margin: .4rem 0; }
  input, textarea, select { font: inherit; }
</style>`;

/** The page's script, the same in every language: its words come in `T` and `REASONS`. */
const SCRIPT = `const $ = (id) => document.getElementById(id);
let selected = null;
const token = () => sessionStorage.getItem('imeiflow-token') || '';
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { authorization: 'Bearer ' + token(), ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}
function fill(template, values) { return template.replace(/\\{(\\w+)\\}/g, (_, key) => String(values[key])); }
function cell(text) { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); return td; }
// A reason (or stage) in this page's language, with its code: the code is what results carry.
function reasonCell(code) {
  const td = cell(REASONS[code] || code);
  const small = document.createElement('span');
  small.className = 'code';
  small.textContent = ' ' + code;
  td.append(small);
  return td;
}
// A KGD status in this page's language, with the status as KGD's data carries it.
function statusCell(status) {
  const td = cell(T.statuses[status] || status);
  const small = document.createElement('span');
  small.className = 'code';
  small.textContent = ' ' + status;
  td.append(small);
  return td;
}
// Times come from the server in Astana time with their offset: shown as the date and the minute.
function astana(iso) { return iso ? iso.slice(0, 16).replace('T', ' ') : '—'; }
// Time to the request's deadline (one working day from receipt), as the server counted it; negative: overdue.
function duration(seconds) {
  const minutes = Math.floor(Math.abs(seconds) / 60);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  return d > 0 ? d + ' ' + T.days + ' ' + h + ' ' + T.hours : h > 0 ? h + ' ' + T.hours + ' ' + m + ' ' + T.minutes : m + ' ' + T.minutes;
}
function remainingText(seconds) { return seconds < 0 ? fill(T.overdue, { time: duration(seconds) }) : duration(seconds); }
function remainingCell(seconds) {
  const td = cell(remainingText(seconds));
  td.className = seconds < 0 ? 'remaining overdue' : 'remaining';
  return td;
}
// Loads are numbered: an answer that arrives after a later load of the same part was asked for
// is dropped, so a slow answer never replaces a newer one (the list of another stage, or the
// evidence of the request opened before).
let listLoads = 0;
let evidenceLoads = 0;
async function refresh() {
  const load = ++listLoads;
  $('list-error').textContent = '';
  try {
    const data = await api('/v1/reviews?stage=' + $('stage').value);
    if (load !== listLoads) return;
    $('count').textContent = fill(T.waiting, { n: data.total });
    const rows = $('rows');
    rows.replaceChildren();
    for (const item of data.items) {
      const tr = document.createElement('tr');
      tr.dataset.requestId = item.requestId;
      for (const value of [item.requestId, item.imei, item.operator]) tr.append(cell(value));
      tr.append(reasonCell(item.stage), reasonCell(item.reason));
      tr.append(cell(astana(item.receivedAt)), cell(astana(item.due)), remainingCell(item.remainingSeconds));
      const open = document.createElement('button');
      open.textContent = T.open;
      open.addEventListener('click', () => select(item, tr));
      const td = document.createElement('td'); td.append(open); tr.append(td);
      rows.append(tr);
    }
  } catch (error) { if (load === listLoads) $('list-error').textContent = error.message; }
}
function select(item, tr) {
  selected = item;
  document.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
  tr.classList.add('selected');
  $('detail').hidden = false;
  $('detail-title').textContent = item.requestId + ' — ' + item.imei;
  $('detail-reason').textContent = (REASONS[item.reason] || item.reason) + ' (' + item.reason + ')';
  $('detail-text').textContent = item.detail + (item.applicationId ? ' (' + T.application + ' ' + item.applicationId + ')' : '');
  $('detail-due').textContent = T.columns[6] + ': ' + astana(item.due) + ' · ' + remainingText(item.remainingSeconds);
  $('owner').textContent = '';
  $('decision').textContent = '';
  $('override').checked = false;
  $('override-line').hidden = item.stage !== 'awaiting_kgd';
  showEvidence({});
}
// The evidence: the device's declarations and the registration in conflict; personal data masked
// unless a basis is given (the server audits that read).
async function showEvidence(headers) {
  const load = ++evidenceLoads;
  const rows = $('declaration-rows');
  rows.replaceChildren();
  $('conflict').textContent = '';
  try {
    const data = await api('/v1/reviews/' + encodeURIComponent(selected.requestId), { headers });
    if (load !== evidenceLoads) return;
    const declarations = data.declarations || [];
    if (declarations.length === 0) {
      const tr = document.createElement('tr');
      const td = cell(T.noDeclarations); td.colSpan = 5; td.className = 'muted'; tr.append(td);
      rows.append(tr);
    }
    for (const d of declarations) {
      const tr = document.createElement('tr');
      tr.append(cell(d.applicationId ?? '—'), cell(d.procedure ?? 'ЕАЭС'), statusCell(d.status), cell(d.hsCode ?? '—'), cell(astana(d.decidedAt)));
      rows.append(tr);
    }
    if (data.conflict) {
      const c = data.conflict;
      $('conflict').textContent = fill(T.conflict, { operator: c.operator || '—', requestId: c.requestId, at: astana(c.registeredAt), evidence: c.evidence, owner: c.ownerId || '—', phone: c.msisdn || '—' });
    }
    $('owner').textContent = fill(T.owner, { owner: data.ownerId || '—', phone: data.msisdn || '—' });
  } catch (error) { if (load === evidenceLoads) $('owner').textContent = error.message; }
}
function showOwner() { showEvidence({ 'x-basis': $('basis').value }); }
async function decide(decision) {
  // The request decided, whichever is open when the answer comes.
  const item = selected;
  try {
    await api('/v1/reviews/' + encodeURIComponent(item.requestId), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision, reason: $('reason').value, ...($('override').checked ? { override: true } : {}) }),
    });
    $('decision').textContent = (decision === 'confirm' ? T.confirmed : T.rejected) + ': ' + item.requestId;
    setTimeout(refresh, 500);
  } catch (error) { $('decision').textContent = error.message; }
}
$('save-token').addEventListener('click', () => { sessionStorage.setItem('imeiflow-token', $('token').value.trim()); $('token').value = ''; refresh(); });
$('refresh').addEventListener('click', refresh);
$('stage').addEventListener('change', refresh);
$('show-owner').addEventListener('click', showOwner);
$('confirm').addEventListener('click', () => decide('confirm'));
$('reject').addEventListener('click', () => decide('reject'));
if (token()) refresh();`;

/** The reason catalogue in one language, for the script. */
function reasonsIn(language: Language): Record<string, string> {
  return Object.fromEntries(Object.entries(REASON_CATALOGUE).map(([code, texts]) => [code, texts[language]]));
}

/** The links to the page in the other languages. */
function languageSwitcher(language: Language): string {
  return LANGUAGES.map((l) =>
    l === language
      ? `<strong aria-current="true">${escapeHtml(PAGE_TEXT[l].languageName)}</strong>`
      : `<a href="?lang=${l}" hreflang="${l}" lang="${l}">${escapeHtml(PAGE_TEXT[l].languageName)}</a>`,
  ).join(' · ');
}

/** The visible page: the languages, the token, the queue and the selected request. */
function pageBody(language: Language, t: PageText): string {
  const h = (text: string) => escapeHtml(text);
  const switcher = languageSwitcher(language);
  return `<nav id="languages">${switcher}</nav>
<h1>${h(t.heading)}</h1>
<div class="panel" id="login">
  <label>${h(t.token)} <input id="token" type="password" size="60" autocomplete="off"></label>
  <button id="save-token">${h(t.useToken)}</button>
</div>
<div class="panel">
  <label>${h(t.show)} <select id="stage"><option value="review">${h(t.showReview)}</option><option value="all">${h(t.showAll)}</option></select></label>
  <button id="refresh">${h(t.refresh)}</button> <span id="count" class="muted"></span>
  <p id="list-error" class="error" role="alert"></p>
  <table>
    <thead><tr>${t.columns.map((c) => `<th>${h(c)}</th>`).join('')}<th></th></tr></thead>
    <tbody id="rows"></tbody>
  </table>
</div>
<div class="panel" id="detail" hidden>
  <h2 id="detail-title"></h2>
  <p id="detail-reason"></p>
  <p id="detail-text" class="muted"></p>
  <p id="detail-due"></p>
  <h3>${h(t.declarations)}</h3>
  <table id="declarations">
    <thead><tr>${t.declarationColumns.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead>
    <tbody id="declaration-rows"></tbody>
  </table>
  <p id="conflict"></p>
  <label>${h(t.basis)} <input id="basis" size="40"></label>
  <button id="show-owner">${h(t.showOwner)}</button>
  <p id="owner" class="muted"></p>
  <label>${h(t.reason)} <textarea id="reason" rows="2" cols="60"></textarea></label>
  <label id="override-line" hidden><input id="override" type="checkbox"> ${h(t.override)}</label>
  <button id="confirm">${h(t.confirm)}</button> <button id="reject">${h(t.reject)}</button>
  <p id="decision" role="status"></p>
</div>`;
}

function render(language: Language): string {
  const t = PAGE_TEXT[language];
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(t.title)}</title>
${STYLE}
</head>
<body>
${pageBody(language, t)}
<script>
const T = ${scriptJson(t)};
const REASONS = ${scriptJson(reasonsIn(language))};
${SCRIPT}
</script>
</body>
</html>
`;
}

const PAGES: Readonly<Record<Language, string>> = {
  ru: render('ru'),
  kk: render('kk'),
  en: render('en'),
};

/** The page in one language (rendered once, at start-up). */
export function reviewPage(language: Language): string {
  return PAGES[language];
}
