/**
 * Float64 CPU references of shaders/conv2d.wgsl and shaders/conv_transpose2d.wgsl,
 * forward and backward, written straight from the definitions: conv2d as a
 * gather over each output's window, conv_transpose2d as a scatter of each
 * input pixel (independent of the adjoint relation the GPU kernels rely on).
 */
import { conv2dWindow, convTranspose2dGeometry, type Conv2dOptions, type ConvTranspose2dOptions } from '../kernels/conv-geometry.ts';
import { actForward, actGrad } from './activation.ts';

type Arr = ArrayLike<number>;

export interface ConvGrads {
  readonly dx: Float64Array;
  readonly dweight: Float64Array;
  readonly dbias: Float64Array;
}

/**
 * Visits every (output element, weight element, input element) triple of a
 * conv2d: y[yi] gathers x[xi]·w[wi]. x (N, C_in, H, W), w (C_out, C_in, KH, KW),
 * y (N, C_out, OH, OW); taps outside the input are skipped.
 */
function conv2dTaps(o: Conv2dOptions, visit: (yi: number, xi: number, wi: number) => void): void {
  const g = conv2dWindow(o);
  for (let n = 0; n < g.n; n++) {
    for (let co = 0; co < g.cout; co++) {
      for (let oy = 0; oy < g.oh; oy++) {
        for (let ox = 0; ox < g.ow; ox++) {
          const yi = ((n * g.cout + co) * g.oh + oy) * g.ow + ox;
          for (let ci = 0; ci < g.cin; ci++) {
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sh - g.ph + ky * g.dh;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sw - g.pw + kx * g.dw;
                if (ix < 0 || ix >= g.w) continue;
                visit(yi, ((n * g.cin + ci) * g.h + iy) * g.w + ix, ((co * g.cin + ci) * g.kh + ky) * g.kw + kx);
              }
            }
          }
        }
      }
    }
  }
}

/** conv2d's pre-activation output conv(x, w) + bias, (N, C_out, OH, OW). */
export function conv2dPreRef(x: Arr, w: Arr, bias: Arr | null, o: Conv2dOptions): Float64Array {
  const g = conv2dWindow(o);
  const hw = g.oh * g.ow;
  const y = new Float64Array(g.n * g.cout * hw);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / hw) % g.cout]!;
  conv2dTaps(o, (yi, xi, wi) => {
    y[yi] += x[xi]! * w[wi]!;
  });
  return y;
}

/** y = act(conv2d(x, w) + bias), PyTorch nn.Conv2d semantics. */
export function conv2dRef(x: Arr, w: Arr, bias: Arr | null, o: Conv2dOptions): Float64Array {
  const act = o.activation ?? 'identity';
  return conv2dPreRef(x, w, bias, o).map((v) => actForward(act, v, o.alpha));
}

/** Gradients of sum(y ⊙ dy) for y = conv2dRef(x, w, bias, o), activation included. */
export function conv2dBackwardRef(x: Arr, w: Arr, bias: Arr | null, dy: Arr, o: Conv2dOptions): ConvGrads {
  const g = conv2dWindow(o);
  const act = o.activation ?? 'identity';
  const dpre = conv2dPreRef(x, w, bias, o).map((v, i) => dy[i]! * actGrad(act, v, o.alpha));
  const dx = new Float64Array(g.n * g.cin * g.h * g.w);
  const dweight = new Float64Array(g.cout * g.cin * g.kh * g.kw);
  const dbias = new Float64Array(g.cout);
  const hw = g.oh * g.ow;
  for (let i = 0; i < dpre.length; i++) dbias[Math.floor(i / hw) % g.cout] += dpre[i]!;
  conv2dTaps(o, (yi, xi, wi) => {
    dx[xi] += dpre[yi]! * w[wi]!;
    dweight[wi] += dpre[yi]! * x[xi]!;
  });
  return { dx, dweight, dbias };
}

/**
 * Visits every (input element, weight element, output element) triple of a
 * conv_transpose2d: x[xi] spreads x[xi]·w[wi] onto y[yi]. x (N, C_in, H, W),
 * w (C_in, C_out, KH, KW), y (N, C_out, OH, OW); output row oy = iy·sh − ph + ky·dh
 * (columns alike), dropped outside the output.
 */
function convTranspose2dTaps(o: ConvTranspose2dOptions, visit: (xi: number, wi: number, yi: number) => void): void {
  const t = convTranspose2dGeometry(o);
  const { kh, kw, sh, sw, ph, pw, dh, dw } = t.adjoint;
  for (let n = 0; n < t.n; n++) {
    for (let ci = 0; ci < t.cin; ci++) {
      for (let iy = 0; iy < t.h; iy++) {
        for (let ix = 0; ix < t.w; ix++) {
          const xi = ((n * t.cin + ci) * t.h + iy) * t.w + ix;
          for (let co = 0; co < t.cout; co++) {
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * sh - ph + ky * dh;
              if (oy < 0 || oy >= t.oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * sw - pw + kx * dw;
                if (ox < 0 || ox >= t.ow) continue;
                visit(xi, ((ci * t.cout + co) * kh + ky) * kw + kx, ((n * t.cout + co) * t.oh + oy) * t.ow + ox);
              }
            }
          }
        }
      }
    }
  }
}

/** conv_transpose2d's pre-activation output, (N, C_out, OH, OW). */
export function convTranspose2dPreRef(x: Arr, w: Arr, bias: Arr | null, o: ConvTranspose2dOptions): Float64Array {
  const t = convTranspose2dGeometry(o);
  const hw = t.oh * t.ow;
  const y = new Float64Array(t.n * t.cout * hw);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / hw) % t.cout]!;
  convTranspose2dTaps(o, (xi, wi, yi) => {
    y[yi] += x[xi]! * w[wi]!;
  });
  return y;
}

/** y = act(conv_transpose2d(x, w) + bias), PyTorch nn.ConvTranspose2d semantics. */
export function convTranspose2dRef(x: Arr, w: Arr, bias: Arr | null, o: ConvTranspose2dOptions): Float64Array {
  const act = o.activation ?? 'identity';
  return convTranspose2dPreRef(x, w, bias, o).map((v) => actForward(act, v, o.alpha));
}

/** Gradients of sum(y ⊙ dy) for y = convTranspose2dRef(x, w, bias, o), activation included. */
export function convTranspose2dBackwardRef(x: Arr, w: Arr, bias: Arr | null, dy: Arr, o: ConvTranspose2dOptions): ConvGrads {
  const t = convTranspose2dGeometry(o);
  const act = o.activation ?? 'identity';
  const dpre = convTranspose2dPreRef(x, w, bias, o).map((v, i) => dy[i]! * actGrad(act, v, o.alpha));
  const dx = new Float64Array(t.n * t.cin * t.h * t.w);
  const dweight = new Float64Array(t.cin * t.cout * t.adjoint.kh * t.adjoint.kw);
  const dbias = new Float64Array(t.cout);
  const hw = t.oh * t.ow;
  for (let i = 0; i < dpre.length; i++) dbias[Math.floor(i / hw) % t.cout] += dpre[i]!;
  convTranspose2dTaps(o, (xi, wi, yi) => {
    dx[xi] += dpre[yi]! * w[wi]!;
    dweight[wi] += dpre[yi]! * x[xi]!;
  });
  return { dx, dweight, dbias };
}
