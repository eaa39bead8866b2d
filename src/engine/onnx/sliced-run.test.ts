import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeNode } from './attrs';
import { loadModel } from './io';
import type { OnnxModel } from './model';
import { createSession, ort } from './ort';
import { samplesIndependent, SlicedRunner } from './sliced-run';
import { maxRelativeError, sameBits } from './testing';

const FIX = join(process.cwd(), 'test/fixtures');
const model = (name: string): OnnxModel => loadModel(join(FIX, 'models', `${name}.onnx`));

/** The first `n` MNIST evaluation images as one batch (the .npy header is 128 bytes). */
function mnist(n: number): ort.Tensor {
  const bytes = readFileSync(join(FIX, 'data/mnist/eval_x.npy'));
  return new ort.Tensor('float32', new Float32Array(bytes.buffer.slice(bytes.byteOffset + 128, bytes.byteOffset + 128 + n * 784 * 4)), [n, 1, 28, 28]);
}

/** Counts the samples of each inference the session runs. */
function countRuns(session: ort.InferenceSession): number[] {
  const runs: number[] = [];
  const run = session.run.bind(session);
  session.run = ((feeds: Record<string, ort.Tensor>) => (runs.push(Object.values(feeds)[0].dims[0]), run(feeds))) as typeof session.run;
  return runs;
}

/** lenet with its logits centred on the batch's mean logits: each sample's output depends on the others. */
function batchCentred(): OnnxModel {
  const m = model('lenet_mnist');
  const out = m.graph.outputs[0].name!;
  m.graph.nodes.push(
    makeNode('ReduceMean', [out], ['batch_mean'], { name: 'batch_mean', attrs: { axes: [0], keepdims: 1 } }),
    makeNode('Sub', [out, 'batch_mean'], ['centred'], { name: 'centred' }),
  );
  m.graph.outputs[0] = { ...m.graph.outputs[0], name: 'centred' };
  return m;
}

describe('samplesIndependent', () => {
  it('accepts the fixtures whose samples do not meet, and refuses control flow and reductions over the batch', () => {
    for (const name of ['lenet_mnist', 'mobilenetv2_fmnist', 'sensitive_fmnist', 'transformer_mnist', 'qkv_attention_mnist', 'twohead_mnist']) {
      expect([name, samplesIndependent(model(name))]).toEqual([name, true]);
    }
    expect(samplesIndependent(model('if_mnist'))).toBe(false);
    expect(samplesIndependent(model('loop_mnist'))).toBe(false);
    expect(samplesIndependent(batchCentred())).toBe(false);
  });
});

describe('SlicedRunner', () => {
  it('gives the outputs of one whole-batch inference: bit for bit on convolutions, to float rounding on attention', async () => {
    const x = mnist(37);
    for (const name of ['lenet_mnist', 'mobilenetv2_fmnist', 'sensitive_fmnist', 'transformer_mnist', 'qkv_attention_mnist', 'twohead_mnist']) {
      const m = model(name);
      const session = await createSession(m, { forComparison: false });
      try {
        const whole = await session.run({ input: x });
        const runs = countRuns(session);
        // 0 ms: every batch is "slow", so it runs one sample per slice
        const runner = new SlicedRunner(session, { sliceMs: 0, model: m });
        for (let batch = 0; batch < 2; batch++) {
          const out = await runner.run({ input: x }, 37);
          for (const o of session.outputNames) {
            const [a, b] = [out[o] as ort.Tensor, whole[o] as ort.Tensor];
            expect(a.dims).toEqual(b.dims);
            if (name.includes('transformer') || name.includes('attention')) expect(maxRelativeError(a, b)).toBeLessThan(1e-4);
            else expect(sameBits(a, b)).toBe(true);
          }
        }
        expect(runs).toEqual(Array(74).fill(1));
      } finally {
        await session.release();
      }
    }
  });

  it('runs whole batches where slicing could change the outputs or the batch is quick', async () => {
    const x = mnist(16);
    for (const [m, sliceMs] of [[model('if_mnist'), 0], [batchCentred(), 0], [model('lenet_mnist'), 60_000]] as const) {
      const session = await createSession(m, { forComparison: false });
      try {
        const whole = await session.run({ input: x });
        const runs = countRuns(session);
        const runner = new SlicedRunner(session, { sliceMs, model: m });
        for (let batch = 0; batch < 2; batch++) {
          const out = await runner.run({ input: x }, 16);
          for (const o of session.outputNames) expect(sameBits(out[o] as ort.Tensor, whole[o] as ort.Tensor)).toBe(true);
        }
        // one sample measures the model's pace; every batch after that is one inference
        expect(runs).toEqual([1, 16, 16]);
      } finally {
        await session.release();
      }
    }
  });

  it('runs whole batches of a model whose batch size is fixed, and of a session whose model it was not given', async () => {
    const fixed = model('lenet_mnist');
    const dim = fixed.graph.feedInputs[0].type!.tensorType!.shape!.dim[0];
    delete dim.dimParam;
    dim.dimValue = 8;
    for (const [m, given] of [[fixed, true], [model('lenet_mnist'), false]] as const) {
      const session = await createSession(m, { forComparison: false });
      try {
        const runs = countRuns(session);
        await new SlicedRunner(session, { sliceMs: 0, model: given ? m : undefined }).run({ input: mnist(8) }, 8);
        expect(runs).toEqual(given ? [8] : [1, 8]);
      } finally {
        await session.release();
      }
    }
  });

  it('stops between slices when cancelled, well before the batch would have ended', async () => {
    const m = model('mobilenetv2_fmnist');
    const session = await createSession(m, { forComparison: false });
    try {
      const x = mnist(2000);
      await session.run({ input: mnist(1) }); // warm-up
      const t0 = performance.now();
      await session.run({ input: x });
      const wholeMs = performance.now() - t0;

      const ac = new AbortController();
      const runs = countRuns(session);
      const runner = new SlicedRunner(session, { sliceMs: wholeMs / 40, signal: ac.signal, model: m });
      const pending = runner.run({ input: x }, 2000);
      // the abort is due a tenth of the way in; it is seen at the first slice boundary after that
      setTimeout(() => ac.abort(), wholeMs / 10);
      await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
      // samples counted, not time (other tests share the cores): it stopped at a slice boundary, well before the end
      expect(runs.reduce((a, b) => a + b, 0)).toBeLessThan(1000);
    } finally {
      await session.release();
    }
  });
});
