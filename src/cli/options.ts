/**
 * Command-line options: parsed with node:util's parseArgs (strict: unknown
 * options are errors) and converted with errors that name the option, the
 * value and what was expected.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; help: string; default?: string }>;

export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

export function parse(command: string, spec: OptionSpec, argv: readonly string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [k, v] of Object.entries(spec)) options[k] = { type: v.type, ...(v.short ? { short: v.short } : {}) };
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (see \`webgpu-vae ${command} --help\`)`);
  }
}

export function helpText(command: string, synopsis: string, about: string, spec: OptionSpec): string {
  const rows = Object.entries(spec).map(([k, v]) => {
    const flag = `--${k}${v.type === 'string' ? ' <value>' : ''}`;
    return `  ${flag.padEnd(30)} ${v.help}${v.default !== undefined ? ` (default ${v.default})` : ''}`;
  });
  return [`usage: webgpu-vae ${command} ${synopsis}`, '', about, '', 'options:', ...rows, `  ${'--help'.padEnd(30)} show this help`].join('\n');
}

export function str(p: Parsed, name: string, dflt: string): string {
  const v = p.values[name];
  return typeof v === 'string' ? v : dflt;
}

export function int(p: Parsed, name: string, dflt: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = p.values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: got ${JSON.stringify(v)}; expected an integer${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` ≥ ${min}`}`);
  }
  return n;
}

export function num(p: Parsed, name: string, dflt: number, min = -Infinity, max = Infinity): number {
  const v = p.values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: got ${JSON.stringify(v)}; expected a number${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` and ≤ ${max}` : ''}`);
  }
  return n;
}

export function choice<T extends string>(p: Parsed, name: string, options: readonly T[], dflt: T): T {
  const v = p.values[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw new UsageError(`--${name}: got ${JSON.stringify(v)}; expected one of ${options.join(', ')}`);
  }
  return v as T;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** Exactly `n` positional arguments, named for the error message. */
export function positionals(command: string, p: Parsed, names: readonly string[]): string[] {
  if (p.positionals.length !== names.length) {
    throw new UsageError(`${command}: expected ${names.length ? names.map((n) => `<${n}>`).join(' ') : 'no positional arguments'}, got ${p.positionals.length ? p.positionals.map((s) => JSON.stringify(s)).join(' ') : 'none'} (see \`webgpu-vae ${command} --help\`)`);
  }
  return p.positionals;
}
