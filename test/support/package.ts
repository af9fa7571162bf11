/**
 * The package as a user gets it: build dist/, `npm pack`, and install the
 * tarball into a fresh app folder outside the repository, offline. The app's
 * lockfile is written from the repository's own: the same versions, whose
 * registry metadata and tarballs the repository's `npm ci` left in the npm
 * cache, so `npm ci --offline` installs without the network and cannot wait on it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = resolve(import.meta.dirname, '..', '..');

interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly [k: string]: unknown;
}

/** Runs a command with a time limit, failing with its output. */
export async function sh(cmd: string, args: readonly string[], cwd: string, timeoutMs = 5 * 60_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** Builds dist/ and packs the package into a new temporary folder; returns the tarball's path. */
export async function buildAndPack(): Promise<string> {
  await sh(process.execPath, [join(REPO, 'scripts', 'build-lib.mjs')], REPO);
  const dest = mkdtempSync(join(tmpdir(), 'webgpu-vae-pack-'));
  // The build just ran: skip prepack's second build.
  const out = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], REPO);
  const [info] = JSON.parse(out) as { filename: string }[];
  if (!info) throw new Error(`npm pack printed no file: ${out}`);
  return join(dest, info.filename);
}

/** Where Node would find `name` when required from the package at `from` (a lockfile path). */
function locate(packages: Readonly<Record<string, LockEntry>>, from: string, name: string): string {
  let dir = from;
  for (;;) {
    const p = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[p]) return p;
    if (!dir) throw new Error(`the repository's package-lock.json has no '${name}' reachable from '${from || 'the root'}'`);
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

/**
 * Installs `tarball` into `appDir` (which holds the app's own files) with
 * `npm ci --offline`: a package.json naming the tarball and a lockfile with
 * the package's runtime dependencies at the versions of the repository's lockfile.
 */
export async function installTarball(appDir: string, tarball: string): Promise<void> {
  const file = basename(tarball);
  copyFileSync(tarball, join(appDir, file));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin?: Record<string, string>; license?: string; engines?: Record<string, string> };
  const repoLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${file}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'webgpu-vae-app', version: '0.0.0', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      ...(pkg.license ? { license: pkg.license } : {}),
      dependencies: pkg.dependencies,
      ...(pkg.bin ? { bin: pkg.bin } : {}),
      ...(pkg.engines ? { engines: pkg.engines } : {}),
    },
  };
  // The runtime closure of the package's dependencies, at the repository's paths (the same hoisting).
  const queue: [string, string][] = Object.keys(pkg.dependencies).map((d) => ['', d]);
  while (queue.length) {
    const [from, name] = queue.shift()!;
    const at = locate(repoLock.packages, from, name);
    if (packages[at]) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = repoLock.packages[at]!;
    packages[at] = entry;
    for (const d of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) queue.push([at, d]);
  }
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify({ name: 'webgpu-vae-app', version: '0.0.0', private: true, type: 'module', dependencies: { [pkg.name]: spec } }, null, 2)}\n`);
  writeFileSync(join(appDir, 'package-lock.json'), `${JSON.stringify({ name: 'webgpu-vae-app', version: '0.0.0', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
  await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], appDir);
}
