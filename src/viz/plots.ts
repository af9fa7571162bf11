/**
 * Scatter plots (e.g. latent means coloured by class) and line plots (e.g.
 * losses over training) drawn on a canvas, with axes, numeric ticks, axis
 * titles and a legend to the right of the plot area.
 *
 * The layout is a pure function of the data and the options (`scatterLayout`,
 * `lineLayout`), and `dataToPixel` maps data to pixels through it: the
 * drawing code and anyone checking a picture use the same mapping.
 */
import {
  classColour, createCanvas, drawPolyline, drawText, drawTextUp, fillCircle, fillRect, strokeRect, textHeight, textWidth,
  type Canvas, type Rgba,
} from './raster.ts';

/** Colours of the plot furniture. */
export const PLOT_COLOURS = {
  background: [255, 255, 255, 255] as Rgba,
  text: [34, 34, 34, 255] as Rgba,
  axis: [85, 85, 85, 255] as Rgba,
  grid: [232, 232, 232, 255] as Rgba,
  legendBorder: [200, 200, 200, 255] as Rgba,
} as const;

export interface PlotOptions {
  readonly width: number;
  readonly height: number;
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Integer text magnification (default 1, or 2 when both sides are at least 900 pixels). */
  readonly textScale?: number;
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Where everything goes: the plot area, the data ranges it shows, ticks, legend. */
export interface PlotFrame {
  readonly width: number;
  readonly height: number;
  readonly textScale: number;
  /** The plot area; data [xMin, xMax] × [yMin, yMax] maps onto it exactly. */
  readonly plot: Box;
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
  readonly yMax: number;
  readonly xTicks: readonly number[];
  readonly yTicks: readonly number[];
  /** The tick labels, as drawn. */
  readonly xTickLabels: readonly string[];
  readonly yTickLabels: readonly string[];
  /** The legend box, or null when there is nothing to list. */
  readonly legend: Box | null;
  /** Top-left corner of each legend entry's text. */
  readonly legendText: readonly { readonly x: number; readonly y: number }[];
}

/** Maps a data point to continuous pixel coordinates (y grows downwards). */
export function dataToPixel(f: PlotFrame, x: number, y: number): [number, number] {
  return [f.plot.x + ((x - f.xMin) / (f.xMax - f.xMin)) * f.plot.w, f.plot.y + f.plot.h - ((y - f.yMin) / (f.yMax - f.yMin)) * f.plot.h];
}

/**
 * Ticks at multiples of a 1-2-5 step inside [lo, hi]: the finest step giving
 * at most about `maxCount` ticks, made finer if needed so there are at least two.
 */
export function niceTicks(lo: number, hi: number, maxCount: number): { ticks: number[]; step: number } {
  const raw = (hi - lo) / Math.max(1, maxCount);
  let exp = Math.floor(Math.log10(raw));
  const norm = raw / 10 ** exp;
  let k = norm <= 1 ? 0 : norm <= 2 ? 1 : norm <= 5 ? 2 : 3;
  for (;;) {
    if (k === 3) (k = 0), exp++;
    const step = [1, 2, 5][k]! * 10 ** exp;
    const ticks: number[] = [];
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(i * step);
    if (ticks.length >= 2 || !(hi > lo)) return { ticks, step };
    // Too coarse for the range: one notch finer (5 → 2 → 1 → 0.5 ...).
    k === 0 ? ((k = 2), exp--) : k--;
  }
}

/**
 * Labels of ticks spaced by `step`: just enough decimals to tell them apart,
 * in fixed notation, or in exponent notation (2.5e7, 3e-6) for the whole
 * axis when that is shorter.
 */
export function formatTicks(ticks: readonly number[], step: number): string[] {
  const zero = (v: number) => Math.abs(v) < Math.abs(step) * 1e-6;
  const stepExp = Math.floor(Math.log10(Math.abs(step)) + 1e-9);
  const fixed = ticks.map((v) => (zero(v) ? '0' : v.toFixed(Math.max(0, -stepExp))));
  const exp = ticks.map((v) => (zero(v) ? '0' : v.toExponential(Math.min(15, Math.max(0, Math.floor(Math.log10(Math.abs(v))) - stepExp))).replace('e+', 'e')));
  const longest = (labels: readonly string[]) => Math.max(0, ...labels.map((l) => l.length));
  return longest(exp) < longest(fixed) ? exp : fixed;
}

/** [lo, hi] of the finite values, widened by `margin` of the span on each side; never empty. */
export function dataRange(values: Iterable<number>, margin: number): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * margin;
  return [lo - d, hi + d];
}

interface LayoutInput {
  readonly xRange: [number, number];
  readonly yRange: [number, number];
  readonly legendNames: readonly string[];
}

/** Computes the frame: margins from the text it must hold, ticks spaced so their labels never overlap. */
function layout(opts: PlotOptions, input: LayoutInput, what: string): PlotFrame {
  const { width, height } = opts;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: size ${width}×${height} must be positive integers`);
  }
  const s = opts.textScale ?? (width >= 900 && height >= 900 ? 2 : 1);
  if (!Number.isInteger(s) || s < 1) throw new Error(`${what}: textScale ${s} must be a positive integer`);
  const th = textHeight(s), gap = 4 * s, tick = 4 * s, pad = 8 * s;
  const [xMin, xMax] = input.xRange, [yMin, yMax] = input.yRange;

  const top = pad + (opts.title ? th + 2 * gap : Math.ceil(th / 2));
  const bottomMargin = pad + th + gap + tick + (opts.xLabel ? th + 2 * gap : 0);
  const plotH = height - top - bottomMargin;
  const y = niceTicks(yMin, yMax, Math.max(2, Math.floor(plotH / (4 * th))));
  const yLabels = formatTicks(y.ticks, y.step);
  const yLabelW = Math.max(0, ...yLabels.map((l) => textWidth(l, s)));
  const left = pad + (opts.yLabel ? th + 2 * gap : 0) + yLabelW + gap + tick;

  // Legend: entries of swatch + name in rows, in several columns when one would not fit the height.
  const rowH = th + gap;
  const names = input.legendNames;
  const perCol = Math.max(1, Math.floor((height - top - pad - gap) / rowH));
  const legendCols = Math.ceil(names.length / perCol);
  const colW = th + gap + Math.max(0, ...names.map((n) => textWidth(n, s))) + gap;
  const legendW = names.length ? gap + legendCols * colW : 0;
  const legendH = names.length ? 2 * gap + Math.min(perCol, names.length) * rowH - gap : 0;
  // Room for half of the widest x tick label past the right edge of the plot area.
  const xGuess = niceTicks(xMin, xMax, 10);
  const halfX = Math.ceil(Math.max(0, ...formatTicks(xGuess.ticks, xGuess.step).map((l) => textWidth(l, s))) / 2);
  const rightMargin = names.length ? pad + legendW + pad : Math.max(pad, halfX + 2 * s);
  const plotW = width - left - rightMargin;
  if (plotW < 16 || plotH < 16) {
    throw new Error(`${what}: a ${width}×${height} canvas leaves a ${plotW}×${plotH} plot area after margins for labels and legend; make it larger`);
  }

  // Fewer x ticks until neighbouring labels are 3 gaps apart; for extreme ranges, keep every m-th tick.
  const fits = (ticks: readonly number[], step: number) => {
    const w = Math.max(...formatTicks(ticks, step).map((l) => textWidth(l, s)));
    return ticks.length <= 1 || w + 3 * gap <= ((ticks[1]! - ticks[0]!) / (xMax - xMin)) * plotW;
  };
  let target = Math.max(2, Math.floor(plotW / (50 * s)));
  let x = niceTicks(xMin, xMax, target);
  while (!fits(x.ticks, x.step) && target > 2) x = niceTicks(xMin, xMax, --target);
  const all = x.ticks;
  for (let m = 2; !fits(x.ticks, x.step); m++) x = { step: x.step, ticks: all.filter((_, i) => i % m === 0) };

  const plot: Box = { x: left, y: top, w: plotW, h: plotH };
  const legend: Box | null = names.length ? { x: left + plotW + pad, y: top, w: legendW, h: legendH } : null;
  const legendText = names.map((_, k) => ({ x: left + plotW + pad + gap + Math.floor(k / perCol) * colW + th + gap, y: top + gap + (k % perCol) * rowH }));
  return { width, height, textScale: s, plot, xMin, xMax, yMin, yMax, xTicks: x.ticks, yTicks: y.ticks, xTickLabels: formatTicks(x.ticks, x.step), yTickLabels: yLabels, legend, legendText };
}

/** Gridlines behind the data. */
function drawGrid(c: Canvas, f: PlotFrame): void {
  const { plot } = f;
  for (const v of f.xTicks) fillRect(c, Math.floor(dataToPixel(f, v, f.yMin)[0]), plot.y, 1, plot.h, PLOT_COLOURS.grid);
  for (const v of f.yTicks) fillRect(c, plot.x, Math.floor(dataToPixel(f, f.xMin, v)[1]), plot.w, 1, PLOT_COLOURS.grid);
}

/** Frame, ticks, tick labels, title and axis titles, over the data. */
function drawAxes(c: Canvas, f: PlotFrame, opts: PlotOptions): void {
  const s = f.textScale, th = textHeight(s), gap = 4 * s, tick = 4 * s, pad = 8 * s;
  const { plot } = f;
  const { axis, text } = PLOT_COLOURS;
  strokeRect(c, plot.x - 1, plot.y - 1, plot.w + 2, plot.h + 2, axis);
  f.xTicks.forEach((v, i) => {
    const px = Math.floor(dataToPixel(f, v, f.yMin)[0]);
    fillRect(c, px, plot.y + plot.h + 1, Math.max(1, s), tick, axis);
    const label = f.xTickLabels[i]!;
    drawText(c, label, px - Math.floor(textWidth(label, s) / 2), plot.y + plot.h + 1 + tick + gap, text, s);
  });
  f.yTicks.forEach((v, i) => {
    const py = Math.floor(dataToPixel(f, f.xMin, v)[1]);
    fillRect(c, plot.x - 1 - tick, py, tick, Math.max(1, s), axis);
    const label = f.yTickLabels[i]!;
    drawText(c, label, plot.x - 1 - tick - gap - textWidth(label, s), py - Math.floor(th / 2), text, s);
  });
  if (opts.title) drawText(c, opts.title, plot.x + Math.floor((plot.w - textWidth(opts.title, s)) / 2), pad, text, s);
  if (opts.xLabel) drawText(c, opts.xLabel, plot.x + Math.floor((plot.w - textWidth(opts.xLabel, s)) / 2), f.height - pad - th, text, s);
  if (opts.yLabel) drawTextUp(c, opts.yLabel, pad, plot.y + Math.floor((plot.h + textWidth(opts.yLabel, s)) / 2), text, s);
}

/** Legend box with one entry per name; `swatch` draws an entry's marker in the square at (x, y) of side `size`. */
function drawLegend(c: Canvas, f: PlotFrame, names: readonly string[], swatch: (k: number, x: number, y: number, size: number) => void): void {
  if (!f.legend) return;
  const s = f.textScale, th = textHeight(s), gap = 4 * s;
  const { x, y, w, h } = f.legend;
  fillRect(c, x, y, w, h, PLOT_COLOURS.background);
  strokeRect(c, x, y, w, h, PLOT_COLOURS.legendBorder);
  names.forEach((name, k) => {
    const t = f.legendText[k]!;
    swatch(k, t.x - gap - th, t.y, th);
    drawText(c, name, t.x, t.y, PLOT_COLOURS.text, s);
  });
}

/** One point of a scatter plot; `label` is its class index (its colour is `classColour(label)`). */
export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly label: number;
}

export interface ScatterOptions extends PlotOptions {
  /** Dot radius in pixels (default 2.5 up to 1,000 points, 1.5 above). */
  readonly radius?: number;
  /** Dot opacity (default 1 up to 1,000 points, 0.5 above, so dense clusters show their density). */
  readonly alpha?: number;
}

/** Layout of `scatterPlot`: data range padded by 5% on each side, one legend entry per class name. */
export function scatterLayout(points: readonly ScatterPoint[], classNames: readonly string[], opts: ScatterOptions): PlotFrame {
  return layout(opts, { xRange: dataRange(points.map((p) => p.x), 0.05), yRange: dataRange(points.map((p) => p.y), 0.05), legendNames: classNames }, 'scatterPlot');
}

/**
 * Scatter plot of labelled points, each a dot in its class colour, drawn in
 * the given order; points with a non-finite coordinate are left out. The
 * legend lists `classNames[k]` beside the colour of class k.
 */
export function scatterPlot(points: readonly ScatterPoint[], classNames: readonly string[], opts: ScatterOptions): Canvas {
  const f = scatterLayout(points, classNames, opts);
  const c = createCanvas(f.width, f.height, PLOT_COLOURS.background);
  drawGrid(c, f);
  const many = points.length > 1000;
  const radius = opts.radius ?? (many ? 1.5 : 2.5);
  const alpha = opts.alpha ?? (many ? 0.5 : 1);
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const [px, py] = dataToPixel(f, p.x, p.y);
    const col = classColour(p.label);
    fillCircle(c, px, py, radius, [col[0], col[1], col[2], Math.round(col[3] * alpha)]);
  }
  drawAxes(c, f, opts);
  drawLegend(c, f, classNames, (k, x, y, size) => fillCircle(c, x + size / 2, y + size / 2, size / 2 - 0.5, classColour(k)));
  return c;
}

/** A named series of [x, y] points; non-finite points break the line. */
export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Default: classColour of the series' index. */
  readonly colour?: Rgba;
}

export interface LinePlotOptions extends PlotOptions {
  /** Line width in pixels (default 2, times the text scale). */
  readonly lineWidth?: number;
}

/** Layout of `linePlot`: x spans the data exactly, y is padded by 5%; one legend entry per series. */
export function lineLayout(series: readonly LineSeries[], opts: LinePlotOptions): PlotFrame {
  const xs = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[1])).map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[0])).map((p) => p[1]));
  return layout(opts, { xRange: dataRange(xs, 0), yRange: dataRange(ys, 0.05), legendNames: series.map((s) => s.name) }, 'linePlot');
}

/** Colour of series i: its own, or the class palette's. */
export function seriesColour(series: readonly LineSeries[], i: number): Rgba {
  return series[i]!.colour ?? classColour(i);
}

/** Line plot of one or more series; an isolated point is drawn as a dot. */
export function linePlot(series: readonly LineSeries[], opts: LinePlotOptions): Canvas {
  const f = lineLayout(series, opts);
  const c = createCanvas(f.width, f.height, PLOT_COLOURS.background);
  drawGrid(c, f);
  const lw = opts.lineWidth ?? 2 * f.textScale;
  series.forEach((s, i) => {
    const colour = seriesColour(series, i);
    const px = s.points.map(([x, y]) => (Number.isFinite(x) && Number.isFinite(y) ? dataToPixel(f, x, y) : ([NaN, NaN] as [number, number])));
    drawPolyline(c, px, colour, { width: lw });
    px.forEach(([x, y], k) => {
      const alone = !Number.isFinite(px[k - 1]?.[0] ?? NaN) && !Number.isFinite(px[k + 1]?.[0] ?? NaN);
      if (alone && Number.isFinite(x)) fillCircle(c, x, y, lw, colour);
    });
  });
  drawAxes(c, f, opts);
  drawLegend(c, f, series.map((s) => s.name), (k, x, y, size) =>
    drawPolyline(c, [[x, y + size / 2], [x + size, y + size / 2]], seriesColour(series, k), { width: Math.min(lw, size / 2) }),
  );
  return c;
}
