/**
 * The package as a user gets it: build dist/, `npm pack`, and install the
 * tarball into a fresh app folder outside the repository, offline. The app's
 * lockfile is written from the repository's own: the same versions, whose
 * registry metadata and tarballs the repository's `npm ci` left in the npm
 * cache, so `npm ci --offline` installs without the network and cannot wait on it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

/** Builds dist/ and packs the package into `dest` (default: a new temporary folder); returns the tarball's path. */
export async function buildAndPack(dest = mkdtempSync(join(tmpdir(), 'webgpu-vae-pack-'))): Promise<string> {
  await sh(process.execPath, [join(REPO, 'scripts', 'build-lib.mjs')], REPO);
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

/** A packed tarball and the folder of the package it was packed from (whose package.json names its dependencies). */
export interface Packed {
  readonly tarball: string;
  readonly dir: string;
}

export interface InstallOptions {
  /** Registry packages the app also depends on, at the versions of the repository's lockfile (e.g. '@playwright/test'). */
  readonly registry?: readonly string[];
  /** More fields for the app's package.json (scripts, …). */
  readonly manifest?: Readonly<Record<string, unknown>>;
}

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, unknown>;
  readonly bin?: Record<string, string>;
  readonly license?: string;
  readonly engines?: Record<string, string>;
}

/**
 * Installs packed tarballs into `appDir` (which holds the app's own files)
 * with `npm ci --offline`: a package.json naming them (and any `registry`
 * packages) and a lockfile with their runtime dependencies at the versions of
 * the repository's lockfile.
 */
export async function installPackages(appDir: string, packs: readonly Packed[], opts: InstallOptions = {}): Promise<void> {
  const repoLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const appDeps: Record<string, string> = {};
  const packages: Record<string, LockEntry> = {};
  const queue: [string, string][] = [];
  for (const { tarball, dir } of packs) {
    const file = basename(tarball);
    copyFileSync(tarball, join(appDir, file));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    const spec = `file:${file}`;
    appDeps[pkg.name] = spec;
    packages[`node_modules/${pkg.name}`] = {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      ...(pkg.license ? { license: pkg.license } : {}),
      ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
      ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
      ...(pkg.peerDependenciesMeta ? { peerDependenciesMeta: pkg.peerDependenciesMeta } : {}),
      ...(pkg.bin ? { bin: pkg.bin } : {}),
      ...(pkg.engines ? { engines: pkg.engines } : {}),
    };
    for (const d of Object.keys(pkg.dependencies ?? {})) queue.push(['', d]);
  }
  for (const name of opts.registry ?? []) {
    const entry = repoLock.packages[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`the repository's package-lock.json has no top-level '${name}'`);
    appDeps[name] = entry.version;
    queue.push(['', name]);
  }
  // The runtime closure of the dependencies, at the repository's paths (the same hoisting).
  while (queue.length) {
    const [from, name] = queue.shift()!;
    const at = locate(repoLock.packages, from, name);
    if (packages[at]) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = repoLock.packages[at]!;
    packages[at] = entry;
    for (const d of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) queue.push([at, d]);
  }
  const manifest = { name: 'webgpu-vae-app', version: '0.0.0', private: true, type: 'module', ...opts.manifest, dependencies: appDeps };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const root = { name: manifest.name, version: manifest.version, dependencies: appDeps };
  writeFileSync(join(appDir, 'package-lock.json'), `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': root, ...packages } }, null, 2)}\n`);
  await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], appDir);
}

/** Installs the library's tarball into `appDir` (see installPackages). */
export function installTarball(appDir: string, tarball: string): Promise<void> {
  return installPackages(appDir, [{ tarball, dir: REPO }]);
}

/** Bytes of the files under `dir` (what a package adds to node_modules on disk, before block rounding). */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** Builds packages/cli/dist and packs the command-line package into `dest`; returns the tarball's path. */
export async function buildAndPackCli(dest = mkdtempSync(join(tmpdir(), 'webgpu-vae-cli-pack-'))): Promise<string> {
  await sh(process.execPath, [join(REPO, 'scripts', 'build-lib.mjs'), '--cli'], REPO);
  const out = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest, '--workspace', 'webgpu-vae-cli'], REPO);
  const [info] = JSON.parse(out) as { filename: string }[];
  if (!info) throw new Error(`npm pack printed no file: ${out}`);
  return join(dest, info.filename);
}
