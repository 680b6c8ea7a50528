// cotlab's browser page: the wasm package (pkg/, built by www/build.sh) does all the computing;
// this file reads files, caches them, and draws. Each section of index.html has one block here.
import init, { Session, version, shardFiles } from './pkg/cotlab_web.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CACHE = 'cotlab-files-v1';
// Files picked from a folder are kept in the Cache API under these synthetic URLs.
const LOCAL = new URL('./__cotlab_local__/', location.href).href;
const MANIFEST = '.cotlab-manifest.json';

let session = null;
let samples = [];
let busy = false;

// ------------------------------------------------------------------ messages

function showError(e) {
  const el = $('error');
  el.hidden = false;
  el.textContent = (e && e.message) || String(e);
  console.error(e);
}
function clearError() { $('error').hidden = true; }
function setStatus(text, state) { const s = $('model-status'); s.textContent = text; s.dataset.state = state; }
const mib = (b) => `${Math.round(b / 1048576)} MiB`;

/** Run an action with buttons locked; errors go to the banner. */
async function guarded(action) {
  if (busy) { showError(new Error('Busy: wait for the running generation or training to finish.')); return; }
  busy = true;
  document.querySelectorAll('button').forEach((b) => { b.dataset.wasDisabled = b.disabled; b.disabled = true; });
  clearError();
  try { return await action(); } catch (e) { showError(e); throw e; } finally {
    document.querySelectorAll('button').forEach((b) => { b.disabled = b.dataset.wasDisabled === 'true'; });
    busy = false;
  }
}

// ------------------------------------------------------------------ files and the cache

async function openCache() { return 'caches' in self ? caches.open(CACHE) : null; }

/** The bytes at `url`, from the Cache API when present, else fetched and cached. */
async function cachedBytes(url, { optional = false } = {}) {
  const cache = await openCache();
  const hit = cache && (await cache.match(url));
  if (hit) return new Uint8Array(await hit.arrayBuffer());
  if (url.startsWith(LOCAL)) throw new Error(`${url.slice(LOCAL.length)} is no longer in the browser cache: pick the folder again`);
  const resp = await fetch(url);
  if (!resp.ok) {
    if (optional && resp.status === 404) return null;
    throw new Error(`${url}: HTTP ${resp.status} ${resp.statusText}`);
  }
  const buf = await resp.arrayBuffer();
  if (cache) await cache.put(url, new Response(buf.slice(0)));
  return new Uint8Array(buf);
}
async function putCached(url, bytes) { const c = await openCache(); if (c) await c.put(url, new Response(bytes)); }
async function cachedJson(url) {
  const c = await openCache(); const hit = c && (await c.match(url));
  return hit ? hit.json() : null;
}

function remember(key, entry) {
  const list = JSON.parse(localStorage.getItem(key) || '[]').filter((e) => e.name !== entry.name);
  list.push(entry);
  localStorage.setItem(key, JSON.stringify(list));
}
const remembered = (key) => JSON.parse(localStorage.getItem(key) || '[]');
const withSlash = (u) => (u.endsWith('/') ? u : u + '/');
const lastSegment = (u) => decodeURIComponent(withSlash(u).split('/').slice(-2, -1)[0] || 'model');

// ------------------------------------------------------------------ device

async function startSession(backend) {
  if (backend === 'webgpu' && !('gpu' in navigator)) {
    $('device').className = 'banner bad';
    $('device').textContent = 'WebGPU is not available in this browser (navigator.gpu is missing). Use Chrome or Edge 113+, ' +
      'Safari 26+ or Firefox 141+ (on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu), or pick the CPU backend (slow; tiny models only).';
    $('backend').value = 'cpu';
    backend = 'cpu';
  }
  session = await Session.create(backend);
  window.cotlabApp.session = session;
  const d = session.device();
  $('device').className = 'banner';
  $('device').dataset.backend = d.backend;
  $('device').dataset.kernels = d.kernels;
  $('device').textContent = d.limits
    ? `WebGPU: ${d.limits.adapter} (${d.limits.backend}) · maxStorageBufferBindingSize ${mib(d.limits.maxStorageBufferBindingSize)} · ` +
      `maxBufferSize ${mib(d.limits.maxBufferSize)} · shader-f16 ${d.limits.shaderF16 ? 'yes' : 'no'} · kernels: ${d.kernels}. Larger vocabulary matrices are split to fit.`
    : `CPU backend (burn Flex in WebAssembly): ${d.description}`;
}

// ------------------------------------------------------------------ model and adapters

/** Load the model whose files are at `base` (a URL or a cached local folder). */
async function loadModel(base) {
  base = withSlash(new URL(base, location.href).href);
  const name = lastSegment(base);
  setStatus(`Loading ${name}…`, 'loading');
  let manifest = await cachedJson(base + MANIFEST);
  if (!manifest) {
    const index = await cachedBytes(base + 'model.safetensors.index.json', { optional: true });
    manifest = { shards: index ? shardFiles(index) : ['model.safetensors'] };
  }
  const files = { name, config: await cachedBytes(base + 'config.json'), tokenizer: await cachedBytes(base + 'tokenizer.json'), shards: [] };
  let total = files.config.length + files.tokenizer.length;
  for (const f of manifest.shards) {
    setStatus(`Loading ${name}: ${f}…`, 'loading');
    const bytes = await cachedBytes(base + f);
    total += bytes.length;
    files.shards.push({ file: f, bytes });
  }
  setStatus(`Uploading ${name} (${mib(total)}) to the device…`, 'loading');
  await new Promise((r) => setTimeout(r, 0));
  const t0 = performance.now();
  const info = session.loadModel(files, 'f32');
  await putCached(base + MANIFEST, JSON.stringify(manifest));
  remember('cotlab-models', { name, base });
  refreshCachedList();
  setStatus(`${info.name}: ${info.layers} layers, hidden ${info.hiddenSize}, vocabulary ${info.vocabSize} ` +
    `(embedding in ${info.embeddingBlocks} block${info.embeddingBlocks > 1 ? 's' : ''}), ${(info.parameters / 1e6).toFixed(1)} M parameters, ` +
    `${info.dtype}; loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`, 'ready');
  for (const a of remembered('cotlab-adapters')) {
    try { await loadAdapter(a.name, a.base); } catch (e) { showError(e); }
  }
  renderMasks();
}

async function loadAdapter(name, base) {
  base = withSlash(new URL(base, location.href).href);
  const config = await cachedBytes(base + 'adapter_config.json');
  const weights = await cachedBytes(base + 'adapter_model.safetensors');
  session.loadAdapter(name, config, weights);
  remember('cotlab-adapters', { name, base });
  refreshAdapters();
}

/** Folder pickers: copy the files into the cache under LOCAL/<folder>/, return the folders. */
async function cacheFolder(fileList, prefix, marker) {
  const byDir = new Map();
  for (const f of fileList) {
    const parts = f.webkitRelativePath.split('/');
    const dir = parts.slice(0, -1).join('/');
    if (!byDir.has(dir)) byDir.set(dir, []);
    byDir.get(dir).push(f);
  }
  const dirs = [...byDir.entries()].filter(([, files]) => files.some((f) => f.name === marker));
  if (!dirs.length) throw new Error(`The chosen folder has no ${marker}; pick the folder that holds it`);
  const out = [];
  for (const [dir, files] of dirs) {
    const name = dir.split('/').filter((p) => p !== 'adapter').pop() || dir;
    const base = `${LOCAL}${prefix}${encodeURIComponent(name)}/`;
    for (const f of files) {
      if (/\.(json|safetensors)$/.test(f.name)) await putCached(base + f.name, new Uint8Array(await f.arrayBuffer()));
    }
    out.push({ name, base });
  }
  return out;
}

function refreshCachedList() {
  const sel = $('cached-models');
  sel.innerHTML = '<option value="">—</option>';
  for (const m of remembered('cotlab-models')) sel.add(new Option(m.base.startsWith(LOCAL) ? `${m.name} (folder)` : m.base, m.base));
}

function refreshAdapters() {
  const list = session ? session.adapters() : [];
  const ul = $('adapter-list');
  ul.innerHTML = '';
  for (const a of list) {
    const li = document.createElement('li');
    li.textContent = `${a.name}: rank ${a.r}, alpha ${a.loraAlpha}, ${a.targetModules.join(', ')} `;
    const rm = document.createElement('button');
    rm.textContent = 'remove';
    rm.className = 'quiet';
    rm.onclick = () => {
      session.unloadAdapter(a.name);
      localStorage.setItem('cotlab-adapters', JSON.stringify(remembered('cotlab-adapters').filter((e) => e.name !== a.name)));
      refreshAdapters();
    };
    li.append(rm);
    ul.append(li);
  }
  const sel = $('compare-adapter');
  const keep = sel.value;
  sel.innerHTML = '<option value="">base model</option>';
  for (const a of list) sel.add(new Option(a.name, a.name));
  sel.value = list.some((a) => a.name === keep) ? keep : '';
}

// ------------------------------------------------------------------ think vs no-think

function splitThinking(text) {
  const body = text.replace(/^\n+/, '');
  const close = body.indexOf('</think>');
  if (close >= 0) {
    let th = body.slice(0, close).trimStart();
    if (th.startsWith('<think>')) th = th.slice(7);
    return [th.replace(/^\n+|\n+$/g, ''), body.slice(close + 8).replace(/^\n+/, '')];
  }
  if (body.startsWith('<think>')) return [body.slice(7).replace(/^\n+/, ''), ''];
  return ['', text];
}

function fillPane(el, thinking, answer) {
  el.querySelector('.thinking-text').textContent = thinking;
  el.querySelector('.answer').textContent = answer;
}

function request(maxNewTokens) {
  const greedy = $('greedy').checked;
  const base = { prompt: $('prompt').value, system: $('system').value || undefined };
  return {
    prompts: [{ ...base, mode: 'think' }, { ...base, mode: 'no-think' }],
    greedy,
    temperature: greedy ? undefined : Number($('temperature').value),
    topP: greedy ? undefined : Number($('top-p').value),
    topK: greedy ? undefined : Number($('top-k').value),
    maxNewTokens: maxNewTokens ?? Number($('max-new-tokens').value),
    seed: 0,
  };
}

async function generateBoth() {
  const panes = [$('pane-think'), $('pane-no-think')];
  session.useAdapter($('compare-adapter').value || null);
  panes.forEach((p) => { p.dataset.state = 'running'; fillPane(p, '', ''); p.querySelector('.tps').textContent = ''; });
  const t0 = performance.now();
  const results = await session.generate(request(), (ev) => {
    const [thinking, answer] = splitThinking(ev.text);
    fillPane(panes[ev.row], thinking, answer);
    const s = (performance.now() - t0) / 1000;
    panes[ev.row].querySelector('.tps').textContent = `${ev.count} tokens · ${(ev.count / s).toFixed(1)} tokens/s`;
  });
  const s = (performance.now() - t0) / 1000;
  for (const r of results) {
    const p = panes[r.row];
    fillPane(p, r.thinking, r.answer);
    p.querySelector('.tps').textContent = `${r.tokenIds.length} tokens · ${(r.tokenIds.length / s).toFixed(1)} tokens/s · ${r.finishReason}`;
    p.dataset.tokenIds = JSON.stringify(r.tokenIds);
    p.dataset.state = 'done';
  }
  return results;
}

// ------------------------------------------------------------------ base vs adapters

async function runGrid() {
  const grid = $('grid');
  grid.dataset.state = 'running';
  const body = grid.querySelector('tbody');
  body.innerHTML = '';
  const names = [null, ...session.adapters().map((a) => a.name)];
  const req = { ...request(), greedy: true };
  for (const name of names) {
    const tr = body.insertRow();
    tr.dataset.adapter = name ?? 'base';
    tr.insertCell().textContent = name ?? 'base model';
    const cells = [tr.insertCell(), tr.insertCell()];
    cells.forEach((c) => { c.textContent = '…'; });
    session.useAdapter(name);
    const results = await session.generate(req, (ev) => { cells[ev.row].textContent = splitThinking(ev.text)[1] || '…'; });
    for (const r of results) {
      const c = cells[r.row];
      c.innerHTML = '';
      c.dataset.tokenIds = JSON.stringify(r.tokenIds);
      c.dataset.mode = r.mode;
      if (r.thinking) {
        const d = document.createElement('details');
        d.innerHTML = '<summary>thinking</summary><pre class="thinking-text"></pre>';
        d.querySelector('pre').textContent = r.thinking;
        c.append(d);
      }
      const pre = document.createElement('pre');
      pre.textContent = r.answer;
      c.append(pre);
    }
  }
  session.useAdapter($('compare-adapter').value || null);
  grid.dataset.state = 'done';
}

// ------------------------------------------------------------------ masks

function renderMasks() {
  const box = $('masks');
  box.innerHTML = '';
  const rec = samples[Number($('mask-record').value) || 0];
  if (!session || !session.modelInfo() || !rec) { box.textContent = 'Load a model to see the masks (they need its tokenizer).'; return; }
  for (const m of session.paradigmMasks(rec)) {
    const row = document.createElement('div');
    row.className = 'mask-row';
    row.dataset.paradigm = m.paradigm;
    row.dataset.ids = JSON.stringify(m.tokens.map((t) => t.id));
    row.dataset.labels = JSON.stringify(m.tokens.map((t) => (t.loss ? 1 : 0)));
    const h = document.createElement('h4');
    h.textContent = `${m.paradigm}: ${m.tokens.length} tokens, ${m.tokens.filter((t) => t.loss).length} with loss`;
    row.append(h);
    for (const t of m.tokens) {
      const span = document.createElement('span');
      span.className = `tok ${t.loss ? 'loss' : 'ctx'}`;
      span.textContent = t.text;
      span.title = `id ${t.id}${t.loss ? ' · loss' : ''}`;
      row.append(span);
    }
    box.append(row);
  }
}

// ------------------------------------------------------------------ training

function drawCurve(losses) {
  const svg = $('loss-curve');
  const [w, h, pad] = [400, 160, 24];
  const max = Math.max(...losses), min = Math.min(...losses);
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, losses.length - 1);
  const y = (v) => h - pad - ((v - min) / (max - min || 1)) * (h - 2 * pad);
  const pts = losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  svg.innerHTML =
    `<polyline fill="none" stroke="#2c6bd6" stroke-width="2" points="${pts}"/>` +
    losses.map((v, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="#2c6bd6"/>`).join('') +
    `<text x="4" y="14" font-size="11">${max.toFixed(3)}</text><text x="4" y="${h - 6}" font-size="11">${min.toFixed(3)}</text>` +
    `<text x="${w - 60}" y="${h - 6}" font-size="11">step ${losses.length}</text>`;
}

async function train() {
  const paradigm = $('train-paradigm').value;
  const steps = Number($('train-steps').value);
  const lr = Number($('train-lr').value);
  const log = $('train-log');
  log.innerHTML = '';
  log.dataset.state = 'running';
  session.trainStart({ paradigm, rank: Number($('train-rank').value), alpha: Number($('train-alpha').value), seed: 0 });
  const losses = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const r = await session.trainStep(samples, lr);
    const s = (performance.now() - t0) / 1000;
    losses.push(r.loss);
    drawCurve(losses);
    const li = document.createElement('li');
    li.textContent = `loss ${r.loss.toFixed(4)} · grad-norm ${r.gradNorm.toFixed(3)} · ${(r.tokens / s).toFixed(0)} tokens/s`;
    log.append(li);
    log.dataset.losses = JSON.stringify(losses);
  }
  const name = `browser-${paradigm}`;
  await session.trainSave(name);
  refreshAdapters();
  $('compare-adapter').value = name;
  $('train-download').dataset.adapter = name;
  $('train-download').disabled = false;
  log.dataset.state = 'done';
}

function download(name, bytes) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes]));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ------------------------------------------------------------------ wiring

async function main() {
  window.cotlabApp = { ready: false };
  await init();
  $('version').textContent = `v${version()}`;
  $('version2').textContent = version();
  samples = (await (await fetch('sample.jsonl')).text()).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  samples.forEach((r, i) => $('mask-record').add(new Option(`${r.id}: ${r.question}`, i)));
  refreshCachedList();
  $('backend').value = params.get('backend') || 'webgpu';
  try { await startSession($('backend').value); } catch (e) { showError(e); }

  $('backend').onchange = () => guarded(async () => { await startSession($('backend').value); setStatus('No model loaded.', 'none'); refreshAdapters(); });
  $('model-load-url').onclick = () => guarded(() => loadModel($('model-url').value.trim()));
  $('model-load-cached').onclick = () => guarded(() => loadModel($('cached-models').value));
  $('model-folder').onchange = (ev) => guarded(async () => {
    const [m] = await cacheFolder(ev.target.files, 'models/', 'config.json');
    await loadModel(m.base);
  });
  $('adapter-load-url').onclick = () => guarded(() =>
    loadAdapter($('adapter-name').value.trim() || lastSegment($('adapter-url').value), $('adapter-url').value.trim()));
  $('adapter-folder').onchange = (ev) => guarded(async () => {
    for (const a of await cacheFolder(ev.target.files, 'adapters/', 'adapter_config.json')) await loadAdapter(a.name, a.base);
  });
  $('cache-clear').onclick = async () => {
    await caches.delete(CACHE);
    localStorage.removeItem('cotlab-models');
    localStorage.removeItem('cotlab-adapters');
    refreshCachedList();
  };
  $('generate').onclick = () => guarded(generateBoth);
  $('grid-run').onclick = () => guarded(runGrid);
  $('mask-record').onchange = () => { try { renderMasks(); } catch (e) { showError(e); } };
  $('train-run').onclick = () => guarded(train);
  $('train-download').onclick = () => {
    const name = $('train-download').dataset.adapter;
    const files = session.exportAdapter(name);
    download(`${name}-adapter_config.json`, files.config);
    download(`${name}-adapter_model.safetensors`, files.weights);
  };
  renderMasks();

  // Deep links (also what the browser test uses): ?model=URL&adapter=name=URL…
  if (params.get('model') && session) {
    try {
      await guarded(async () => {
        await loadModel(params.get('model'));
        for (const spec of params.getAll('adapter')) {
          const [name, url] = spec.split('=');
          await loadAdapter(name, url);
        }
      });
    } catch (e) { setStatus(e.message || String(e), 'error'); }
  }
  window.cotlabApp.ready = true;
}

main().catch(showError);
