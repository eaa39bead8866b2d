import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { loadModel, serializeModel } from './io';
import { createSession } from './ort';
import { tensorRanks, upgradeModelFile, upgradeOpset } from './upgrade';
import { CLS_MODEL, FIXTURES, maxRelativeError, randomTensor } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'qtune-onnx-upgrade-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(model: string | Uint8Array, feeds: Record<string, ort.Tensor>) {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try { return await s.run(feeds); } finally { await s.release(); }
}

function expectClose(a: ort.InferenceSession.ReturnType, b: ort.InferenceSession.ReturnType) {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) {
    expect(b[k].dims, k).toEqual(a[k].dims);
    expect(maxRelativeError(b[k], a[k]), k).toBeLessThanOrEqual(1e-5);
  }
}

describe.each([7, 9, 10, 11])('opset %i → 13', (opset) => {
  it('gives the same outputs in ORT', async () => {
    const path = join(FIXTURES, `upgrade_opset${opset}.onnx`);
    const model = loadModel(path);
    const feeds = { x: randomTensor([1, 3, 8, 8], opset) };
    const before = await run(path, feeds);
    const ranks = await tensorRanks(model);
    const report = upgradeOpset(model, 13, { ranks });
    expect(report).toMatchObject({ from: opset, to: 13 });
    expect(model.opsetVersion()).toBe(13);
    const after = await run(serializeModel(model), feeds);
    expectClose(before, after);
    // ops whose attributes must have moved to inputs
    const byOp = (op: string) => model.graph.nodes.filter((n) => n.opType === op);
    for (const n of [...byOp('Squeeze'), ...byOp('Unsqueeze'), ...byOp('Split'), ...byOp('Slice'), ...byOp('Pad'), ...byOp('Clip')]) {
      expect(n.attribute.map((a) => a.name), n.name).not.toEqual(expect.arrayContaining(['axes', 'split', 'starts', 'pads', 'min', 'max']));
    }
    expect(byOp('Upsample')).toEqual([]);
  });
});

describe('upgrading the real classifier', () => {
  it('opset 9 → 13 keeps ORT outputs equal, through upgradeModelFile', async () => {
    const out = join(tmp, 'cls13.onnx');
    const report = await upgradeModelFile(CLS_MODEL, out, 13);
    expect(report.from).toBe(9);
    const feeds = { x: randomTensor([1, 3, 48, 192], 5) };
    const [a, b] = [await run(CLS_MODEL, feeds), await run(out, feeds)];
    expectClose(a, b);
    const upgraded = loadModel(out);
    expect(upgraded.opsetVersion()).toBe(13);
    // and it still loads in a comparison session (optimizations off)
    await (await createSession(upgraded)).release();
  });

  it('also works without ranks (Softmax via Flatten/Reshape)', async () => {
    const model = loadModel(CLS_MODEL);
    upgradeOpset(model, 13);
    const feeds = { x: randomTensor([1, 3, 48, 192], 6) };
    expectClose(await run(CLS_MODEL, feeds), await run(serializeModel(model), feeds));
  });
});

describe('upgrade errors', () => {
  it('names the op and node it cannot convert', () => {
    const model = loadModel(join(FIXTURES, 'upgrade_unsupported.onnx'));
    let err: unknown;
    try { upgradeOpset(model, 13); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(QtuneError);
    expect((err as Error).message).toMatch(/node 'scatter_node' \(Scatter\).*no opset 9 → 13 converter for Scatter/);
    expect((err as QtuneError).details.layer).toBe('scatter_node');
  });
  it('refuses targets outside 13..17 and downgrades', () => {
    expect(() => upgradeOpset(loadModel(CLS_MODEL), 12)).toThrow(/not a supported target/);
    const m = loadModel(join(FIXTURES, 'layers.onnx'));
    expect(upgradeOpset(m, 13).changes).toEqual([]);
    m.setOpsetVersion(15);
    expect(() => upgradeOpset(m, 13)).toThrow(/already at opset 15/);
  });
});
