/**
 * The first commands a newcomer runs print nothing to decode. The CLI on the
 * software adapter (a short train, a resume, a sample) writes no Dawn or
 * Vulkan loader warning to stderr and prints one line naming the adapter and
 * why it was chosen; the Vulkan driver decision (from the loader's manifest
 * folders) leaves GPUs and a user-set VK_ICD_FILENAMES to Dawn; every
 * installed package with an install script is approved or denied in
 * package.json's allowScripts (npm 11 warns about the others on install).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeNpy } from '../../src/data/npy.ts';
import { SWIFTSHADER_ICD } from '../../src/gpu/device.ts';
import { decideIcd, describeIcd, hasGpuDeviceNode, icdSearchDirs, type IcdFs } from '../../src/gpu/icd.ts';
import { expect } from '../support/check.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/webgpu-vae.mjs');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-start-'));
  writeFileSync(join(dir, 'data.npy'), encodeNpy('<f4', [60, 12], Array.from({ length: 720 }, (_, i) => (i % 11) / 10)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file system of the given files (path → text); folders are implied. */
function fakeFs(files: Record<string, string>): IcdFs {
  const isDir = (p: string) => Object.keys(files).some((f) => f.startsWith(`${p}/`));
  return {
    existsSync: (p) => p in files || isDir(p),
    readdirSync: (p) => {
      if (!isDir(p)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return [...new Set(Object.keys(files).filter((f) => f.startsWith(`${p}/`)).map((f) => f.slice(p.length + 1).split('/')[0]!))];
    },
    readFileSync: (p) => {
      if (!(p in files)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return files[p]!;
    },
  };
}
const manifest = (lib: string) => JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } });
const SS = '/usr/lib/chromium/vk_swiftshader_icd.json';

test('Vulkan driver decision: SwiftShader only when no GPU driver is installed; GPUs and the user\'s VK_ICD_FILENAMES are left to Dawn', () => {
  const home = '/home/u';
  const dirs = icdSearchDirs({}, home);
  for (const d of ['/home/u/.config/vulkan/icd.d', '/etc/xdg/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/etc/vulkan/icd.d', '/home/u/.local/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d']) {
    expect(dirs.includes(d), `search folders ${dirs.join(', ')} lack ${d}`);
  }
  expect(icdSearchDirs({ XDG_DATA_DIRS: '/opt/a:/opt/b', XDG_CONFIG_HOME: '/cfg' }, home).join(',').includes('/cfg/vulkan/icd.d') && icdSearchDirs({ XDG_DATA_DIRS: '/opt/a:/opt/b' }, home).includes('/opt/b/vulkan/icd.d'), 'XDG folders');

  const none = decideIcd({}, home, fakeFs({ [SS]: '{}' }), SS);
  expect(none.kind === 'swiftshader' && none.icd === SS, `no driver: ${JSON.stringify(none)}`);
  expect(describeIcd(none).startsWith('no Vulkan driver for a GPU is installed, so webgpu-vae uses SwiftShader'), describeIcd(none));
  const lvp = decideIcd({}, home, fakeFs({ [SS]: '{}', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': manifest('/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so') }), SS);
  expect(lvp.kind === 'swiftshader' && describeIcd(lvp).includes('lvp_icd.x86_64.json is not used (Dawn rejects lavapipe)'), `lavapipe only: ${describeIcd(lvp)}`);

  const gpuFiles = { [SS]: '{}', '/usr/share/vulkan/icd.d/nvidia_icd.json': manifest('libGLX_nvidia.so.0'), '/dev/nvidia0': '' };
  const gpu = decideIcd({}, home, fakeFs(gpuFiles), SS);
  expect(gpu.kind === 'gpu' && gpu.devices && gpu.drivers.length === 1 && describeIcd(gpu) === 'chosen by Dawn among the installed Vulkan drivers (nvidia_icd.json)', `a GPU: ${JSON.stringify(gpu)}`);
  const user = decideIcd({}, home, fakeFs({ ...gpuFiles, [`${home}/.config/vulkan/icd.d/radeon_icd.x86_64.json`]: manifest('/usr/lib/libvulkan_radeon.so') }), SS);
  expect(user.kind === 'gpu' && user.drivers.length === 2, `a driver in the user's config folder: ${JSON.stringify(user)}`);
  const added = decideIcd({ VK_ADD_DRIVER_FILES: '/opt/intel_icd.json' }, home, fakeFs({ [SS]: '{}', '/opt/intel_icd.json': manifest('/opt/libvulkan_intel.so') }), SS);
  expect(added.kind === 'gpu' && !added.devices, `VK_ADD_DRIVER_FILES, no device node: ${JSON.stringify(added)}`);
  expect(hasGpuDeviceNode(fakeFs({ '/dev/dri/renderD128': '' })) && !hasGpuDeviceNode(fakeFs({ '/dev/dri/card0': '' })), 'GPU device nodes');

  for (const variable of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES']) {
    const d = decideIcd({ [variable]: '/my/icd.json' }, home, fakeFs({ [SS]: '{}' }), SS);
    expect(d.kind === 'user' && d.variable === variable && describeIcd(d) === `Vulkan driver from ${variable}=/my/icd.json (set in the environment)`, `${variable}: ${JSON.stringify(d)}`);
  }
  const nothing = decideIcd({}, home, fakeFs({ '/etc/vulkan/icd.d/broken.json': 'not json' }), SS);
  expect(nothing.kind === 'none' && describeIcd(nothing).startsWith('no Vulkan driver is installed (searched '), `nothing usable: ${JSON.stringify(nothing)}`);
});

interface Result { code: number | null; stdout: string; stderr: string }
function cli(args: string[], env: Record<string, string | undefined>): Promise<Result> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) e[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: e });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of a newcomer: no Vulkan variables, no XDG_RUNTIME_DIR. */
const CLEAN = { VK_ICD_FILENAMES: undefined, VK_DRIVER_FILES: undefined, VK_ADD_DRIVER_FILES: undefined, XDG_RUNTIME_DIR: undefined };
const DAWN = /warning|vkCreateInstance|VulkanError|CheckVkSuccess|loader|XDG_RUNTIME_DIR|\.cpp:\d+/i;
const PROGRESS = /^epoch \d+\/\d+ \|[█░]+\| \d+\/\d+ steps \| .* \| ETA \S+/;
const SMALL = ['--dataset', 'data.npy', '--batch', '8', '--hidden', '16', '--latent', '3', '--log-every', '2'];

test('CLI on the software adapter: train and resume print no Dawn warning and one adapter line with its reason', { timeout: 600_000 }, async () => {
  const software = !hasGpuDeviceNode(fs);
  for (const args of [['train', ...SMALL, '--epochs', '1', '--out', 'run'], ['resume', 'run', '--epochs', '2']]) {
    const r = await cli(args, CLEAN);
    expect(r.code === 0, `${args[0]} exited ${r.code}: ${r.stderr.slice(-500)}`);
    const errLines = r.stderr.split('\n').filter((l) => l.trim());
    expect(!DAWN.test(r.stderr), `${args[0]}: Dawn output on stderr:\n${r.stderr}`);
    expect(errLines.every((l) => PROGRESS.test(l)), `${args[0]}: stderr holds more than the progress lines:\n${r.stderr}`);
    const adapter = r.stdout.split('\n').filter((l) => l.startsWith('adapter: '));
    expect(adapter.length === 1 && !r.stdout.includes('webgpu-vae: '), `${args[0]}: adapter lines ${JSON.stringify(adapter)} in:\n${r.stdout}`);
    const first = r.stdout.split('\n').filter((l) => l.startsWith('time to first step: '));
    expect(first.length === 1 && /^time to first step: \d+\.\d\d s after the GPU was ready$/.test(first[0]!) && Number(first[0]!.split(' ')[4]) > 0, `${args[0]}: time to first step lines ${JSON.stringify(first)} in:\n${r.stdout}`);
    if (software) expect(adapter[0]!.endsWith(`(software); no Vulkan driver for a GPU is installed, so webgpu-vae uses SwiftShader (software Vulkan on the CPU, ${SWIFTSHADER_ICD})`), `${args[0]}: ${adapter[0]}`);
  }
  // A reader prints the adapter line on stderr, leaving stdout to its results.
  const s = await cli(['sample', 'run', '--n', '4', '--out', 's.png'], CLEAN);
  expect(s.code === 0 && s.stdout === 'wrote s.png\n' && /^adapter: [^\n]+\n$/.test(s.stderr), `sample: ${JSON.stringify(s)}`);
  // The user's VK_ICD_FILENAMES is respected and named.
  const u = await cli(['sample', 'run', '--n', '4', '--out', 's.png'], { ...CLEAN, VK_ICD_FILENAMES: SWIFTSHADER_ICD });
  expect(u.code === 0 && u.stderr.trim().endsWith(`; Vulkan driver from VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (set in the environment)`) && u.stderr.trim().split('\n').length === 1, `user VK_ICD_FILENAMES: ${u.stderr}`);
});

test('CLI: a GPU driver that gives no adapter on a machine without a GPU device falls back to SwiftShader without its complaints', { timeout: 300_000 }, async () => {
  // A manifest of a GPU driver whose library is missing: the Vulkan loader complains when it scans it.
  const config = join(dir, 'xdg-config');
  mkdirSync(join(config, 'vulkan/icd.d'), { recursive: true });
  writeFileSync(join(config, 'vulkan/icd.d/fakegpu_icd.json'), manifest('/nonexistent/libvulkan_fakegpu.so'));
  const r = await cli(['sample', 'run', '--n', '4', '--out', 's.png'], { ...CLEAN, XDG_CONFIG_HOME: config });
  expect(r.code === 0, `sample exited ${r.code}: ${r.stderr}`);
  if (!hasGpuDeviceNode(fs)) {
    // Tried in a child process first: only the adapter line reaches the terminal.
    expect(r.stderr === `adapter: node: google swiftshader SwiftShader driver 5.0.0 (software); the installed Vulkan drivers (fakegpu_icd.json) give Dawn no adapter and there is no GPU device, so webgpu-vae uses SwiftShader (software Vulkan on the CPU, ${SWIFTSHADER_ICD})\n`, `stderr:\n${r.stderr}`);
  } else {
    // A machine with a GPU device: Dawn is asked directly and nothing it says is hidden.
    expect(/libvulkan_fakegpu/.test(r.stderr) && /^adapter: /m.test(r.stderr), `stderr with a GPU device:\n${r.stderr}`);
  }
});

test('npm install: every installed package with an install script is approved or denied in package.json\'s allowScripts', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  const allow = pkg.allowScripts ?? {};
  const withScripts: string[] = [];
  const visit = (nm: string) => {
    if (!fs.existsSync(nm)) return;
    for (const name of fs.readdirSync(nm)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of fs.readdirSync(join(nm, name))) check(join(nm, name, sub), `${name}/${sub}`);
      } else check(join(nm, name), name);
    }
  };
  const check = (path: string, name: string) => {
    const file = join(path, 'package.json');
    if (!fs.existsSync(file)) return;
    const p = JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, string> };
    if (['preinstall', 'install', 'postinstall'].some((s) => p.scripts?.[s]) || fs.existsSync(join(path, 'binding.gyp'))) withScripts.push(name);
    visit(join(path, 'node_modules'));
  };
  visit(join(ROOT, 'node_modules'));
  const uncovered = withScripts.filter((n) => !(n in allow) && !Object.keys(allow).some((k) => k.startsWith(`${n}@`)));
  expect(withScripts.length > 0 && uncovered.length === 0, `install scripts not covered by allowScripts: ${uncovered.join(', ')} (packages with scripts: ${withScripts.join(', ')})`);
  expect(allow['core-js'] === false && allow.esbuild === true && allow.webgpu === true, `allowScripts: ${JSON.stringify(allow)}`);
});
