/** Validation of the fields of a layer in untrusted JSON, with errors that name the field. */
import { ModelSpecError } from '../errors.ts';

export function positiveInt(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelSpecError(`${path}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function nonNegativeInt(v: unknown, path: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ModelSpecError(`${path}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

export function positiveNumber(v: unknown, path: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ModelSpecError(`${path}: expected a positive number, got ${JSON.stringify(v)}`);
  return v;
}

export function booleanField(v: unknown, path: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ModelSpecError(`${path}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}
