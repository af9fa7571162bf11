/** Putting the library's RGBA pictures on page canvases, and 28×28 image batches for its grids. */
import type { GrayBatch } from '../../src/viz/grid.ts';
import type { Canvas as RasterImage } from '../../src/viz/raster.ts';

/** Draws a picture on a canvas at its own size (CSS may scale it). */
export function paint(el: HTMLCanvasElement, img: RasterImage, cssScale = 1): void {
  if (el.width !== img.width || el.height !== img.height) {
    el.width = img.width;
    el.height = img.height;
    el.style.width = `${img.width * cssScale}px`;
  }
  const ctx = el.getContext('2d');
  if (!ctx) throw new Error('canvas 2d context unavailable');
  ctx.putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height), 0, 0);
}

/** `count` images of 28×28 values, clamped to [0, 1]. */
export function grayBatch(values: Float32Array, count: number): GrayBatch {
  return { data: values.map((v) => Math.min(1, Math.max(0, v))), count, height: 28, width: 28 };
}

/** Rows of byte images as floats in [0, 1]. */
export function rowsOf(data: Uint8Array | Float32Array, indices: readonly number[], d = 784): Float32Array {
  const out = new Float32Array(indices.length * d);
  indices.forEach((i, k) => {
    for (let j = 0; j < d; j++) out[k * d + j] = data instanceof Uint8Array ? data[i * d + j]! / 255 : data[i * d + j]!;
  });
  return out;
}
