/**
 * The compact form the page downloads a dataset in (made once by the dev
 * server or at build time, never the 21 MB of JSON): "VAEPACK1", a u32
 * little-endian header length, a JSON header, zero padding to 4 bytes, then
 * for each set its images as bytes (v/255, count × numel(shape)) followed by
 * its labels as bytes (count, when it has labels).
 */
import type { Dataset } from '../../src/index.ts';

const MAGIC = 'VAEPACK1';

interface SetHeader {
  readonly name: string;
  readonly shape: readonly number[];
  readonly count: number;
  readonly labels: boolean;
}

interface Header {
  readonly sets: readonly SetHeader[];
  readonly classes: readonly string[] | null;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Packs byte datasets (labels 0..255) into one file. */
export function packDatasets(sets: readonly Dataset[]): Uint8Array {
  for (const s of sets) {
    if (!(s.data instanceof Uint8Array)) throw new Error(`packDatasets: ${s.name} is not stored as bytes`);
    if (s.labels?.some((l) => l < 0 || l > 255)) throw new Error(`packDatasets: ${s.name} has labels outside 0..255`);
  }
  const header: Header = {
    sets: sets.map((s) => ({ name: s.name, shape: s.shape, count: s.count, labels: s.labels !== null })),
    classes: sets[0]?.classes ? [...sets[0].classes] : null,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  const total = start + sets.reduce((n, s) => n + s.data.length + (s.labels ? s.count : 0), 0);
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let pos = start;
  for (const s of sets) {
    out.set(s.data as Uint8Array, pos);
    pos += s.data.length;
    if (s.labels) {
      out.set(Uint8Array.from(s.labels), pos);
      pos += s.count;
    }
  }
  return out;
}

/** Unpacks a file made by packDatasets, checking every size against the bytes present. */
export function unpackDatasets(buf: Uint8Array, source: string): Dataset[] {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) fail(`not a packed dataset (expected the ${MAGIC} header)`);
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + len > buf.length) fail(`header length ${len} runs past the end of the ${buf.length}-byte file`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + len))) as Header;
  } catch (e) {
    return fail(`header is not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(header.sets)) fail('header has no "sets" array');
  let pos = Math.ceil((12 + len) / 4) * 4;
  return header.sets.map((s) => {
    const n = s.count * numel(s.shape);
    const need = n + (s.labels ? s.count : 0);
    if (!Number.isInteger(n) || n <= 0 || pos + need > buf.length) fail(`set ${s.name}: ${need} bytes needed at offset ${pos}, the file has ${buf.length}`);
    const data = buf.slice(pos, pos + n);
    pos += n;
    const labels = s.labels ? Int32Array.from(buf.subarray(pos, pos + s.count)) : null;
    if (s.labels) pos += s.count;
    return { name: s.name, shape: s.shape, count: s.count, data, labels, ...(header.classes ? { classes: header.classes } : {}) };
  });
}
