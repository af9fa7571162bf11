/**
 * Loading RDKit's MinimalLib (the npm package `@rdkit/rdkit`: RDKit compiled
 * to WebAssembly) in Node or in a page, without loading anything from
 * another origin. The package is imported dynamically, so the library's own
 * install stays lean: only code that asks for molecules needs it installed.
 *
 * Where the WASM binary (RDKit_minimal.wasm, about 7 MB) comes from:
 * - Node: the installed package (`@rdkit/rdkit/RDKit_minimal.wasm`), or a
 *   path / file URL given as `wasmUrl`.
 * - A page or worker: `wasmUrl`, resolved against the page; by default
 *   `rdkit/RDKit_minimal.wasm` beside the page (what the demo's Vite plugin
 *   serves and writes into the static build). It must be on the page's own
 *   origin.
 *
 * The module's instance is made here (Emscripten's `instantiateWasm` hook),
 * which keeps its linear memory at hand: `memoryBytes()` lets callers and
 * tests see that processing molecules does not grow it without bound.
 */
import type { MainModule } from '@rdkit/rdkit';

/** Where the demo serves the WASM binary, relative to its page. */
export const RDKIT_WASM_PATH = 'rdkit/RDKit_minimal.wasm';

export interface RdkitOptions {
  /**
   * The WASM binary. In a page: a URL (absolute, or relative to the page) on
   * the page's origin; default `rdkit/RDKit_minimal.wasm` beside the page. In
   * Node: a path or `file:` URL; default the installed `@rdkit/rdkit`'s.
   */
  readonly wasmUrl?: string | URL;
}

/** The part of a MinimalLib molecule used here (the package's own type is Mol). */
export interface RdkitMol {
  is_valid(): boolean;
  get_num_atoms(): number;
  /** Canonical SMILES; with details (JSON of SmilesWriteParams, e.g. {"canonical": false, "rootedAtAtom": 3}) written as they say. */
  get_smiles(details?: string): string;
  get_svg(width: number, height: number): string;
  get_descriptors(): string;
  delete(): void;
  isDeleted(): boolean;
}

/**
 * The part of MinimalLib's module used here (the package's own type is
 * MainModule; declared here so the library's declarations do not need
 * @rdkit/rdkit installed).
 */
export interface RdkitModule {
  version(): string;
  get_mol(input: string): RdkitMol | null;
}

/** The loaded module and the linear memory of its instance. */
export interface LoadedRdkit {
  readonly module: RdkitModule;
  readonly memory: WebAssembly.Memory;
  /** Where the binary was read from (a path in Node, a URL in a page). */
  readonly source: string;
}

type Factory = (options?: unknown) => Promise<MainModule>;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof (globalThis as { document?: unknown }).document === 'undefined';

/** The bytes' location: a filesystem path in Node, an absolute URL in a page. */
function locate(opts: RdkitOptions): string {
  if (isNode) {
    const { fileURLToPath } = process.getBuiltinModule('node:url');
    if (opts.wasmUrl !== undefined) {
      const u = String(opts.wasmUrl);
      return u.startsWith('file:') ? fileURLToPath(u) : u;
    }
    const { createRequire } = process.getBuiltinModule('node:module');
    try {
      return createRequire(import.meta.url).resolve('@rdkit/rdkit/RDKit_minimal.wasm');
    } catch {
      throw new Error('loadRdkit: the package @rdkit/rdkit is not installed; molecule checks need RDKit\'s MinimalLib (npm install @rdkit/rdkit)');
    }
  }
  const g = globalThis as { document?: { baseURI: string }; location?: { href: string; origin: string } };
  const base = g.document?.baseURI ?? g.location?.href;
  if (!base || !g.location) throw new Error('loadRdkit: neither Node nor a page or worker (no location): cannot tell where RDKit_minimal.wasm is');
  const url = new URL(String(opts.wasmUrl ?? RDKIT_WASM_PATH), base);
  if (url.origin !== g.location.origin) {
    throw new Error(`loadRdkit: the WASM URL ${url.href} is not on the page's origin ${g.location.origin}; serve RDKit_minimal.wasm from the page's own origin`);
  }
  return url.href;
}

async function wasmBytes(source: string): Promise<Uint8Array<ArrayBuffer>> {
  if (isNode) {
    const { readFile } = process.getBuiltinModule('node:fs/promises');
    try {
      return new Uint8Array(await readFile(source));
    } catch (e) {
      throw new Error(`loadRdkit: cannot read ${source}: ${(e as Error).message}; expected RDKit_minimal.wasm of @rdkit/rdkit`);
    }
  }
  const res = await fetch(source, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`loadRdkit: GET ${source} answered ${res.status} ${res.statusText}; expected RDKit_minimal.wasm of @rdkit/rdkit served from the page's origin`);
  return new Uint8Array(await res.arrayBuffer());
}

async function factory(): Promise<Factory> {
  let mod: { default?: unknown };
  try {
    mod = (await import('@rdkit/rdkit')) as { default?: unknown };
  } catch (e) {
    throw new Error(`loadRdkit: cannot import @rdkit/rdkit (${(e as Error).message}); molecule checks need RDKit's MinimalLib (npm install @rdkit/rdkit)`);
  }
  // A CommonJS module: its export is the factory, found as `default` (once or twice over, by loader).
  let f: unknown = mod;
  for (let i = 0; i < 3 && typeof f !== 'function' && f != null; i++) f = (f as { default?: unknown }).default;
  // A bundler that serves the CommonJS file as an ES module without converting it (e.g. Vite's dev server without prebundling) leaves no export.
  if (typeof f !== 'function') throw new Error('loadRdkit: @rdkit/rdkit exports no initRDKitModule function here; a bundler must convert its CommonJS module (for Vite\'s dev server: optimizeDeps.include [\'@rdkit/rdkit\'])');
  return f as Factory;
}

async function instantiate(source: string): Promise<LoadedRdkit> {
  const [init, bytes] = await Promise.all([factory(), wasmBytes(source)]);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    const start = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/\s+/g, ' ');
    throw new Error(`loadRdkit: ${source} is not a WASM file (it starts with ${JSON.stringify(start)}); expected RDKit_minimal.wasm of @rdkit/rdkit`);
  }
  let memory: WebAssembly.Memory | undefined;
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const instantiateWasm = (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) => {
    WebAssembly.instantiate(bytes, imports).then(
      ({ instance }) => {
        memory = Object.values(instance.exports).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory);
        receive(instance);
      },
      (e: Error) => fail(new Error(`loadRdkit: ${source} is not the WASM binary this @rdkit/rdkit expects: ${e.message}`)),
    );
    return {};
  };
  const module: RdkitModule = await Promise.race([init({ instantiateWasm }), failed]);
  if (!memory) throw new Error(`loadRdkit: the instance of ${source} exports no memory`);
  return { module, memory, source };
}

const cache = new Map<string, Promise<LoadedRdkit>>();

/** Loads MinimalLib once per WASM location (later calls share the instance). */
export function loadRdkitModule(opts: RdkitOptions = {}): Promise<LoadedRdkit> {
  let source: string;
  try {
    source = locate(opts);
  } catch (e) {
    return Promise.reject(e);
  }
  let p = cache.get(source);
  if (!p) {
    p = instantiate(source);
    p.catch(() => cache.delete(source));
    cache.set(source, p);
  }
  return p;
}
