/**
 * Whole training steps of another checkout against this one, in one Node
 * process on one device, in interleaved rounds: the way a change is timed
 * against the code it replaces when its gain is a few percent and the
 * machine's noise is more.
 *
 *   git worktree add /tmp/old <rev> && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --import tsx bench/ab-step.ts /tmp/old [mlp|conv] [rounds=8] [steps=10]
 *
 * Both sessions train the preset (mlp: batch 128, conv: batch 64, Adam 1e-3)
 * on the same synthetic bytes, stand-in pipelines off. Each round times
 * `steps` steps queued back to back (until the queue drains) of each
 * checkout, the order alternating between rounds; printed are the median
 * ms/step of each and the median and every round's ratio new/old.
 */
import { requestGpu } from '../src/gpu/device.ts';

const [otherRoot, model = 'mlp', roundsArg = '8', stepsArg = '10'] = process.argv.slice(2);
if (!otherRoot || !['mlp', 'conv'].includes(model)) {
  console.error('usage: node --import tsx bench/ab-step.ts <other checkout> [mlp|conv] [rounds] [steps]');
  process.exit(2);
}
const rounds = Number(roundsArg);
const steps = Number(stepsArg);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(steps) && steps > 0)) {
  console.error(`rounds and steps must be positive integers; got ${roundsArg} and ${stepsArg}`);
  process.exit(2);
}

const { device } = await requestGpu({});

/** The subset of TrainingSession both checkouts share. */
interface Session {
  runStep(hp: { beta: number; lr: number; step: number }, batch: number): void;
}

async function session(root: string): Promise<Session> {
  const { TrainingSession } = await import(`${root}/src/train/session.ts`);
  (await import(`${root}/src/gpu/dispatch.ts`)).setStandIns(device, false);
  const presets = await import(`${root}/src/model/spec.ts`);
  const { initParams } = await import(`${root}/src/train/params.ts`);
  const spec = model === 'conv' ? presets.convPreset() : presets.mlpPreset();
  const batch = model === 'conv' ? 64 : 128;
  const s = new TrainingSession(device, { spec, batch, optimizer: { type: 'adam', lr: 1e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: 5 } });
  s.setParams(initParams(s.graph, 5));
  const n = batch * 4;
  s.attachData({ name: 'synthetic', shape: spec.input, count: n, data: Uint8Array.from({ length: n * 784 }, (_, i) => (i * 37 + (i >> 9)) % 256), labels: null });
  return s;
}

const old = await session(otherRoot);
const cur = await session(process.cwd());
let step = 1;
async function msPerStep(s: Session): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) s.runStep({ beta: 1, lr: 1e-3, step: step++ }, i % 4);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / steps;
}

for (let w = 0; w < 2; w++) { await msPerStep(old); await msPerStep(cur); }
const tOld: number[] = [];
const tCur: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const oldFirst = r % 2 === 0;
  const a = oldFirst ? await msPerStep(old) : 0;
  const b = await msPerStep(cur);
  const a2 = oldFirst ? a : await msPerStep(old);
  tOld.push(a2);
  tCur.push(b);
  ratios.push(b / a2);
}
const median = (v: readonly number[]) => {
  const s = [...v].sort((p, q) => p - q);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
console.log(`${model}: ${otherRoot} ${median(tOld).toFixed(2)} ms/step, this checkout ${median(tCur).toFixed(2)} ms/step; ` +
  `median this/other ${median(ratios).toFixed(3)} (rounds: ${ratios.map((v) => v.toFixed(3)).join(' ')})`);
process.exit(0);
