// One measured analysis in a process of its own, so its peak RSS is its own:
// `tsx bench/lib/analyze-child.ts <float.onnx> <quant.onnx> <data.npy> <samples>`
// prints one JSON line { ms, passMs, loadMs, weightsMs, maxRssMB }: the whole
// `qtune analyze` (load, data, accumulated, isolated, weights, suggestions),
// its accumulated + isolated passes alone (twin build and sessions included),
// the loading (with the float model's fusion) and the weight errors.
import { analyzeModels } from '../../src/engine/analyze/analyze';

const [float, quant, data, samplesArg] = process.argv.slice(2);
const t0 = performance.now();
const report = await analyzeModels({ floatModel: float, quantModel: quant, dataset: data, samples: Number(samplesArg) });
const ms = performance.now() - t0;
const passMs = 1000 * ((report.timings.accumulated ?? 0) + (report.timings.isolated ?? 0));
const t = report.timings;
console.log(JSON.stringify({ ms, passMs, loadMs: 1000 * ((t.load ?? 0) + (t.data ?? 0)), weightsMs: 1000 * (t.weights ?? 0), maxRssMB: process.resourceUsage().maxRSS / 1024 }));
