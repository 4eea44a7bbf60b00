// Measures the browser verifier in headless Chromium (real time, not virtual time).
//
//   cargo run --example draw2_scale -- 10000 /tmp/b10k        # /tmp/b10k.{auditor,public}.json
//   mkdir -p /tmp/vp/verify && cp static/verify/*.{html,js,css} /tmp/vp/verify/ && cp /tmp/b10k.*.json /tmp/vp/
//   (cd /tmp/vp && python3 -m http.server 8742 --bind 127.0.0.1 &)
//   chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
//     --no-first-run --user-data-dir=$(mktemp -d) --remote-debugging-port=9333 about:blank &
//   node --experimental-websocket examples/verify_page_timing.mjs \
//     'http://127.0.0.1:8742/verify/?bundle=/b10k.public.json'
//
// Prints the verdict, the page's own figure (performance.now() around the whole check,
// fetch excluded) and the wall time since navigation (module loading and fetch included).
const url = process.argv[2];
const list = await (await fetch('http://127.0.0.1:9333/json/new?about:blank', { method: 'PUT' })).json();
const ws = new WebSocket(list.webSocketDebuggerUrl);
let id = 0; const pending = new Map();
ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } };
await new Promise((r) => (ws.onopen = r));
const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
await send('Page.enable');
const t0 = Date.now();
await send('Page.navigate', { url });
for (;;) {
  const r = await send('Runtime.evaluate', { expression: "(() => { const v = document.getElementById('verdict'); return v ? v.dataset.status + ' ' + (v.dataset.ms || '') + ' ' + v.textContent.slice(0, 80) : 'none'; })()", returnByValue: true });
  const v = r.result && r.result.result && r.result.result.value || '';
  if (v.startsWith('ok') || v.startsWith('fail')) { console.log(v, '| wall since navigate', Date.now() - t0, 'ms'); break; }
  await new Promise((r) => setTimeout(r, 20));
}
ws.close();
