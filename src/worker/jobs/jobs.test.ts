// The job handlers, run in-process on real fixture models and data.

import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import type { JobProgress } from '../../shared/api';
import { createJobContext } from '../job-context';
import { JOB_HANDLERS } from './index';

const lenet = resolve('test/fixtures/models/lenet_mnist.onnx');
const mnist = resolve('test/fixtures/data/mnist');

function ctx() {
  const seen: JobProgress[] = [];
  return { seen, ctx: createJobContext(new AbortController().signal, (p) => seen.push(p)) };
}

describe('job handlers', () => {
  it('holds only the app\'s real jobs (no test hook a client could start)', () => {
    expect(Object.keys(JOB_HANDLERS).sort()).toEqual(['config.create', 'data.preview', 'model.graph', 'model.io', 'model.summary', 'run.analyze', 'run.quantize', 'tune.run']);
  });

  it('model.summary lists the quantizable layers', async () => {
    const { ctx: c } = ctx();
    const s = await JOB_HANDLERS['model.summary']({ path: lenet }, c);
    expect(s.opset).toBe(13);
    expect(s.layers.map((l) => l.opType)).toContain('Conv');
  });

  it('model.graph gives one display node per ONNX node', async () => {
    const { ctx: c } = ctx();
    const g = await JOB_HANDLERS['model.graph']({ path: lenet }, c);
    expect(g.nodes.length).toBe(12);
    expect(g.edges.length).toBeGreaterThan(10);
    // every tensor between nodes has a shape, found by running the model; the batch keeps its name
    expect(g.edges.every((e) => e.shape)).toBe(true);
    expect(g.edges.find((e) => e.to === '/features/pool1/AveragePool')?.shape).toEqual(['batch', 6, 28, 28]);
  });

  it('config.create writes every quantizable layer with the defaults', async () => {
    const { ctx: c, seen } = ctx();
    const r = await JOB_HANDLERS['config.create']({ modelPath: lenet, skipLayers: ['/features/conv1/Conv'] }, c);
    expect(r.config.version).toBe(1);
    expect(r.config['/features/conv1/Conv']).toMatchObject({ quant_enable: false });
    expect(r.config['/classifier/fc1/Gemm']).toMatchObject({ quant_enable: true, weight_quant_params: { channel_wise: false } });
    expect(r.fusible).toEqual(expect.any(Array));
    expect(seen.at(-1)).toMatchObject({ done: 1, total: 1 });
  });

  it('data.preview decodes samples to PNG thumbnails with their labels', async () => {
    const { ctx: c } = ctx();
    const previews = await JOB_HANDLERS['data.preview']({ modelPath: lenet, data: `${mnist}/eval_x.npy`, labels: `${mnist}/eval_y.npy`, indices: [3, 0] }, c);
    expect(previews.map((p) => p.index)).toEqual([3, 0]);
    expect(previews[0].image.startsWith('data:image/png;base64,')).toBe(true);
    expect(previews[0].shape).toEqual([1, 28, 28]);
    expect(previews[0].width).toBeGreaterThanOrEqual(84);
    expect(previews[0].label).toEqual(expect.any(Number));
    expect(previews[0].max).toBeGreaterThan(previews[0].min);
  });
});
