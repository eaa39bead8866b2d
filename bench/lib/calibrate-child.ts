// One measured calibration in a process of its own, so its peak RSS is its own:
// `tsx bench/lib/calibrate-child.ts <what> <model.onnx> <data.npy> <samples> <batch> [--method held]`
// prints one JSON line { ms, maxRssMB, passes }. <what> is "calibrate" (fusion, calibration, export,
// files: what `qtune calibrate` does) or "plain" (one inference pass over the same samples, graph
// optimisations off: the baseline the ratios divide by). "clips" calibrates the prepared float model
// with the streaming method and with the held (sort-based) reference and prints how many layers got
// the same candidate { same, layers, differ: [...] }.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../../src/engine/data/dataset';
import { datasetFromShortForm } from '../../src/engine/data/manifest';
import { openDataFor } from '../../src/engine/data/for-model';
import { createSession, findQuantizableLayers, inputSpecs, loadModel, ort } from '../../src/engine/onnx';
import { calibrate } from '../../src/engine/quant/calibrate';
import { createQuantConfig } from '../../src/engine/quant/config';
import { fuseAsConfigured, upgradedForQdq } from '../../src/engine/quant/prepare';
import { quantizeModel } from '../../src/engine/quant/quantize';

const [what, modelPath, data, samplesArg, batchArg, , method] = process.argv.slice(2);
const samples = Number(samplesArg);
const batch = Number(batchArg);
const t = performance.now();
let passes = 1;
if (what === 'plain') {
  const model = loadModel(modelPath);
  const inputs = inputSpecs(model);
  const dataset = await openDataset(await datasetFromShortForm({ data, inputName: inputs[0].name }), { inputs });
  const session = await createSession(model, { forComparison: true });
  const t0 = performance.now();
  for await (const b of dataset.batches({ batchSize: batch, limit: samples })) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, f] of Object.entries(b.feeds)) feeds[k] = new ort.Tensor(f.type, f.data, f.dims);
    await session.run(feeds);
  }
  await session.release();
  console.log(JSON.stringify({ ms: performance.now() - t0, maxRssMB: process.resourceUsage().maxRSS / 1024, passes }));
} else if (what === 'clips') {
  // the float model calibration sees in a run: opset raised for QDQ, BatchNorm fused as the default config says
  const source = loadModel(modelPath);
  const config = createQuantConfig(findQuantizableLayers(source).filter((l) => l.quantizable), { batchNum: samples / batch });
  const model = (await upgradedForQdq(source)).model;
  await fuseAsConfigured(model, { doFusion: config.do_fusion, skip: config.skip_fusion_layers });
  const calibrated = async (method: 'stream' | 'held') => (await calibrate(model, await openDataFor(model, { data }), config, { batchSize: batch, method })).layers;
  const streamed = await calibrated('stream');
  const held = await calibrated('held');
  // the same candidate, scale within 1e-6 relative, the same offset, and the reference exact (not its histogram mode)
  const differ = streamed.filter((l, i) => {
    const h = held[i];
    return l.name !== h.name || l.ifmr.bestIndex !== h.ifmr.bestIndex || l.ifmr.offset !== h.ifmr.offset || Math.abs(l.ifmr.scale - h.ifmr.scale) > 1e-6 * h.ifmr.scale || h.ifmr.approximate;
  }).map((l) => l.name);
  console.log(JSON.stringify({ same: streamed.length - differ.length, layers: streamed.length, differ }));
} else {
  const out = mkdtempSync(join(tmpdir(), 'qtune-bench-cal-'));
  // ms from one stage's first progress report to the next stage's (calibrate: the passes; export: ARQ, Q/DQ, kernel check)
  const stageMs: Record<string, number> = {};
  let stage = '';
  let since = t;
  try {
    const r = await quantizeModel({
      modelPath, dataset: { data }, outDir: out, name: 'm', batchSize: batch, batchNum: samples / batch,
      calibrationMethod: method === 'held' ? 'held' : undefined,
      onProgress: (p) => {
        if (p.stage === stage) return;
        const now = performance.now();
        stageMs[stage || 'start'] = (stageMs[stage || 'start'] ?? 0) + now - since;
        stage = p.stage;
        since = now;
      },
    });
    passes = r.calibration.passes;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  stageMs[stage] = (stageMs[stage] ?? 0) + performance.now() - since;
  console.log(JSON.stringify({ ms: performance.now() - t, maxRssMB: process.resourceUsage().maxRSS / 1024, passes, stageMs }));
}
