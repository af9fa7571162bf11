/**
 * Loss curves while training: the negative ELBO, reconstruction and KL per
 * sample at each step event (and the test loss after each epoch), with β
 * below them. Redrawn at most a few times a second.
 */
import type { EpochEvent, StepEvent } from '../../src/index.ts';
import { linePlot, type LineSeries } from '../../src/viz/plots.ts';
import { paint } from './paint.ts';

interface Point {
  readonly step: number;
  readonly loss: number;
  readonly recon: number;
  readonly kl: number;
  readonly beta: number;
}

/** Most points drawn per series (older ones are thinned out). */
const MAX_POINTS = 1500;

export class Curves {
  private points: Point[] = [];
  private tests: [number, number][] = [];
  private pending = false;
  private lastDraw = 0;

  constructor(private readonly lossEl: HTMLCanvasElement, private readonly betaEl: HTMLCanvasElement) {}

  add(e: StepEvent): void {
    this.points.push({ step: e.step, loss: e.loss, recon: e.recon, kl: e.kl, beta: e.beta });
    this.schedule();
  }

  addEpoch(e: EpochEvent): void {
    if (e.test) this.tests.push([e.step, e.test.loss]);
    this.schedule();
  }

  /** Drops points after `step` (a model restored from an older snapshot); 0 clears. */
  truncate(step: number): void {
    this.points = this.points.filter((p) => p.step <= step);
    this.tests = this.tests.filter((p) => p[0] <= step);
    this.schedule();
  }

  get length(): number {
    return this.points.length;
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(0, 250 - (performance.now() - this.lastDraw));
    setTimeout(() => requestAnimationFrame(() => {
      this.pending = false;
      this.lastDraw = performance.now();
      this.draw();
    }), wait);
  }

  draw(): void {
    let pts = this.points;
    if (pts.length === 0) {
      for (const el of [this.lossEl, this.betaEl]) {
        const ctx = el.getContext('2d')!;
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, el.width, el.height);
        ctx.fillStyle = '#777';
        ctx.font = '14px sans-serif';
        if (el === this.lossEl) ctx.fillText('no training steps yet: press Train', 20, 30);
      }
      return;
    }
    if (pts.length > MAX_POINTS) {
      const k = Math.ceil(pts.length / MAX_POINTS);
      pts = pts.filter((_, i) => i % k === 0 || i === pts.length - 1);
    }
    const series: LineSeries[] = [
      { name: 'loss (-ELBO)', points: pts.map((p) => [p.step, p.loss]) },
      { name: 'reconstruction', points: pts.map((p) => [p.step, p.recon]) },
      { name: 'KL', points: pts.map((p) => [p.step, p.kl]) },
    ];
    if (this.tests.length) series.push({ name: 'test loss', points: this.tests });
    paint(this.lossEl, linePlot(series, { width: 760, height: 280, xLabel: 'step', yLabel: 'nats' }));
    paint(this.betaEl, linePlot([{ name: 'beta', points: pts.map((p) => [p.step, p.beta]), colour: [120, 60, 180, 255] }], { width: 760, height: 110, xLabel: 'step' }));
  }
}
