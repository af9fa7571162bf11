/**
 * A model as one safetensors file, in memory (no file system): the
 * parameters under PyTorch's state_dict names and layouts, and the model
 * definition as JSON in the metadata ("webgpu_vae_spec") so the file alone
 * says what it holds. A file without that entry (one saved by PyTorch) is
 * read against a model the caller names. Loading checks every tensor against
 * the model: present, same shape, finite, nothing extra.
 */
import { buildForward } from '../graph/build.ts';
import { parseModelSpec, type ModelSpec } from '../model/spec.ts';
import { readSafetensors, tensorAsF32, writeSafetensors, type TensorToWrite } from './safetensors.ts';

/** Metadata key of the model definition (JSON). */
export const SPEC_METADATA_KEY = 'webgpu_vae_spec';
/** Largest model file read (1 GiB). */
export const MAX_MODEL_FILE_BYTES = 2 ** 30;

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

function firstNonFinite(v: Float32Array): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}

/** Encodes parameters (by state_dict name) and the model definition; refuses missing or non-finite values. */
export function encodeModelFile(spec: ModelSpec, params: ReadonlyMap<string, Float32Array>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const tensors: TensorToWrite[] = [];
  for (const p of buildForward(spec, 1).params) {
    const v = params.get(p.name);
    if (!v) throw new ModelFileError(`model file: parameter '${p.name}' [${p.shape.join(', ')}] is missing`);
    const bad = firstNonFinite(v);
    if (bad >= 0) throw new ModelFileError(`model file not written: ${p.name}[${bad}] = ${v[bad]} is not finite`);
    tensors.push({ name: p.name, shape: p.shape, data: v });
  }
  return writeSafetensors(tensors, { format: 'pt', ...metadata, [SPEC_METADATA_KEY]: JSON.stringify(spec) });
}

/**
 * Decodes a model file. The model is the one in the file's metadata, or
 * `fallback` when the file has none (a PyTorch state_dict); with neither,
 * the error says so.
 */
export function decodeModelFile(bytes: Uint8Array, fallback: ModelSpec | null, source = 'model file'): { spec: ModelSpec; params: Map<string, Float32Array>; metadata: Record<string, string> } {
  const file = readSafetensors(bytes, { source, maxBytes: MAX_MODEL_FILE_BYTES });
  let spec: ModelSpec;
  const text = file.metadata[SPEC_METADATA_KEY];
  if (text !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ModelFileError(`${source}: metadata '${SPEC_METADATA_KEY}' is not valid JSON (${(e as Error).message})`);
    }
    try {
      spec = parseModelSpec(raw);
    } catch (e) {
      throw new ModelFileError(`${source}: metadata '${SPEC_METADATA_KEY}': ${(e as Error).message}`);
    }
  } else if (fallback) {
    spec = fallback;
  } else {
    throw new ModelFileError(`${source}: the file does not describe its model (no '${SPEC_METADATA_KEY}' metadata); choose the model first`);
  }
  const expected = buildForward(spec, 1).params;
  const params = new Map<string, Float32Array>();
  for (const p of expected) {
    const t = file.tensors.get(p.name);
    if (!t) throw new ModelFileError(`${source}: tensor '${p.name}' [${p.shape.join(', ')}] is missing (the file has: ${[...file.tensors.keys()].join(', ') || 'none'})`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new ModelFileError(`${source}: tensor '${p.name}' has shape [${t.shape.join(', ')}]; the model needs [${p.shape.join(', ')}]`);
    }
    const v = tensorAsF32(t, `${source}: ${p.name}`);
    const bad = firstNonFinite(v);
    if (bad >= 0) throw new ModelFileError(`${source}: ${p.name}[${bad}] = ${v[bad]} is not finite`);
    params.set(p.name, v);
  }
  for (const k of file.tensors.keys()) {
    if (!expected.some((p) => p.name === k)) throw new ModelFileError(`${source}: tensor '${k}' is not a parameter of this model`);
  }
  return { spec, params, metadata: { ...file.metadata } };
}
