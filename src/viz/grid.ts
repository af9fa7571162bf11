/**
 * Grids of grayscale images (values in [0, 1], 0 black, 1 white), as the
 * trainer writes them: samples from the prior, and inputs over their
 * reconstructions. Images sit in cells separated by `pad` pixels of the
 * background colour, each image pixel a scale×scale block.
 */
import { blitGray, createCanvas, type Canvas, type Rgba } from './raster.ts';

/** `count` grayscale images of height×width, row-major, one after another in `data`. */
export interface GrayBatch {
  readonly data: ArrayLike<number>;
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

export interface GridOptions {
  /** Images per row (default: ceil(sqrt(count))). */
  readonly cols?: number;
  /** Pixels between cells and around the grid (default 2). */
  readonly pad?: number;
  /** Integer magnification of each image (default 1). */
  readonly scale?: number;
  /** Colour of the padding and of empty cells (default mid gray). */
  readonly background?: Rgba;
}

/** Default padding colour: mid gray, distinct from black and white images. */
export const GRID_BACKGROUND: Rgba = [128, 128, 128, 255];

/** Pixel geometry of a grid: the top-left corner of every row and column of cells. */
export interface GridLayout {
  readonly width: number;
  readonly height: number;
  readonly rows: number;
  readonly cols: number;
  /** Size of one cell (a scaled image) in pixels. */
  readonly cellWidth: number;
  readonly cellHeight: number;
  /** x of column c's left edge, y of row r's top edge. */
  readonly colX: readonly number[];
  readonly rowY: readonly number[];
}

function checkBatch(what: string, b: GrayBatch): void {
  const { count, height, width } = b;
  if (![count, height, width].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`${what}: count ${count}, height ${height}, width ${width} must be positive integers`);
  }
  if (b.data.length !== count * height * width) {
    throw new Error(`${what}: ${count} images of ${height}×${width} need ${count * height * width} values; got ${b.data.length}`);
  }
}

function options(what: string, count: number, opts: GridOptions): { cols: number; pad: number; scale: number } {
  const cols = opts.cols ?? Math.ceil(Math.sqrt(count));
  const pad = opts.pad ?? 2;
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`${what}: cols ${cols} must be a positive integer`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${what}: pad ${pad} must be a non-negative integer`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`${what}: scale ${scale} must be a positive integer`);
  return { cols, pad, scale };
}

/**
 * Geometry of `rows`×`cols` cells of height×width images. `groupRows` > 1
 * adds `groupGap` extra pixels after every group of that many rows (used to
 * set input/reconstruction pairs apart).
 */
export function gridLayout(rows: number, cols: number, height: number, width: number, pad: number, scale: number, groupRows = 1, groupGap = 0): GridLayout {
  const cellWidth = width * scale, cellHeight = height * scale;
  const colX = Array.from({ length: cols }, (_, c) => pad + c * (cellWidth + pad));
  const rowY: number[] = [];
  let y = pad;
  for (let r = 0; r < rows; r++) {
    rowY.push(y);
    y += cellHeight + pad + (groupRows > 1 && (r + 1) % groupRows === 0 && r + 1 < rows ? groupGap : 0);
  }
  return { width: pad + cols * (cellWidth + pad), height: y, rows, cols, cellWidth, cellHeight, colX, rowY };
}

/** Layout of `imageGrid` for a batch: image k in row floor(k / cols), column k % cols. */
export function imageGridLayout(batch: GrayBatch, opts: GridOptions = {}): GridLayout {
  checkBatch('imageGrid', batch);
  const { cols, pad, scale } = options('imageGrid', batch.count, opts);
  const c = Math.min(cols, batch.count);
  return gridLayout(Math.ceil(batch.count / c), c, batch.height, batch.width, pad, scale);
}

/** Draws a batch of grayscale images in a grid (see `imageGridLayout`). */
export function imageGrid(batch: GrayBatch, opts: GridOptions = {}): Canvas {
  const layout = imageGridLayout(batch, opts);
  const scale = opts.scale ?? 1;
  const canvas = createCanvas(layout.width, layout.height, opts.background ?? GRID_BACKGROUND);
  const n = batch.height * batch.width;
  for (let k = 0; k < batch.count; k++) {
    const x = layout.colX[k % layout.cols]!, y = layout.rowY[Math.floor(k / layout.cols)]!;
    blitGray(canvas, batch.data, batch.height, batch.width, x, y, scale, k * n);
  }
  return canvas;
}

/**
 * Layout of `pairGrid`: for image k, with r = floor(k / cols), its input is
 * in row 2r and its reconstruction in row 2r+1, both in column k % cols;
 * pairs of rows are set apart by 2·pad extra pixels (at least 4).
 */
export function pairGridLayout(inputs: GrayBatch, recons: GrayBatch, opts: GridOptions = {}): GridLayout {
  checkBatch('pairGrid inputs', inputs);
  checkBatch('pairGrid reconstructions', recons);
  if (inputs.count !== recons.count || inputs.height !== recons.height || inputs.width !== recons.width) {
    throw new Error(
      `pairGrid: inputs are ${inputs.count} of ${inputs.height}×${inputs.width}, reconstructions ${recons.count} of ${recons.height}×${recons.width}; they must match`,
    );
  }
  const { cols, pad, scale } = options('pairGrid', inputs.count, { cols: Math.min(inputs.count, 8), ...opts });
  const c = Math.min(cols, inputs.count);
  return gridLayout(2 * Math.ceil(inputs.count / c), c, inputs.height, inputs.width, pad, scale, 2, Math.max(4, 2 * pad));
}

/** Draws inputs over their reconstructions (see `pairGridLayout`); 8 pairs per row by default. */
export function pairGrid(inputs: GrayBatch, recons: GrayBatch, opts: GridOptions = {}): Canvas {
  const layout = pairGridLayout(inputs, recons, opts);
  const scale = opts.scale ?? 1;
  const canvas = createCanvas(layout.width, layout.height, opts.background ?? GRID_BACKGROUND);
  const n = inputs.height * inputs.width;
  for (let k = 0; k < inputs.count; k++) {
    const x = layout.colX[k % layout.cols]!, r = 2 * Math.floor(k / layout.cols);
    blitGray(canvas, inputs.data, inputs.height, inputs.width, x, layout.rowY[r]!, scale, k * n);
    blitGray(canvas, recons.data, recons.height, recons.width, x, layout.rowY[r + 1]!, scale, k * n);
  }
  return canvas;
}
