// One measured analysis in a process of its own, so its peak RSS is its own:
// `tsx bench/lib/analyze-child.ts <float.onnx> <quant.onnx> <data.npy> <samples>`
// prints one JSON line { ms, passMs, maxRssMB }: the whole `qtune analyze`
// (load, data, accumulated, isolated, weights, suggestions) and its
// accumulated + isolated passes alone (sessions and twin build included).
import { analyzeModels } from '../../src/engine/analyze/analyze';

const [float, quant, data, samplesArg] = process.argv.slice(2);
const t = performance.now();
const report = await analyzeModels({ floatModel: float, quantModel: quant, dataset: data, samples: Number(samplesArg) });
const ms = performance.now() - t;
const passMs = 1000 * ((report.timings.accumulated ?? 0) + (report.timings.isolated ?? 0));
console.log(JSON.stringify({ ms, passMs, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
