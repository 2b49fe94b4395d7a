/**
 * GET /review — the reviewers' page: one self-contained HTML document (no build step, no
 * external assets) that lists the queue, shows a request with its owner (asking for the basis
 * the audit log needs), and confirms or rejects it through the same API as everyone else.
 * The token lives in sessionStorage only.
 */
export const REVIEW_PAGE = `<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imeiflow — ручная проверка / review</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2733; }
  body { margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem; }
  h1 { font-size: 1.3rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #d8dee6; font-size: .9rem; }
  tr.selected { background: #eef4ff; }
  button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
  .panel { border: 1px solid #d8dee6; border-radius: .4rem; padding: .8rem 1rem; margin: 1rem 0; }
  .error { color: #a01616; }
  .muted { color: #64707d; }
  .overdue { color: #a01616; font-weight: 600; }
  label { display: block; margin: .4rem 0; }
  input, textarea, select { font: inherit; }
</style>
</head>
<body>
<h1>imeiflow — очередь ручной проверки / review queue</h1>
<div class="panel" id="login">
  <label>Bearer token <input id="token" type="password" size="60" autocomplete="off"></label>
  <button id="save-token">Use token</button>
</div>
<div class="panel">
  <label>Show <select id="stage"><option value="review">waiting for a reviewer</option><option value="all">all waiting requests</option></select></label>
  <button id="refresh">Refresh</button> <span id="count" class="muted"></span>
  <p id="list-error" class="error" role="alert"></p>
  <table>
    <thead><tr><th>requestId</th><th>IMEI</th><th>operator</th><th>stage</th><th>reason</th><th>since</th><th>time left</th><th></th></tr></thead>
    <tbody id="rows"></tbody>
  </table>
</div>
<div class="panel" id="detail" hidden>
  <h2 id="detail-title"></h2>
  <p id="detail-text"></p>
  <label>Basis (case or ticket number, recorded in the audit log) <input id="basis" size="40"></label>
  <button id="show-owner">Show owner</button>
  <p id="owner" class="muted"></p>
  <label>Reason <textarea id="reason" rows="2" cols="60"></textarea></label>
  <button id="confirm">Confirm</button> <button id="reject">Reject</button>
  <p id="decision" role="status"></p>
</div>
<script>
const $ = (id) => document.getElementById(id);
let selected = null;
const token = () => sessionStorage.getItem('imeiflow-token') || '';
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { authorization: 'Bearer ' + token(), ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}
function cell(text) { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); return td; }
// Time left until the stage's deadline (one working day), as the server counted it.
function duration(seconds) {
  const minutes = Math.floor(Math.abs(seconds) / 60);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  return d > 0 ? d + ' d ' + h + ' h' : h > 0 ? h + ' h ' + m + ' min' : m + ' min';
}
function remainingCell(seconds) {
  const td = cell(seconds < 0 ? 'overdue by ' + duration(seconds) : duration(seconds));
  td.className = seconds < 0 ? 'remaining overdue' : 'remaining';
  return td;
}
async function refresh() {
  $('list-error').textContent = '';
  try {
    const data = await api('/v1/reviews?stage=' + $('stage').value);
    $('count').textContent = data.total + ' waiting';
    const rows = $('rows');
    rows.replaceChildren();
    for (const item of data.items) {
      const tr = document.createElement('tr');
      tr.dataset.requestId = item.requestId;
      for (const value of [item.requestId, item.imei, item.operator, item.stage, item.reason, item.since]) tr.append(cell(value));
      tr.append(remainingCell(item.remainingSeconds));
      const open = document.createElement('button');
      open.textContent = 'Open';
      open.addEventListener('click', () => select(item, tr));
      const td = document.createElement('td'); td.append(open); tr.append(td);
      rows.append(tr);
    }
  } catch (error) { $('list-error').textContent = error.message; }
}
function select(item, tr) {
  selected = item;
  document.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
  tr.classList.add('selected');
  $('detail').hidden = false;
  $('detail-title').textContent = item.requestId + ' — ' + item.imei;
  $('detail-text').textContent = item.detail + (item.applicationId ? ' (application ' + item.applicationId + ')' : '');
  $('owner').textContent = '';
  $('decision').textContent = '';
}
async function showOwner() {
  try {
    const data = await api('/v1/reviews/' + encodeURIComponent(selected.requestId), { headers: { 'x-basis': $('basis').value } });
    $('owner').textContent = 'owner ' + (data.ownerId || '—') + ', phone ' + (data.msisdn || '—');
  } catch (error) { $('owner').textContent = error.message; }
}
async function decide(decision) {
  try {
    await api('/v1/reviews/' + encodeURIComponent(selected.requestId), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision, reason: $('reason').value }),
    });
    $('decision').textContent = (decision === 'confirm' ? 'Confirmed' : 'Rejected') + ': ' + selected.requestId;
    setTimeout(refresh, 500);
  } catch (error) { $('decision').textContent = error.message; }
}
$('save-token').addEventListener('click', () => { sessionStorage.setItem('imeiflow-token', $('token').value.trim()); $('token').value = ''; refresh(); });
$('refresh').addEventListener('click', refresh);
$('stage').addEventListener('change', refresh);
$('show-owner').addEventListener('click', showOwner);
$('confirm').addEventListener('click', () => decide('confirm'));
$('reject').addEventListener('click', () => decide('reject'));
if (token()) refresh();
</script>
</body>
</html>
`;
