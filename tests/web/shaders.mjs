// Compiles every shaders/*.wgsl in headless Chromium's WebGPU (Tint, the WGSL compiler browsers
// use), which applies WGSL's rules more strictly than naga does natively — the uniformity
// analysis above all. Also creates a compute pipeline from each, which is where Chromium
// reports entry-point and layout errors. For tests/browser.rs.
// Usage: node tests/web/shaders.mjs SHADER_DIR WORKGROUP OUT.json
// OUT: {adapter, shaders: {file: [messages...]}} (an empty list means the shader is accepted).
import { createServer } from 'node:http';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [dir, workgroup, outPath] = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.wgsl')).sort();
const sources = {};
for (const f of files) sources[f] = (await readFile(join(dir, f), 'utf8')).replaceAll('{{ wg }}', workgroup);

// WebGPU needs a secure context: serve one empty page on loopback.
const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>shaders</title>'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let exitCode = 0;
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const out = await page.evaluate(async (sources) => {
    if (!navigator.gpu) return { error: 'navigator.gpu is missing: WebGPU is not enabled' };
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { error: 'no WebGPU adapter' };
    const device = await adapter.requestDevice();
    const shaders = {};
    for (const [name, code] of Object.entries(sources)) {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code, label: name });
      const info = await module.getCompilationInfo();
      const messages = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
      try {
        device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      } catch (e) {
        messages.push(`pipeline: ${e.message}`);
      }
      const err = await device.popErrorScope();
      if (err) messages.push(`validation: ${err.message}`);
      shaders[name] = messages.filter((m) => !m.startsWith('info') && !m.startsWith('warning'));
    }
    const info = adapter.info || {};
    return { adapter: `${info.vendor || ''} ${info.architecture || ''} ${info.description || ''}`.trim(), shaders };
  }, sources);
  await writeFile(outPath, JSON.stringify(out, null, 2));
  if (out.error) { console.error(out.error); exitCode = 1; }
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(exitCode);
