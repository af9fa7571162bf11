/**
 * A small RGBA raster: the drawing surface of every picture the trainer
 * writes. Pure TypeScript, no fonts or canvas packages, deterministic to the
 * byte: the same calls always give the same pixels.
 *
 * Coordinates are in pixels with the origin at the top-left; pixel (i, j)
 * covers the square [i, i+1) × [j, j+1), so its centre is (i+0.5, j+0.5).
 * Shapes given in continuous coordinates (lines, circles) are drawn by the
 * distance from each pixel centre, with optional anti-aliasing; everything
 * is clipped to the canvas.
 */

/** A colour as [red, green, blue, alpha], each 0..255. */
export type Rgba = readonly [number, number, number, number];

/** An RGBA image: `rgba` holds height rows of width pixels, 4 bytes each. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8ClampedArray;
}

export const WHITE: Rgba = [255, 255, 255, 255];
export const BLACK: Rgba = [0, 0, 0, 255];

/** Makes a canvas filled with `background` (white by default). */
export function createCanvas(width: number, height: number, background: Rgba = WHITE): Canvas {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`createCanvas: size ${width}×${height} must be positive integers`);
  }
  const c: Canvas = { width, height, rgba: new Uint8ClampedArray(width * height * 4) };
  fill(c, background);
  return c;
}

/** Parses '#rrggbb' or '#rrggbbaa'. */
export function hexColour(hex: string): Rgba {
  const m = /^#([0-9a-f]{6}|[0-9a-f]{8})$/i.exec(hex);
  if (!m) throw new Error(`hexColour: "${hex}" is not #rrggbb or #rrggbbaa`);
  const n = (i: number) => parseInt(m[1]!.slice(i, i + 2), 16);
  return [n(0), n(2), n(4), m[1]!.length === 8 ? n(6) : 255];
}

/** The colour of pixel (x, y); integer coordinates inside the canvas. */
export function getPixel(c: Canvas, x: number, y: number): Rgba {
  const i = (y * c.width + x) * 4;
  return [c.rgba[i]!, c.rgba[i + 1]!, c.rgba[i + 2]!, c.rgba[i + 3]!];
}

/** Overwrites pixel (x, y) with `colour`; outside the canvas does nothing. */
export function setPixel(c: Canvas, x: number, y: number, colour: Rgba): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const i = (y * c.width + x) * 4;
  c.rgba[i] = colour[0];
  c.rgba[i + 1] = colour[1];
  c.rgba[i + 2] = colour[2];
  c.rgba[i + 3] = colour[3];
}

/**
 * Paints `colour` over pixel (x, y) with `coverage` in [0, 1] (source-over
 * compositing with the colour's own alpha). An opaque colour at full
 * coverage gives exactly that colour.
 */
export function blendPixel(c: Canvas, x: number, y: number, colour: Rgba, coverage = 1): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height || !(coverage > 0)) return;
  const a = (colour[3] / 255) * Math.min(1, coverage);
  if (a >= 1) return setPixel(c, x, y, colour);
  const i = (y * c.width + x) * 4;
  const da = c.rgba[i + 3]! / 255;
  const oa = a + da * (1 - a);
  if (oa <= 0) return;
  for (let k = 0; k < 3; k++) c.rgba[i + k] = (colour[k]! * a + c.rgba[i + k]! * da * (1 - a)) / oa;
  c.rgba[i + 3] = oa * 255;
}

/** Fills the whole canvas with `colour`. */
export function fill(c: Canvas, colour: Rgba): void {
  for (let i = 0; i < c.rgba.length; i += 4) {
    c.rgba[i] = colour[0];
    c.rgba[i + 1] = colour[1];
    c.rgba[i + 2] = colour[2];
    c.rgba[i + 3] = colour[3];
  }
}

/** Overwrites the pixels of the integer rectangle [x, x+w) × [y, y+h), clipped. */
export function fillRect(c: Canvas, x: number, y: number, w: number, h: number, colour: Rgba): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(c.width, Math.round(x + w));
  const y0 = Math.max(0, Math.round(y)), y1 = Math.min(c.height, Math.round(y + h));
  for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) setPixel(c, i, j, colour);
}

/** Draws the 1-pixel outline of the integer rectangle [x, x+w) × [y, y+h). */
export function strokeRect(c: Canvas, x: number, y: number, w: number, h: number, colour: Rgba): void {
  fillRect(c, x, y, w, 1, colour);
  fillRect(c, x, y + h - 1, w, 1, colour);
  fillRect(c, x, y, 1, h, colour);
  fillRect(c, x + w - 1, y, 1, h, colour);
}

/** Options of lines and circles. */
export interface StrokeOptions {
  /** Line width in pixels (default 1). */
  readonly width?: number;
  /** Soft edges by pixel coverage (default true); false gives hard edges. */
  readonly antialias?: boolean;
}

function coverageOf(d: number, half: number, antialias: boolean): number {
  if (!antialias) return d <= half ? 1 : 0;
  return Math.max(0, Math.min(1, half + 0.5 - d));
}

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/**
 * Draws a connected line through `points` ([x, y] in continuous pixel
 * coordinates) with round joins and caps. Each pixel is painted once, with
 * its largest coverage over all segments, so joins do not darken. Points that
 * are not finite break the line into separate pieces.
 */
export function drawPolyline(c: Canvas, points: readonly (readonly [number, number])[], colour: Rgba, opts: StrokeOptions = {}): void {
  const half = (opts.width ?? 1) / 2;
  const aa = opts.antialias ?? true;
  const reach = half + 1;
  const cover = new Map<number, number>();
  for (let s = 0; s + 1 < points.length; s++) {
    const [ax, ay] = points[s]!;
    const [bx, by] = points[s + 1]!;
    if (![ax, ay, bx, by].every(Number.isFinite)) continue;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach)), x1 = Math.min(c.width - 1, Math.ceil(Math.max(ax, bx) + reach));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach)), y1 = Math.min(c.height - 1, Math.ceil(Math.max(ay, by) + reach));
    const steep = Math.abs(by - ay) > Math.abs(bx - ax);
    // Scan along the major axis; on the minor axis only a band around the line.
    const [m0, m1] = steep ? [y0, y1] : [x0, x1];
    for (let m = m0; m <= m1; m++) {
      const t = steep ? (by === ay ? 0 : (m + 0.5 - ay) / (by - ay)) : bx === ax ? 0 : (m + 0.5 - ax) / (bx - ax);
      const centre = steep ? ax + Math.max(0, Math.min(1, t)) * (bx - ax) : ay + Math.max(0, Math.min(1, t)) * (by - ay);
      const lo = Math.max(steep ? x0 : y0, Math.floor(centre - 2 * reach)), hi = Math.min(steep ? x1 : y1, Math.ceil(centre + 2 * reach));
      for (let n = lo; n <= hi; n++) {
        const [x, y] = steep ? [n, m] : [m, n];
        const cv = coverageOf(distToSegment(x + 0.5, y + 0.5, ax, ay, bx, by), half, aa);
        const key = y * c.width + x;
        if (cv > (cover.get(key) ?? 0)) cover.set(key, cv);
      }
    }
  }
  for (const [key, cv] of cover) blendPixel(c, key % c.width, Math.floor(key / c.width), colour, cv);
}

/** Draws a straight line from (x0, y0) to (x1, y1). */
export function drawLine(c: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Rgba, opts: StrokeOptions = {}): void {
  drawPolyline(c, [[x0, y0], [x1, y1]], colour, opts);
}

/** Fills the disc of radius r around (cx, cy); every pixel whose centre is inside is fully covered. */
export function fillCircle(c: Canvas, cx: number, cy: number, r: number, colour: Rgba, opts: { readonly antialias?: boolean } = {}): void {
  const aa = opts.antialias ?? true;
  const x0 = Math.max(0, Math.floor(cx - r - 1)), x1 = Math.min(c.width - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1)), y1 = Math.min(c.height - 1, Math.ceil(cy + r + 1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      blendPixel(c, x, y, colour, aa ? Math.min(1, Math.max(0, r + 0.5 - d)) : d <= r ? 1 : 0);
    }
  }
}

/** Gray level 0..255 of a value in [0, 1] (clamped); NaN gives -1. */
export function grayLevel(v: number): number {
  if (Number.isNaN(v)) return -1;
  return Math.round(Math.max(0, Math.min(1, v)) * 255);
}

/** Colour used for NaN pixels of grayscale images. */
export const NAN_COLOUR: Rgba = [255, 0, 255, 255];

/**
 * Copies a grayscale image (h×w values in [0, 1], row-major, starting at
 * `offset` in `src`) to (x, y), each source pixel becoming a scale×scale
 * block: 0 is black, 1 is white, values outside are clamped, NaN is magenta.
 */
export function blitGray(c: Canvas, src: ArrayLike<number>, h: number, w: number, x: number, y: number, scale = 1, offset = 0): void {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`blitGray: scale ${scale} must be a positive integer`);
  if (offset + h * w > src.length) throw new Error(`blitGray: a ${h}×${w} image at offset ${offset} needs ${offset + h * w} values; got ${src.length}`);
  for (let r = 0; r < h; r++) {
    for (let q = 0; q < w; q++) {
      const g = grayLevel(src[offset + r * w + q]!);
      const colour: Rgba = g < 0 ? NAN_COLOUR : [g, g, g, 255];
      fillRect(c, x + q * scale, y + r * scale, scale, scale, colour);
    }
  }
}

// 5×7 bitmap font for ASCII 32..126: five column bytes per glyph, bit 0 is the top row.
// prettier-ignore
const FONT_5X7 = Uint8Array.from([
  0x00,0x00,0x00,0x00,0x00, 0x00,0x00,0x5f,0x00,0x00, 0x00,0x07,0x00,0x07,0x00, 0x14,0x7f,0x14,0x7f,0x14, // ' ' ! " #
  0x24,0x2a,0x7f,0x2a,0x12, 0x23,0x13,0x08,0x64,0x62, 0x36,0x49,0x55,0x22,0x50, 0x00,0x05,0x03,0x00,0x00, // $ % & '
  0x00,0x1c,0x22,0x41,0x00, 0x00,0x41,0x22,0x1c,0x00, 0x14,0x08,0x3e,0x08,0x14, 0x08,0x08,0x3e,0x08,0x08, // ( ) * +
  0x00,0x50,0x30,0x00,0x00, 0x08,0x08,0x08,0x08,0x08, 0x00,0x60,0x60,0x00,0x00, 0x20,0x10,0x08,0x04,0x02, // , - . /
  0x3e,0x51,0x49,0x45,0x3e, 0x00,0x42,0x7f,0x40,0x00, 0x42,0x61,0x51,0x49,0x46, 0x21,0x41,0x45,0x4b,0x31, // 0 1 2 3
  0x18,0x14,0x12,0x7f,0x10, 0x27,0x45,0x45,0x45,0x39, 0x3c,0x4a,0x49,0x49,0x30, 0x01,0x71,0x09,0x05,0x03, // 4 5 6 7
  0x36,0x49,0x49,0x49,0x36, 0x06,0x49,0x49,0x29,0x1e, 0x00,0x36,0x36,0x00,0x00, 0x00,0x56,0x36,0x00,0x00, // 8 9 : ;
  0x08,0x14,0x22,0x41,0x00, 0x14,0x14,0x14,0x14,0x14, 0x00,0x41,0x22,0x14,0x08, 0x02,0x01,0x51,0x09,0x06, // < = > ?
  0x32,0x49,0x79,0x41,0x3e, 0x7e,0x11,0x11,0x11,0x7e, 0x7f,0x49,0x49,0x49,0x36, 0x3e,0x41,0x41,0x41,0x22, // @ A B C
  0x7f,0x41,0x41,0x22,0x1c, 0x7f,0x49,0x49,0x49,0x41, 0x7f,0x09,0x09,0x09,0x01, 0x3e,0x41,0x49,0x49,0x7a, // D E F G
  0x7f,0x08,0x08,0x08,0x7f, 0x00,0x41,0x7f,0x41,0x00, 0x20,0x40,0x41,0x3f,0x01, 0x7f,0x08,0x14,0x22,0x41, // H I J K
  0x7f,0x40,0x40,0x40,0x40, 0x7f,0x02,0x0c,0x02,0x7f, 0x7f,0x04,0x08,0x10,0x7f, 0x3e,0x41,0x41,0x41,0x3e, // L M N O
  0x7f,0x09,0x09,0x09,0x06, 0x3e,0x41,0x51,0x21,0x5e, 0x7f,0x09,0x19,0x29,0x46, 0x46,0x49,0x49,0x49,0x31, // P Q R S
  0x01,0x01,0x7f,0x01,0x01, 0x3f,0x40,0x40,0x40,0x3f, 0x1f,0x20,0x40,0x20,0x1f, 0x3f,0x40,0x38,0x40,0x3f, // T U V W
  0x63,0x14,0x08,0x14,0x63, 0x07,0x08,0x70,0x08,0x07, 0x61,0x51,0x49,0x45,0x43, 0x00,0x7f,0x41,0x41,0x00, // X Y Z [
  0x02,0x04,0x08,0x10,0x20, 0x00,0x41,0x41,0x7f,0x00, 0x04,0x02,0x01,0x02,0x04, 0x40,0x40,0x40,0x40,0x40, // \ ] ^ _
  0x00,0x01,0x02,0x04,0x00, 0x20,0x54,0x54,0x54,0x78, 0x7f,0x48,0x44,0x44,0x38, 0x38,0x44,0x44,0x44,0x20, // ` a b c
  0x38,0x44,0x44,0x48,0x7f, 0x38,0x54,0x54,0x54,0x18, 0x08,0x7e,0x09,0x01,0x02, 0x0c,0x52,0x52,0x52,0x3e, // d e f g
  0x7f,0x08,0x04,0x04,0x78, 0x00,0x44,0x7d,0x40,0x00, 0x20,0x40,0x44,0x3d,0x00, 0x7f,0x10,0x28,0x44,0x00, // h i j k
  0x00,0x41,0x7f,0x40,0x00, 0x7c,0x04,0x18,0x04,0x78, 0x7c,0x08,0x04,0x04,0x78, 0x38,0x44,0x44,0x44,0x38, // l m n o
  0x7c,0x14,0x14,0x14,0x08, 0x08,0x14,0x14,0x18,0x7c, 0x7c,0x08,0x04,0x04,0x08, 0x48,0x54,0x54,0x54,0x20, // p q r s
  0x04,0x3f,0x44,0x40,0x20, 0x3c,0x40,0x40,0x20,0x7c, 0x1c,0x20,0x40,0x20,0x1c, 0x3c,0x40,0x30,0x40,0x3c, // t u v w
  0x44,0x28,0x10,0x28,0x44, 0x0c,0x50,0x50,0x50,0x3c, 0x44,0x64,0x54,0x4c,0x44, 0x00,0x08,0x36,0x41,0x00, // x y z {
  0x00,0x00,0x7f,0x00,0x00, 0x00,0x41,0x36,0x08,0x00, 0x08,0x04,0x08,0x10,0x08,                           // | } ~
]);

/** Glyph cell of the built-in font, in unscaled pixels: 5×7 ink, 6 wide with spacing. */
export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
export const GLYPH_ADVANCE = 6;

/** Whether font pixel (gx, gy) of character `ch` is ink; characters outside ASCII 32..126 draw as '?'. */
export function glyphPixel(ch: string, gx: number, gy: number): boolean {
  let code = ch.charCodeAt(0);
  if (!(code >= 32 && code <= 126)) code = 63;
  if (gx < 0 || gx >= GLYPH_WIDTH || gy < 0 || gy >= GLYPH_HEIGHT) return false;
  return ((FONT_5X7[(code - 32) * 5 + gx]! >> gy) & 1) === 1;
}

/** Width in pixels of `text` drawn at `scale` (no trailing spacing). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** Height in pixels of a line of text at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/**
 * Draws `text` with its top-left corner at integer (x, y), each font pixel
 * a scale×scale block. Returns the drawn width.
 */
export function drawText(c: Canvas, text: string, x: number, y: number, colour: Rgba, scale = 1): number {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`drawText: scale ${scale} must be a positive integer`);
  x = Math.round(x);
  y = Math.round(y);
  for (let k = 0; k < text.length; k++) {
    for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        if (glyphPixel(text[k]!, gx, gy)) fillRect(c, x + (k * GLYPH_ADVANCE + gx) * scale, y + gy * scale, scale, scale, colour);
      }
    }
  }
  return textWidth(text, scale);
}

/**
 * Draws `text` rotated a quarter turn anticlockwise (reading upwards), for
 * vertical axis titles: it occupies [x, x + textHeight) horizontally and
 * (y - textWidth, y] vertically, so (x, y) is its bottom-left corner.
 */
export function drawTextUp(c: Canvas, text: string, x: number, y: number, colour: Rgba, scale = 1): number {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`drawTextUp: scale ${scale} must be a positive integer`);
  x = Math.round(x);
  y = Math.round(y);
  for (let k = 0; k < text.length; k++) {
    for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        if (glyphPixel(text[k]!, gx, gy)) fillRect(c, x + gy * scale, y - (k * GLYPH_ADVANCE + gx + 1) * scale, scale, scale, colour);
      }
    }
  }
  return textWidth(text, scale);
}

/** matplotlib's tab10 palette, then tab20's lighter shades: 20 distinct class colours. */
export const CLASS_PALETTE: readonly Rgba[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
].map(hexColour);

/**
 * Colour of class k: the palette for the first 20 classes, then hues spaced
 * by the golden angle (deterministic, distinct from their neighbours).
 */
export function classColour(k: number): Rgba {
  if (Number.isInteger(k) && k >= 0 && k < CLASS_PALETTE.length) return CLASS_PALETTE[k]!;
  const hue = ((Number.isFinite(k) ? Math.abs(Math.trunc(k)) : 0) * 137.508) % 360;
  return hslColour(hue, 0.65, 0.5);
}

/** An opaque colour from hue (degrees), saturation and lightness in [0, 1]. */
export function hslColour(h: number, s: number, l: number): Rgba {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4), 255];
}
