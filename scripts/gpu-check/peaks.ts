/**
 * A rough table of what an adapter of a given kind can do at best, to put
 * the measured rates in proportion: float32 arithmetic (GFLOP/s) and memory
 * bandwidth (GB/s) of a typical part of that vendor and class. These are
 * orders of magnitude from public specifications of common parts, not the
 * datasheet of the adapter at hand and not a measurement: a given GPU may be
 * several times above or below its row.
 */
import { isSoftwareAdapter, type AdapterDescription } from '../../src/gpu/profile.ts';

export interface PeakGuess {
  /** Which row of the table matched, in words. */
  readonly kind: string;
  readonly gflops: number;
  readonly gbps: number;
  readonly note: string;
}

export const PEAK_NOTE = 'rough peak for this kind of adapter from a fixed table (scripts/gpu-check/peaks.ts), not this device\'s datasheet and not measured';

interface Row {
  readonly kind: string;
  readonly match: (text: string, info: AdapterDescription) => boolean;
  readonly gflops: number;
  readonly gbps: number;
}

const ROWS: readonly Row[] = [
  // A software rasterizer runs on a few CPU cores: SIMD float32 at a few GHz, DRAM bandwidth.
  { kind: 'software rasterizer on the CPU (SwiftShader, llvmpipe, WARP)', match: (_, i) => isSoftwareAdapter(i), gflops: 100, gbps: 20 },
  { kind: 'Apple silicon GPU (M1-class)', match: (t) => /apple|metal/.test(t), gflops: 2600, gbps: 68 },
  { kind: 'NVIDIA discrete GPU (mid-range, e.g. RTX 3060)', match: (t) => /nvidia/.test(t), gflops: 12000, gbps: 360 },
  { kind: 'AMD discrete GPU (mid-range, e.g. RX 6600)', match: (t) => /\bamd\b|ati|radeon/.test(t) && !/vega 8|680m|780m|integrated/.test(t), gflops: 9000, gbps: 224 },
  { kind: 'AMD integrated GPU (e.g. Radeon 680M)', match: (t) => /\bamd\b|ati|radeon/.test(t), gflops: 3000, gbps: 60 },
  { kind: 'Intel integrated GPU (e.g. Iris Xe)', match: (t) => /intel/.test(t) && !/arc/.test(t), gflops: 2000, gbps: 60 },
  { kind: 'Intel Arc discrete GPU (e.g. A750)', match: (t) => /intel/.test(t), gflops: 17000, gbps: 512 },
  { kind: 'mobile GPU (Qualcomm Adreno, ARM Mali, Imagination)', match: (t) => /qualcomm|adreno|\barm\b|mali|imagination|powervr/.test(t), gflops: 1500, gbps: 40 },
];

/** The table's guess for an adapter, or null when no row matches it. */
export function peakFor(info: AdapterDescription): PeakGuess | null {
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`.toLowerCase();
  const row = ROWS.find((r) => r.match(text, info));
  return row ? { kind: row.kind, gflops: row.gflops, gbps: row.gbps, note: PEAK_NOTE } : null;
}
