/**
 * Headless Chromium with WebGPU on SwiftShader (or the machine's GPU), and a
 * Vite dev server on 127.0.0.1 for the pages under test. Set CHROMIUM_PATH to
 * use another Chrome or Chromium build.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { demoData } from '../../demo/data/plugin.ts';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--disable-vulkan-surface',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) {
    throw new Error(`no Chromium at ${p}: run \`npm run setup\` (installs Debian's chromium) or set CHROMIUM_PATH to a Chrome/Chromium binary`);
  }
  return p;
}

export async function launchChromium(): Promise<Browser> {
  // With a real GPU, drop the SwiftShader adapter flag by setting WEBGPU_ADAPTER=default.
  const flags = process.env.WEBGPU_ADAPTER === 'default' ? CHROMIUM_FLAGS.filter((f) => !f.startsWith('--use-webgpu-adapter')) : CHROMIUM_FLAGS;
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: flags });
}

/**
 * A Vite dev server for the repository root on 127.0.0.1 (a secure context, so
 * navigator.gpu exists), with the demo's datasets (the demo is at /demo/). `prebundle` names packages with CommonJS inside that
 * Vite must convert before the page can import them; `isolate` serves pages
 * cross-origin isolated (COOP/COEP), which gives them SharedArrayBuffer and
 * so WebAssembly threads.
 */
export async function startVite(opts: { readonly prebundle?: readonly string[]; readonly isolate?: boolean } = {}): Promise<{ server: ViteDevServer; url: string }> {
  const headers = opts.isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {};
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'error',
    plugins: [demoData()],
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, headers },
    optimizeDeps: { noDiscovery: true, include: [...(opts.prebundle ?? [])] },
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('vite: no address');
  return { server, url: `http://127.0.0.1:${addr.port}` };
}
