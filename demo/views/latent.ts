/**
 * The latent space of the test points: posterior means in two dimensions
 * (the codes themselves for a 2-D latent, else their top two principal
 * components), coloured by label. A click maps the pixel back to a code
 * (through the same layout the plot was drawn with) and decodes it.
 */
import { pca2, type Pca2 } from '../../src/eval/pca.ts';
import { scatterLayout, scatterPlot, type PlotFrame, type ScatterPoint } from '../../src/viz/plots.ts';
import type { Canvas as RasterImage } from '../../src/viz/raster.ts';
import { paint } from './paint.ts';

const OPTIONS = { width: 440, height: 330 } as const;

export class LatentView {
  private frame: PlotFrame | null = null;
  private pca: Pca2 | null = null;
  private marker: [number, number] | null = null;
  private image: RasterImage | null = null;

  constructor(private readonly el: HTMLCanvasElement, onPick: (z: Float32Array, at: [number, number]) => void) {
    el.addEventListener('click', (ev) => {
      const picked = this.pick(ev);
      if (picked) onPick(picked.z, picked.at);
    });
  }

  render(mu: Float32Array, n: number, latent: number, labels: Int32Array | null, classes: readonly string[] | undefined): void {
    const pca = pca2(mu, n, latent);
    const points: ScatterPoint[] = Array.from({ length: n }, (_, i) => {
      const [x, y] = pca.project(mu.subarray(i * latent, (i + 1) * latent));
      return { x, y, label: labels ? labels[i]! : 0 };
    });
    const names = classes ? [...classes] : labels ? [...new Set(labels)].sort((a, b) => a - b).map(String) : ['test points'];
    const opts = { ...OPTIONS, xLabel: latent > 2 ? 'PC 1' : 'z1', yLabel: latent > 2 ? 'PC 2' : latent > 1 ? 'z2' : '' };
    this.frame = scatterLayout(points, names, opts);
    this.pca = pca;
    this.image = scatterPlot(points, names, opts);
    this.drawMarker();
  }

  /** The code under a click, or null outside the plot area. */
  private pick(ev: MouseEvent): { z: Float32Array; at: [number, number] } | null {
    const f = this.frame, pca = this.pca;
    if (!f || !pca) return null;
    const r = this.el.getBoundingClientRect();
    const px = ((ev.clientX - r.left) / r.width) * this.el.width;
    const py = ((ev.clientY - r.top) / r.height) * this.el.height;
    if (px < f.plot.x || px > f.plot.x + f.plot.w || py < f.plot.y || py > f.plot.y + f.plot.h) return null;
    const x = f.xMin + ((px - f.plot.x) / f.plot.w) * (f.xMax - f.xMin);
    const y = f.yMin + ((f.plot.y + f.plot.h - py) / f.plot.h) * (f.yMax - f.yMin);
    this.marker = [px, py];
    this.drawMarker();
    return { z: pca.unproject(x, y), at: [x, y] };
  }

  private drawMarker(): void {
    if (this.image) paint(this.el, this.image);
    if (!this.marker) return;
    const ctx = this.el.getContext('2d')!;
    const [x, y] = this.marker;
    ctx.strokeStyle = '#000';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x - 7, y);
    ctx.lineTo(x + 7, y);
    ctx.moveTo(x, y - 7);
    ctx.lineTo(x, y + 7);
    ctx.stroke();
  }
}
