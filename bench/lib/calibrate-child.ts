// One measured calibration in a process of its own, so its peak RSS is its own:
// `tsx bench/lib/calibrate-child.ts <what> <model.onnx> <data.npy> <samples> <batch> [--method held]`
// prints one JSON line { ms, maxRssMB, passes }. <what> is "calibrate" (fusion, calibration, export,
// files: what `qtune calibrate` does) or "plain" (one inference pass over the same samples, graph
// optimisations off: the baseline the ratios divide by).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../../src/engine/data/dataset';
import { datasetFromShortForm } from '../../src/engine/data/manifest';
import { createSession, inputSpecs, loadModel, ort } from '../../src/engine/onnx';
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
} else {
  const out = mkdtempSync(join(tmpdir(), 'qtune-bench-cal-'));
  try {
    const r = await quantizeModel({
      modelPath, dataset: { data }, outDir: out, name: 'm', batchSize: batch, batchNum: samples / batch,
      calibrationMethod: method === 'held' ? 'held' : undefined,
    });
    passes = r.calibration.passes;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ ms: performance.now() - t, maxRssMB: process.resourceUsage().maxRSS / 1024, passes }));
}
