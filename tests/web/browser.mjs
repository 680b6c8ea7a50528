// Drives www/ in headless Chromium (the Debian package, SwiftShader WebGPU) for tests/browser.rs.
// Usage: node tests/web/browser.mjs SPEC.json OUT.json
// SPEC: {www, model, adapter, prompt, maxNewTokens, trainSteps, trainLr, screenshot}
// Serves www/ at /, the model folder at /fixture/model/ and the adapter at /fixture/adapter/,
// clicks through the page like a user and writes what the page shows (token ids, masks,
// losses, requests made on reload) to OUT.json; the Rust test asserts on it.
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join, extname, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const [specPath, outPath] = process.argv.slice(2);
const spec = JSON.parse(await readFile(specPath, 'utf8'));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.jsonl': 'text/plain' };

let fixtureRequests = 0;
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file;
  if (path.startsWith('/fixture/model/')) { fixtureRequests++; file = join(spec.model, normalize(path.slice(15))); }
  else if (path.startsWith('/fixture/adapter/')) { fixtureRequests++; file = join(spec.adapter, normalize(path.slice(17))); }
  else file = join(spec.www, normalize(path === '/' ? 'index.html' : path.slice(1)));
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const log = [];
const out = { log };
let exitCode = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(spec.timeoutMs || 600000);
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));

  const url = `http://127.0.0.1:${port}/index.html?model=/fixture/model/&adapter=native=/fixture/adapter/`;
  const ready = async () => {
    await page.waitForFunction(() => window.cotlabApp && window.cotlabApp.ready === true);
    const status = await page.$eval('#model-status', (e) => ({ state: e.dataset.state, text: e.textContent }));
    const error = await page.$eval('#error', (e) => (e.hidden ? null : e.textContent));
    if (status.state !== 'ready') throw new Error(`model not ready: ${status.text} ${error || ''}`);
  };
  /** Wait until `selector`'s data-state is done, failing fast when the error banner shows. */
  const done = (selector) => page.waitForFunction((sel) => {
    const err = document.getElementById('error');
    if (!err.hidden) throw new Error(`page error: ${err.textContent}`);
    return [...document.querySelectorAll(sel)].every((e) => e.dataset.state === 'done');
  }, selector, { polling: 250 });

  await page.goto(url);
  await ready();
  out.device = await page.$eval('#device', (e) => ({ backend: e.dataset.backend, kernels: e.dataset.kernels, text: e.textContent }));
  out.modelStatus = await page.$eval('#model-status', (e) => e.textContent);

  // Think vs no-think, base model, greedy.
  await page.fill('#prompt', spec.prompt);
  await page.fill('#max-new-tokens', String(spec.maxNewTokens));
  await page.check('#greedy');
  await page.selectOption('#compare-adapter', '');
  await page.click('#generate');
  await done('.pane');
  out.panes = await page.$$eval('.pane', (ps) => ps.map((p) => ({ id: p.id, ids: JSON.parse(p.dataset.tokenIds), tps: p.querySelector('.tps').textContent })));

  // Base vs each adapter.
  await page.click('#grid-run');
  await done('#grid');
  out.grid = await page.$$eval('#grid tbody tr', (rows) => rows.map((r) => ({
    adapter: r.dataset.adapter,
    cells: [...r.querySelectorAll('td[data-mode]')].map((c) => ({ mode: c.dataset.mode, ids: JSON.parse(c.dataset.tokenIds) })),
  })));

  // Masks of the first sample record.
  out.masks = await page.$$eval('#masks .mask-row', (rows) => rows.map((r) => ({
    paradigm: r.dataset.paradigm, ids: JSON.parse(r.dataset.ids), labels: JSON.parse(r.dataset.labels),
  })));

  // Train in the browser.
  await page.selectOption('#train-paradigm', 'qta');
  await page.fill('#train-steps', String(spec.trainSteps));
  await page.fill('#train-lr', String(spec.trainLr));
  await page.click('#train-run');
  await done('#train-log');
  out.losses = await page.$eval('#train-log', (e) => JSON.parse(e.dataset.losses));
  out.adaptersAfterTraining = await page.$$eval('#compare-adapter option', (os) => os.map((o) => o.value));
  await page.screenshot({ path: spec.screenshot, fullPage: true });

  // A reload takes the model and the adapter from the cache: no request reaches /fixture/.
  const before = fixtureRequests;
  await page.reload();
  await ready();
  out.fixtureRequestsBeforeReload = before;
  out.fixtureRequestsOnReload = fixtureRequests - before;
} catch (e) {
  out.error = String(e && e.stack || e);
  exitCode = 1;
} finally {
  await browser.close();
  server.close();
  await writeFile(outPath, JSON.stringify(out, null, 1));
}
process.exit(exitCode);
