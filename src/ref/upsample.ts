/** Float64 CPU reference of shaders/upsample.wgsl (nearest-neighbour upsampling by an integer factor). */

type Arr = ArrayLike<number>;

export interface UpsampleSizes {
  /** N·C: the planes of the map. */
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly scale: number;
}

/** y (planes, h·s, w·s): y[p, oy, ox] = x[p, floor(oy / s), floor(ox / s)]. */
export function upsampleNearest2dRef(x: Arr, o: UpsampleSizes): Float64Array {
  const { planes, h, w, scale: s } = o;
  const oh = h * s, ow = w * s;
  const y = new Float64Array(planes * oh * ow);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) y[(p * oh + oy) * ow + ox] = x[(p * h + Math.floor(oy / s)) * w + Math.floor(ox / s)]!;
    }
  }
  return y;
}

/** Gradient of sum(y ⊙ dy) for y = upsampleNearest2dRef(x, o): every dy element added to the x element it copied. */
export function upsampleNearest2dBackwardRef(dy: Arr, o: UpsampleSizes): Float64Array {
  const { planes, h, w, scale: s } = o;
  const oh = h * s, ow = w * s;
  const dx = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) dx[(p * h + Math.floor(oy / s)) * w + Math.floor(ox / s)] += dy[(p * oh + oy) * ow + ox]!;
    }
  }
  return dx;
}
