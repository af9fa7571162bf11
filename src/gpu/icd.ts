/**
 * Which Vulkan driver Dawn should be given in Node, decided from the driver
 * manifests (ICD JSON files) before Dawn creates its instance. A Vulkan
 * instance made with no driver installed makes Dawn print native warnings
 * ("vkCreateInstance: Found no drivers!"); looking at the manifests first lets
 * webgpu-vae point the loader at SwiftShader up front on a machine without a
 * GPU, and leave everything to Dawn on a machine with one.
 *
 * Pure logic: the environment and the file reads are passed in, so that this
 * module imports nothing from Node and can be tested without a GPU.
 */

/** One driver manifest found in the loader's search folders. */
export interface IcdManifest {
  /** The manifest file. */
  readonly path: string;
  /** `ICD.library_path` as written in the manifest. */
  readonly library: string;
  /** A driver that runs on the CPU (lavapipe/llvmpipe, SwiftShader), not a GPU. */
  readonly software: boolean;
}

/** What the manifests say Dawn should be given. */
export type IcdDecision =
  /** VK_ICD_FILENAMES or VK_DRIVER_FILES is set: respected as it is. */
  | { readonly kind: 'user'; readonly variable: string; readonly value: string }
  /**
   * A GPU driver is installed: Dawn chooses among the installed drivers.
   * `devices` tells whether the machine has a GPU device node for a driver to
   * use (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg): Mesa's drivers are often
   * installed on machines without a GPU.
   */
  | { readonly kind: 'gpu'; readonly drivers: readonly IcdManifest[]; readonly devices: boolean; readonly swiftshader: string | null }
  /** No GPU driver: point the loader at SwiftShader before Dawn starts. */
  | { readonly kind: 'swiftshader'; readonly icd: string; readonly searched: readonly string[]; readonly software: readonly IcdManifest[] }
  /** No GPU driver, no SwiftShader, but another CPU driver that Dawn may take. */
  | { readonly kind: 'software-only'; readonly software: readonly IcdManifest[]; readonly searched: readonly string[] }
  /** No driver at all and no SwiftShader: Dawn cannot find an adapter. */
  | { readonly kind: 'none'; readonly searched: readonly string[] };

/** True when the machine has a device node that a Vulkan GPU driver opens. */
export function hasGpuDeviceNode(fs: IcdFs): boolean {
  try {
    if (fs.readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) return true;
  } catch {
    /* no DRM devices */
  }
  return ['/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg'].some((p) => fs.existsSync(p));
}

/** The file-system reads the decision needs. */
export interface IcdFs {
  existsSync(path: string): boolean;
  readdirSync(path: string): string[];
  readFileSync(path: string, encoding: 'utf8'): string;
}

type Env = Readonly<Record<string, string | undefined>>;

const SOFTWARE_DRIVER = /lvp|lavapipe|llvmpipe|swiftshader/i;

/** True for a driver library that runs on the CPU (Mesa's lavapipe, SwiftShader). */
export function isSoftwareDriver(library: string): boolean {
  return SOFTWARE_DRIVER.test(library.split('/').pop() ?? library);
}

const list = (v: string | undefined, dflt: string): string[] => (v && v.trim() ? v : dflt).split(':').filter((s) => s !== '');

/**
 * The folders the Vulkan loader searches for driver manifests on Linux, in
 * its order: the XDG config folders, /etc, the XDG data folders.
 */
export function icdSearchDirs(env: Env, home: string): string[] {
  const roots = [
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() ? env.XDG_CONFIG_HOME : `${home}/.config`,
    ...list(env.XDG_CONFIG_DIRS, '/etc/xdg'),
    '/usr/local/etc',
    '/etc',
    env.XDG_DATA_HOME && env.XDG_DATA_HOME.trim() ? env.XDG_DATA_HOME : `${home}/.local/share`,
    ...list(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share'),
  ];
  return [...new Set(roots.map((r) => `${r.replace(/\/+$/, '')}/vulkan/icd.d`))];
}

function readManifest(path: string, fs: IcdFs): IcdManifest | null {
  try {
    const raw = JSON.parse(fs.readFileSync(path, 'utf8')) as { ICD?: { library_path?: unknown } };
    const library = raw?.ICD?.library_path;
    return typeof library === 'string' ? { path, library, software: isSoftwareDriver(library) } : null;
  } catch {
    return null; // unreadable or not a manifest: the loader skips it too
  }
}

/** Every valid manifest in `dirs`, plus the files (or folders) listed in VK_ADD_DRIVER_FILES. */
export function findIcdManifests(dirs: readonly string[], env: Env, fs: IcdFs): IcdManifest[] {
  const files: string[] = [];
  const addDir = (d: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) if (n.endsWith('.json')) files.push(`${d}/${n}`);
  };
  for (const d of dirs) if (fs.existsSync(d)) addDir(d);
  for (const p of list(env.VK_ADD_DRIVER_FILES, '')) {
    if (p.endsWith('.json')) files.push(p);
    else addDir(p);
  }
  return files.map((f) => readManifest(f, fs)).filter((m): m is IcdManifest => m !== null);
}

/**
 * Decides which Vulkan driver Dawn should be given: the user's choice when
 * VK_ICD_FILENAMES or VK_DRIVER_FILES is set, Dawn's own choice when a GPU
 * driver is installed, SwiftShader (`swiftshaderIcd`, when that file exists)
 * otherwise. Mesa's lavapipe does not count as a usable adapter: Dawn rejects
 * the versions Debian ships.
 */
export function decideIcd(env: Env, home: string, fs: IcdFs, swiftshaderIcd: string): IcdDecision {
  for (const variable of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES']) {
    const value = env[variable];
    if (value && value.trim()) return { kind: 'user', variable, value };
  }
  const searched = icdSearchDirs(env, home);
  const manifests = findIcdManifests(searched, env, fs);
  const drivers = manifests.filter((m) => !m.software);
  const swiftshader = fs.existsSync(swiftshaderIcd) ? swiftshaderIcd : null;
  const software = manifests.filter((m) => m.software);
  if (drivers.length > 0) return { kind: 'gpu', drivers, devices: hasGpuDeviceNode(fs), swiftshader };
  if (swiftshader) return { kind: 'swiftshader', icd: swiftshader, searched, software };
  if (software.length > 0) return { kind: 'software-only', software, searched };
  return { kind: 'none', searched };
}

/** The manifests' file names, for messages. */
export const manifestNames = (ms: readonly IcdManifest[]) => ms.map((m) => m.path.split('/').pop()).join(', ');
const names = manifestNames;

/** Why the decision was made, as the end of a sentence ("…; <reason>"). */
export function describeIcd(d: IcdDecision): string {
  switch (d.kind) {
    case 'user':
      return `Vulkan driver from ${d.variable}=${d.value} (set in the environment)`;
    case 'gpu':
      return `chosen by Dawn among the installed Vulkan drivers (${names(d.drivers)})`;
    case 'swiftshader': {
      const cpu = d.software.filter((m) => !/swiftshader/i.test(m.library));
      return `no Vulkan driver for a GPU is installed, so webgpu-vae uses SwiftShader (software Vulkan on the CPU, ${d.icd})` +
        (cpu.length ? `; ${names(cpu)} is not used (Dawn rejects lavapipe)` : '');
    }
    case 'software-only':
      return `no Vulkan driver for a GPU is installed; Dawn chose among the CPU drivers (${names(d.software)})`;
    case 'none':
      return `no Vulkan driver is installed (searched ${d.searched.join(', ')})`;
  }
}
