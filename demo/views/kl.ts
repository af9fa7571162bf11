/**
 * KL per latent dimension as bars: the dimensions the model uses stand out
 * and collapsed ones (KL near 0) are plain to see. Active units (posterior
 * mean varying over the data, variance > 0.01) are drawn in colour.
 */
export function drawKlBars(el: HTMLCanvasElement, klPerDim: readonly number[], active: readonly boolean[] | null): void {
  const J = klPerDim.length;
  const W = 380, H = 180, left = 36, bottom = 22, top = 10;
  el.width = W;
  el.height = H;
  const ctx = el.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const max = Math.max(1e-6, ...klPerDim.filter(Number.isFinite));
  const plotH = H - bottom - top;
  const bw = (W - left - 6) / Math.max(1, J);
  ctx.font = '10px sans-serif';
  ctx.fillStyle = '#555';
  ctx.fillText(max.toFixed(2), 2, top + 8);
  ctx.fillText('nats', 2, top + 20);
  ctx.fillText('0', 2, H - bottom);
  ctx.strokeStyle = '#888';
  ctx.beginPath();
  ctx.moveTo(left - 2, top);
  ctx.lineTo(left - 2, H - bottom);
  ctx.lineTo(W, H - bottom);
  ctx.stroke();
  klPerDim.forEach((v, j) => {
    const h = Number.isFinite(v) ? (Math.max(0, v) / max) * plotH : 0;
    ctx.fillStyle = active === null ? '#4a8' : active[j] ? '#2a7' : '#bbb';
    ctx.fillRect(left + j * bw + 1, H - bottom - h, Math.max(1, bw - 2), h);
    if (J <= 32 || j % Math.ceil(J / 32) === 0) {
      ctx.fillStyle = '#555';
      ctx.fillText(String(j), left + j * bw + bw / 2 - 3, H - 8);
    }
  });
}
