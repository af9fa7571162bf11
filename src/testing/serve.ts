/**
 * A static file server for a folder on 127.0.0.1: a page served from there is
 * a secure context, so `navigator.gpu` exists (a file: or data: URL, or a LAN
 * address over plain http, gets no WebGPU). No bundler: the folder's files are
 * served as they are, so a page imports ES modules by path or through an
 * import map (e.g. `"webgpu-vae/kernels": "/node_modules/webgpu-vae/dist/kernels/index.js"`).
 */
import { createReadStream, statSync, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

export interface ServeOptions {
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
  /** Serve with COOP/COEP headers, so the page is cross-origin isolated (SharedArrayBuffer, WebAssembly threads). */
  readonly crossOriginIsolated?: boolean;
  /** More response headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FolderServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** The folder being served (absolute). */
  readonly root: string;
  /** Stops the server and drops its open connections. */
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
};

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** The file a request path names inside `root`, or null (outside the folder, missing, or a folder without index.html). */
function fileFor(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  let file = resolve(join(root, decoded));
  if (file !== root && !file.startsWith(root + sep)) return null;
  let st = statOrNull(file);
  if (st?.isDirectory()) {
    file = join(file, 'index.html');
    st = statOrNull(file);
  }
  return st?.isFile() ? file : null;
}

/**
 * Serves `folder` on http://127.0.0.1 until `close()`. GET and HEAD only;
 * a folder serves its index.html; nothing outside the folder is served.
 */
export async function serveFolder(folder: string, opts: ServeOptions = {}): Promise<FolderServer> {
  const root = resolve(folder);
  if (!statOrNull(root)?.isDirectory()) throw new Error(`serveFolder: ${root} is not a folder`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`serveFolder: port ${port} is not an integer in 0..65535`);
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    ...(opts.crossOriginIsolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    ...opts.headers,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end(`${req.method} is not served: GET or HEAD only\n`);
      return;
    }
    const urlPath = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = fileFor(root, urlPath);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${urlPath}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('serveFolder: the server has no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    port: addr.port,
    root,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
