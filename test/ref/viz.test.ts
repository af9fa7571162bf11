/** Pictures as pixels: font glyphs, shapes, image grids, scatter and line plots checked pixel by pixel. */
import { test } from 'node:test';
import {
  BLACK, CLASS_PALETTE, NAN_COLOUR, WHITE, classColour, createCanvas, drawLine, drawText, drawTextUp, fillCircle, getPixel, hexColour, textWidth,
  type Canvas, type Rgba,
} from '../../src/viz/raster.ts';
import { imageGrid, imageGridLayout, pairGrid, pairGridLayout } from '../../src/viz/grid.ts';
import {
  PLOT_COLOURS, dataToPixel, formatTicks, lineLayout, linePlot, niceTicks, scatterLayout, scatterPlot, type LineSeries, type ScatterPoint,
} from '../../src/viz/plots.ts';
import { expect, expectThrows, seeded } from '../support/check.ts';

const same = (a: Rgba, b: Rgba) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
const show = (c: Rgba) => `[${c.join(', ')}]`;

function expectPixel(c: Canvas, x: number, y: number, want: Rgba, what: string): void {
  const got = getPixel(c, x, y);
  expect(same(got, want), `${what}: pixel (${x}, ${y}) is ${show(got)}, expected ${show(want)}`);
}

/** Pixels equal to `colour` in the w×h box at (x, y). */
function countColour(c: Canvas, x: number, y: number, w: number, h: number, colour: Rgba): number {
  let n = 0;
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) if (same(getPixel(c, i, j), colour)) n++;
  return n;
}

// The 5×7 glyphs of 'A' and '4', written out independently of the font table.
const GLYPH_A = ['.###.', '#...#', '#...#', '#...#', '#####', '#...#', '#...#'];
const GLYPH_4 = ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'];

test('text: a known string draws the expected glyph pixels, scaled and advanced', () => {
  const c = createCanvas(40, 24);
  const w = drawText(c, 'A4', 3, 5, BLACK, 2);
  expect(w === textWidth('A4', 2) && w === 22, `drawText returned width ${w}, expected 22`);
  for (const [k, glyph] of [GLYPH_A, GLYPH_4].entries()) {
    // One extra pixel row and column around each glyph cell must stay white.
    for (let gy = -1; gy <= 7; gy++) {
      for (let gx = -1; gx <= 5; gx++) {
        const ink = glyph[gy]?.[gx] === '#';
        for (let s = 0; s < 4; s++) {
          const x = 3 + (k * 6 + gx) * 2 + (s & 1), y = 5 + gy * 2 + (s >> 1);
          expectPixel(c, x, y, ink ? BLACK : WHITE, `glyph '${'A4'[k]}' font pixel (${gx}, ${gy})`);
        }
      }
    }
  }
});

test('text: upward text is the glyph turned a quarter anticlockwise', () => {
  const c = createCanvas(12, 12);
  drawTextUp(c, 'A', 2, 9, BLACK);
  for (let gy = 0; gy < 7; gy++) for (let gx = 0; gx < 5; gx++) expectPixel(c, 2 + gy, 9 - 1 - gx, GLYPH_A[gy]![gx] === '#' ? BLACK : WHITE, `rotated 'A' (${gx}, ${gy})`);
});

test('shapes: lines and discs cover the pixels whose centres they contain', () => {
  const red: Rgba = [200, 10, 10, 255];
  const c = createCanvas(16, 16);
  // Round caps of radius 0.5 reach the centres of pixels 1 and 12 exactly.
  drawLine(c, 2, 5.5, 12, 5.5, red, { width: 1, antialias: false });
  for (let x = 0; x < 16; x++) {
    expectPixel(c, x, 5, x >= 1 && x <= 12 ? red : WHITE, 'horizontal line');
    expectPixel(c, x, 4, WHITE, 'above the line');
    expectPixel(c, x, 6, WHITE, 'below the line');
  }
  const d = createCanvas(16, 16);
  fillCircle(d, 8, 8, 3, red, { antialias: false });
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) expectPixel(d, x, y, Math.hypot(x + 0.5 - 8, y + 0.5 - 8) <= 3 ? red : WHITE, 'disc');
  }
  const e = createCanvas(16, 16);
  drawLine(e, 1, 1, 14, 11, red, { width: 2 });
  expectPixel(e, 7, 6, red, 'anti-aliased diagonal, centre pixel');
  expectPixel(e, 13, 2, WHITE, 'far from the diagonal');
});

test('palette: hex parsing and 30 distinct class colours', () => {
  expect(same(hexColour('#1f77b4'), [31, 119, 180, 255]) && same(hexColour('#01020380'), [1, 2, 3, 128]), 'hexColour');
  expect(same(CLASS_PALETTE[3]!, classColour(3)), 'palette order');
  const keys = new Set(Array.from({ length: 30 }, (_, k) => classColour(k).join(',')));
  expect(keys.size === 30, `only ${keys.size} distinct colours among 30 classes`);
});

/** n images of h×w; image k's pixel (i, j) is ((k*7 + i*w + j) % 256) / 255, exactly representable as a gray level. */
function batch(n: number, h: number, w: number, shift = 0) {
  const data = new Float32Array(n * h * w);
  for (let k = 0; k < n; k++) for (let p = 0; p < h * w; p++) data[k * h * w + p] = ((k * 7 + p + shift) % 256) / 255;
  return { data, count: n, height: h, width: w };
}
const gray = (v: number): Rgba => [Math.round(v * 255), Math.round(v * 255), Math.round(v * 255), 255];

test('grid: every pixel is its image pixel or the padding colour, by geometry computed here', () => {
  const [n, h, w, cols, pad, scale] = [7, 3, 5, 3, 2, 2];
  const bg: Rgba = [10, 200, 30, 255];
  const b = batch(n, h, w);
  const c = imageGrid(b, { cols, pad, scale, background: bg });
  const rows = 3;
  expect(c.width === pad + cols * (w * scale + pad) && c.height === pad + rows * (h * scale + pad), `grid size ${c.width}×${c.height}`);
  let cells = 0;
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const col = Math.floor((x - pad) / (w * scale + pad)), cx = x - pad - col * (w * scale + pad);
      const row = Math.floor((y - pad) / (h * scale + pad)), cy = y - pad - row * (h * scale + pad);
      const k = row * cols + col;
      const inside = x >= pad && y >= pad && cx < w * scale && cy < h * scale && k < n;
      const want = inside ? gray(b.data[k * h * w + Math.floor(cy / scale) * w + Math.floor(cx / scale)]!) : bg;
      expectPixel(c, x, y, want, inside ? `image ${k}` : 'padding');
      if (inside) cells++;
    }
  }
  expect(cells === n * h * w * scale * scale, `${cells} image pixels, expected ${n * h * w * scale * scale}`);
  const L = imageGridLayout(b, { cols, pad, scale });
  for (let k = 0; k < n; k++) {
    const cx = L.colX[k % cols]! + Math.floor((w * scale) / 2), cy = L.rowY[Math.floor(k / cols)]! + Math.floor((h * scale) / 2);
    expectPixel(c, cx, cy, gray(b.data[k * h * w + Math.floor(h / 2) * w + Math.floor(w / 2)]!), `centre of cell ${k}`);
  }
});

test('grid: inputs sit over their reconstructions; NaN pixels are magenta', async () => {
  const [n, h, w, cols, pad] = [5, 4, 4, 2, 1];
  const inputs = { data: new Float32Array(n * h * w), count: n, height: h, width: w };
  const recons = { data: new Float32Array(n * h * w), count: n, height: h, width: w };
  for (let k = 0; k < n; k++) {
    inputs.data.fill((10 + k) / 255, k * h * w, (k + 1) * h * w);
    recons.data.fill((100 + k) / 255, k * h * w, (k + 1) * h * w);
  }
  recons.data[4 * h * w] = NaN;
  const bg: Rgba = [1, 2, 3, 255];
  const c = pairGrid(inputs, recons, { cols, pad, background: bg });
  const L = pairGridLayout(inputs, recons, { cols, pad });
  const gapped = Math.max(4, 2 * pad);
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / cols), x = pad + (k % cols) * (w + pad) + 2;
    const yIn = pad + r * (2 * (h + pad) + gapped) + 2, yRec = yIn + h + pad;
    expect(L.rowY[2 * r] === yIn - 2 && L.rowY[2 * r + 1] === yRec - 2, `pair ${k}: layout rows ${L.rowY[2 * r]}, ${L.rowY[2 * r + 1]}`);
    expectPixel(c, x, yIn, gray((10 + k) / 255), `input ${k}`);
    expectPixel(c, x, yRec, gray((100 + k) / 255), `reconstruction ${k}`);
    if (r + 1 < Math.ceil(n / cols)) expectPixel(c, x, yRec + h - 2 + pad + 1, bg, `gap after pair row ${r}`);
  }
  expectPixel(c, pad, L.rowY[5]!, NAN_COLOUR, 'NaN pixel');
  expectPixel(c, L.colX[1]! + 1, L.rowY[4]! + 1, bg, 'empty cell');
  const fewer = { ...recons, count: 4, data: recons.data.subarray(0, 4 * h * w) };
  await expectThrows('mismatched batches', () => pairGrid(inputs, fewer), /pairGrid: inputs are 5 of 4×4, reconstructions 4 of 4×4/);
});

test('ticks: 1-2-5 steps, labels with just enough decimals', () => {
  const t = niceTicks(0, 1, 5);
  expect(t.step === 0.2 && t.ticks.length === 6, `niceTicks(0, 1, 5) = ${t.ticks} step ${t.step}`);
  const labels = formatTicks(t.ticks, t.step).join(' ');
  expect(labels === '0 0.2 0.4 0.6 0.8 1.0', `labels "${labels}"`);
  const u = niceTicks(-3.7, 512, 6);
  expect(u.step === 100 && u.ticks.join(',') === '0,100,200,300,400,500', `niceTicks(-3.7, 512, 6) = ${u.ticks}`);
  const fmt = (ticks: number[], step: number) => formatTicks(ticks, step).join(' ');
  expect(fmt([0.30000000000000004, -1e-17, -0.5], 0.1) === '0.3 0 -0.5', `float noise and negative zero: ${fmt([0.30000000000000004, -1e-17, -0.5], 0.1)}`);
  expect(fmt([2e7, 2.5e7, 3e7], 5e6) === '2.0e7 2.5e7 3.0e7', `large: ${fmt([2e7, 2.5e7, 3e7], 5e6)}`);
  expect(fmt([2e-6, 3e-6], 1e-6) === '2e-6 3e-6', `small: ${fmt([2e-6, 3e-6], 1e-6)}`);
  expect(fmt([21.81588, 21.8159], 1e-5) === '21.81588 21.81590', `fixed beats a longer exponent: ${fmt([21.81588, 21.8159], 1e-5)}`);
});

const CLASSES = ['zero', 'one', 'two', 'three'];
function clusters(): ScatterPoint[] {
  const pts: ScatterPoint[] = [];
  for (let i = 0; i < 60; i++) pts.push({ x: (i % 3) - 10 + 0.1 * (i % 7), y: -2 + 0.05 * (i % 11), label: i % 3 });
  pts.push({ x: 40, y: 25, label: 3 });
  return pts;
}

test('scatter: a point of class c is drawn in the class colour where the layout maps it', () => {
  const pts = clusters();
  const opts = { width: 400, height: 300, title: 'latent', xLabel: 'z0', yLabel: 'z1' };
  const c = scatterPlot(pts, CLASSES, opts);
  const f = scatterLayout(pts, CLASSES, opts);
  const [px, py] = dataToPixel(f, 40, 25);
  expectPixel(c, Math.floor(px), Math.floor(py), classColour(3), 'isolated point of class 3');
  for (const p of pts.slice(0, 3)) {
    const [qx, qy] = dataToPixel(f, p.x, p.y);
    const got = getPixel(c, Math.floor(qx), Math.floor(qy));
    expect(CLASS_PALETTE.slice(0, 3).some((k) => same(k, got)), `point (${p.x}, ${p.y}) pixel ${show(got)} is no class colour`);
  }
  // Without the point, the same pixel is no longer the class colour.
  const without = scatterPlot(pts.slice(0, -1).concat([{ x: 40, y: -2, label: 0 }, { x: 30, y: 25, label: 0 }]), CLASSES, opts);
  expect(!same(getPixel(without, Math.floor(px), Math.floor(py)), classColour(3)), 'pixel keeps the class colour without the point');
  // The data range maps onto the plot area; every point is inside it.
  const [x0, y0] = dataToPixel(f, f.xMin, f.yMax), [x1, y1] = dataToPixel(f, f.xMax, f.yMin);
  expect(x0 === f.plot.x && y0 === f.plot.y && x1 === f.plot.x + f.plot.w && y1 === f.plot.y + f.plot.h, 'range corners map onto the plot area');
  expect(pts.every((p) => p.x > f.xMin && p.x < f.xMax && p.y > f.yMin && p.y < f.yMax), 'a point falls outside the padded range');
});

test('scatter: legend entries show each class name in text colour beside its colour swatch, inside the canvas', () => {
  const pts = clusters();
  const opts = { width: 400, height: 300 };
  const c = scatterPlot(pts, CLASSES, opts);
  const f = scatterLayout(pts, CLASSES, opts);
  const L = f.legend!;
  expect(L.x >= f.plot.x + f.plot.w && L.x + L.w <= c.width && L.y + L.h <= c.height, `legend box ${JSON.stringify(L)} clipped or over the plot`);
  CLASSES.forEach((name, k) => {
    const t = f.legendText[k]!;
    const ref = createCanvas(textWidth(name), 7, PLOT_COLOURS.background);
    drawText(ref, name, 0, 0, PLOT_COLOURS.text);
    for (let y = 0; y < 7; y++) for (let x = 0; x < ref.width; x++) expectPixel(c, t.x + x, t.y + y, getPixel(ref, x, y), `legend text '${name}'`);
    expect(countColour(c, t.x, t.y, ref.width, 7, PLOT_COLOURS.text) >= 10, `legend text '${name}' has almost no ink`);
    expect(countColour(c, L.x, t.y, t.x - L.x, 7, classColour(k)) >= 9, `legend swatch of class ${k} missing`);
  });
});

test('scatter: a legend of 40 classes wraps into columns that stay inside the canvas', () => {
  const names = Array.from({ length: 40 }, (_, k) => `class ${k}`);
  const pts = names.map((_, k) => ({ x: k, y: k % 7, label: k }));
  const opts = { width: 480, height: 240 };
  const f = scatterLayout(pts, names, opts);
  const c = scatterPlot(pts, names, opts);
  const L = f.legend!;
  expect(L.x > f.plot.x + f.plot.w && L.x + L.w <= c.width && L.y + L.h <= c.height, `legend box ${JSON.stringify(L)} leaves the canvas`);
  names.forEach((name, k) => {
    const t = f.legendText[k]!;
    expect(t.x + textWidth(name) <= L.x + L.w && t.y + 7 <= L.y + L.h, `legend entry ${k} at (${t.x}, ${t.y}) outside its box`);
    expect(countColour(c, t.x, t.y, textWidth(name), 7, PLOT_COLOURS.text) >= 10, `legend text '${name}' has almost no ink`);
    expect(countColour(c, t.x - 11, t.y, 7, 7, classColour(k)) >= 9, `legend swatch of class ${k} missing`);
  });
  expect(new Set(f.legendText.map((t) => t.x)).size >= 2, 'the legend did not wrap into columns');
});

test('ticks: over 300 random ranges and sizes, labels are distinct, a character apart and inside the canvas', () => {
  const rnd = seeded(77);
  let twoOrMore = 0;
  for (let trial = 0; trial < 300; trial++) {
    const [width, height] = [[240, 200], [320, 240], [640, 480], [1000, 900]][trial % 4]!;
    const centre = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 16 - 8);
    const span = Math.abs(centre || 1) * 10 ** -Math.floor(rnd() * 7) * (0.5 + rnd());
    const pts = [{ x: centre - span, y: -centre, label: 0 }, { x: centre + span, y: -centre + span * 3, label: 1 }];
    const f = scatterLayout(pts, ['a', 'b'], { width, height, xLabel: 'x', yLabel: 'y' });
    const what = `${width}×${height}, x in [${centre - span}, ${centre + span}]`;
    const s = f.textScale;
    for (const [ticks, labels] of [[f.xTicks, f.xTickLabels], [f.yTicks, f.yTickLabels]] as const) {
      expect(ticks.length >= 1 && labels.length === ticks.length && new Set(labels).size === labels.length, `${what}: tick labels ${labels.join(' | ')}`);
    }
    if (f.xTicks.length >= 2) twoOrMore++;
    const xs = f.xTicks.map((v) => dataToPixel(f, v, 0)[0]);
    const ws = f.xTickLabels.map((l) => textWidth(l, s));
    for (let i = 1; i < xs.length; i++) {
      const space = xs[i]! - ws[i]! / 2 - (xs[i - 1]! + ws[i - 1]! / 2);
      expect(space >= 6 * s, `${what}: x labels ${i - 1} and ${i} are ${space.toFixed(1)} pixels apart, closer than a character`);
    }
    expect(xs[0]! - ws[0]! / 2 >= 0 && xs[xs.length - 1]! + ws[ws.length - 1]! / 2 <= width, `${what}: an x label leaves the canvas`);
    const ys = f.yTicks.map((v) => dataToPixel(f, 0, v)[1]);
    for (let i = 1; i < ys.length; i++) expect(ys[i - 1]! - ys[i]! >= 9 * s, `${what}: y labels ${i - 1} and ${i} overlap`);
    for (const l of f.yTickLabels) expect(f.plot.x - 4 * s - textWidth(l, s) > 0, `${what}: y label ${l} leaves the canvas`);
  }
  // Only ranges narrow next to their magnitude (labels like -7.4400e-10) may keep a single labelled x tick.
  expect(twoOrMore >= 270, `only ${twoOrMore} of 300 plots have two or more x ticks`);
});

test('scatter: a canvas too small for the labels is refused; drawing is deterministic', async () => {
  await expectThrows('tiny', () => scatterPlot(clusters(), CLASSES, { width: 60, height: 50 }), /scatterPlot: a 60×50 canvas leaves a -?\d+×-?\d+ plot area/);
  const a = scatterPlot(clusters(), CLASSES, { width: 200, height: 150 }), b = scatterPlot(clusters(), CLASSES, { width: 200, height: 150 });
  expect(a.rgba.every((v, i) => v === b.rgba[i]), 'two renderings differ');
});

test('line plot: each series is drawn in its colour along its segments, broken at non-finite points', () => {
  const red: Rgba = [220, 20, 20, 255], blue: Rgba = [20, 20, 220, 255];
  const series: LineSeries[] = [
    { name: 'train', points: [[0, 10], [1, 6], [2, 4], [3, NaN], [4, 3], [5, 2.5]], colour: red },
    { name: 'test', points: [[0, 0], [5, 1]], colour: blue },
  ];
  const opts = { width: 420, height: 280, xLabel: 'epoch', yLabel: 'loss' };
  const c = linePlot(series, opts);
  const f = lineLayout(series, opts);
  const near = (x: number, y: number, colour: Rgba) => countColour(c, Math.floor(x) - 1, Math.floor(y) - 1, 3, 3, colour) > 0;
  for (const [k, { points, name }] of series.entries()) {
    const colour = [red, blue][k]!;
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i]!, points[i + 1]!];
      if (!Number.isFinite(a[1]) || !Number.isFinite(b[1])) continue;
      for (const t of [0.25, 0.5, 0.75]) {
        const [px, py] = dataToPixel(f, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
        expect(near(px, py, colour), `${name}: no ${show(colour)} pixel near segment ${i} at t=${t} (${px.toFixed(1)}, ${py.toFixed(1)})`);
      }
    }
  }
  // The gap around the NaN point stays empty: nothing red between x=2.2 and x=3.8 at that height.
  const [gx0] = dataToPixel(f, 2.2, 0), [gx1] = dataToPixel(f, 3.8, 0), [, gy] = dataToPixel(f, 0, 3.5);
  expect(countColour(c, Math.ceil(gx0), Math.floor(gy) - 15, Math.floor(gx1 - gx0), 30, red) === 0, 'the line bridges the NaN point');
  expect(!near(...dataToPixel(f, 2.5, 8), red) && !near(...dataToPixel(f, 2.5, 8), blue), 'colour far from every line');
  const L = f.legend!;
  expect(countColour(c, L.x, L.y, L.w, L.h, red) > 3 && countColour(c, L.x, L.y, L.w, L.h, blue) > 3, 'legend swatches missing');
  expect(countColour(c, L.x, L.y, L.w, L.h, PLOT_COLOURS.text) > 20, 'legend text missing');
});
