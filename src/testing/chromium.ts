/**
 * Launch options for WebGPU in headless Chromium, for Playwright: the
 * browser binary (a full Chrome/Chromium: Playwright's headless shell has no
 * WebGPU) and the flags that give a working adapter on a machine without a
 * GPU (SwiftShader, software Vulkan on the CPU, shipped with Chromium).
 *
 *   // playwright.config.ts
 *   import { defineConfig } from '@playwright/test';
 *   import { webgpuPreset } from 'webgpu-vae/testing';
 *   export default defineConfig({ use: webgpuPreset() });
 */
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** Debian's Chromium (`apt-get install chromium`), which has WebGPU and SwiftShader. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The environment variable that names another Chrome/Chromium binary. */
export const CHROMIUM_PATH_ENV = 'CHROMIUM_PATH';

/** The environment variable that picks the adapter: `swiftshader` (the default) or `default` (the machine's GPU). */
export const WEBGPU_ADAPTER_ENV = 'WEBGPU_ADAPTER';

/** Flags that turn WebGPU on and keep a headless run quiet and offline. */
export const WEBGPU_CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-vulkan-surface',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The flag that makes SwiftShader the WebGPU adapter (works on any x86-64 or arm64 runner, no GPU needed). */
export const SWIFTSHADER_FLAG = '--use-webgpu-adapter=swiftshader';

export type AdapterChoice = 'swiftshader' | 'default';

export interface PresetOptions {
  /** A Chrome or Chromium binary (default: $CHROMIUM_PATH, else Debian's /usr/bin/chromium). */
  readonly executablePath?: string;
  /** `swiftshader` (default) or `default` for the machine's own GPU (default: $WEBGPU_ADAPTER). */
  readonly adapter?: AdapterChoice;
  /** More command-line flags for the browser. */
  readonly args?: readonly string[];
  /** Where to read CHROMIUM_PATH and WEBGPU_ADAPTER (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Options for Playwright's `chromium.launch()` or a config's `use.launchOptions`. */
export interface WebGpuLaunchOptions {
  executablePath: string;
  headless: boolean;
  args: string[];
}

/** What a Playwright config's `use` needs: Chromium, headless, with the launch options above. */
export interface WebGpuPreset {
  browserName: 'chromium';
  headless: boolean;
  launchOptions: WebGpuLaunchOptions;
}

/**
 * The Chrome/Chromium binary to launch: `opts.executablePath`, else
 * $CHROMIUM_PATH, else /usr/bin/chromium. Throws, saying what to do, when it
 * is missing or is a headless shell (which has no WebGPU).
 */
export function chromiumExecutable(opts: Pick<PresetOptions, 'executablePath' | 'env'> = {}): string {
  const env = opts.env ?? process.env;
  const fromEnv = env[CHROMIUM_PATH_ENV];
  const path = opts.executablePath ?? (fromEnv ? fromEnv : DEBIAN_CHROMIUM);
  const source = opts.executablePath ? 'executablePath' : fromEnv ? `$${CHROMIUM_PATH_ENV}` : 'the default';
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new Error(
      `no Chrome/Chromium at ${path} (${source}): install Debian's chromium (\`apt-get install chromium libvulkan1\`) ` +
        `or set ${CHROMIUM_PATH_ENV} to a Chrome/Chromium binary`,
    );
  }
  if (/headless[-_]shell/i.test(basename(path))) {
    throw new Error(`${path} (${source}) is a headless shell, which has no WebGPU: use a full Chrome/Chromium binary (it runs headless too)`);
  }
  return path;
}

function adapterChoice(opts: PresetOptions): AdapterChoice {
  const env = opts.env ?? process.env;
  const choice = opts.adapter ?? env[WEBGPU_ADAPTER_ENV] ?? 'swiftshader';
  if (choice !== 'swiftshader' && choice !== 'default') {
    const source = opts.adapter !== undefined ? 'adapter' : `$${WEBGPU_ADAPTER_ENV}`;
    throw new Error(`${source} is '${choice}': expected 'swiftshader' (the CPU adapter, no GPU needed) or 'default' (the machine's GPU)`);
  }
  return choice;
}

/** Launch options for `chromium.launch()` (playwright or playwright-core) with WebGPU on. */
export function webgpuLaunchOptions(opts: PresetOptions = {}): WebGpuLaunchOptions {
  const adapter = adapterChoice(opts);
  const args = [...WEBGPU_CHROMIUM_FLAGS, ...(adapter === 'swiftshader' ? [SWIFTSHADER_FLAG] : []), ...(opts.args ?? [])];
  return { executablePath: chromiumExecutable(opts), headless: true, args };
}

/** A Playwright config's `use` block: Chromium, headless, WebGPU on (see webgpuLaunchOptions). */
export function webgpuPreset(opts: PresetOptions = {}): WebGpuPreset {
  return { browserName: 'chromium', headless: true, launchOptions: webgpuLaunchOptions(opts) };
}
