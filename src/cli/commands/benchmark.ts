import type { Command } from 'commander';
import { openDataFor } from '../../engine/data/for-model';
import { compareLatency, DEFAULT_REPETITIONS, DEFAULT_WARMUP, type InputInfo } from '../../engine/deploy/latency';
import { firstFeeds } from '../../engine/deploy/feeds';
import { profileLayers } from '../../engine/deploy/profile';
import { createSession, inputSpecs, ort } from '../../engine/onnx';
import { speedupSentence } from '../../shared/deploy-types';
import { QtuneError } from '../../shared/errors';
import { cancelOnInterrupt } from '../cancel';
import { fail, printJson, progressPrinter } from '../output';

interface BenchmarkFlags {
  model: string;
  reference?: string;
  batchSizes: string;
  warmup: string;
  repetitions: string;
  threads?: string;
  data?: string;
  json?: boolean;
  profile?: boolean;
}

function count(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new QtuneError('cli_invalid', `--${flag} wants an integer >= ${min}, got "${v}"`);
  return n;
}

/** One batch of real samples per batch size, taken from the start of a .npy (or other dataset) for every input. */
async function dataFeeds(path: string, inputs: readonly InputInfo[], bs: number): Promise<Record<string, ort.Tensor>> {
  const dataset = await openDataFor(inputs, { data: path });
  if (dataset.count < bs) throw new QtuneError('cli_invalid', `${path} has ${dataset.count} samples, fewer than the batch size ${bs}`, { file: path });
  const feeds = await firstFeeds(dataset, bs);
  if (!feeds) throw new QtuneError('cli_invalid', `${path} gave no samples`, { file: path });
  return feeds;
}

export function registerBenchmark(program: Command): void {
  program
    .command('benchmark')
    .description('latency of a model as onnxruntime runs it (graph optimisations on), side by side with a reference (the float model)')
    .requiredOption('--model <model.onnx>', 'the model to time (e.g. the int8 model)')
    .option('--reference <float.onnx>', 'time this model too, interleaved, and print the speed-up')
    .option('--batch-sizes <list>', 'batch sizes, comma separated', '1,32')
    .option('--warmup <n>', 'untimed runs first, per batch size', String(DEFAULT_WARMUP))
    .option('--repetitions <n>', 'timed runs per batch size', String(DEFAULT_REPETITIONS))
    .option('--threads <n>', 'onnxruntime intra-op threads (default: its own choice)')
    .option('--data <x.npy>', 'feed real samples (default: seeded random values of the input shape)')
    .option('--profile', "also print each layer's time from onnxruntime's profiler (at the largest batch size), for the model and the reference")
    .option('--json', 'print the result as JSON')
    .action(async (flags: BenchmarkFlags) => {
      const signal = cancelOnInterrupt();
      const bar = progressPrinter();
      try {
        const batchSizes = flags.batchSizes.split(',').map((v) => count('batch-sizes', v.trim(), 1));
        const result = await compareLatency(flags.model, flags.reference, {
          batchSizes,
          warmup: count('warmup', flags.warmup, 0),
          repetitions: count('repetitions', flags.repetitions, 1),
          threads: flags.threads ? count('threads', flags.threads, 1) : undefined,
          feedsFor: flags.data ? (bs, inputs) => dataFeeds(flags.data!, inputs, bs) : undefined,
          signal,
          onProgress: (d, t) => bar.update('benchmark', d, t),
        });
        bar.end();
        const profiles: Record<string, Awaited<ReturnType<typeof profileLayers>>> = {};
        if (flags.profile) {
          const bs = result.model.stats.at(-1)!.batchSize;
          for (const path of [flags.model, flags.reference].filter((p): p is string => !!p)) {
            const session = await createSession(path, { forComparison: false });
            const inputs = inputSpecs(session).map((s) => (s.type === 'non-tensor' ? { ...s, type: 'float32', dims: [] } : { ...s, dims: [...s.dims] }));
            await session.release();
            const feeds = flags.data ? await dataFeeds(flags.data, inputs, bs) : Object.fromEntries(inputs.map((i) => {
              const dims = i.dims.map((d, k) => (k === 0 ? bs : Number(d)));
              return [i.name, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5), dims)];
            }));
            profiles[path] = await profileLayers(path, feeds, 3);
          }
        }
        if (flags.json) return printJson(flags.profile ? { ...result, profiles } : result);
        console.log(`${result.machine}`);
        for (const [label, m] of [['model', result.model], ['reference', result.reference]] as const) {
          if (!m) continue;
          for (const s of m.stats) {
            console.log(`  ${label} ${m.model} batch ${s.batchSize}: median ${s.medianMs.toFixed(1)} ms, p90 ${s.p90Ms.toFixed(1)} ms, ${s.throughput.toFixed(1)} samples/s (${s.repetitions} runs after ${s.warmup} warm-up)`);
          }
        }
        for (const s of result.speedup ?? []) console.log(`  speed-up at batch ${s.batchSize}: ${s.ratio.toFixed(2)}×`);
        const sentence = speedupSentence(result, 'the model', 'the reference');
        if (sentence) console.log(`  ${sentence}`);
        for (const [path, p] of Object.entries(profiles)) {
          console.log(`per-layer time of ${path} (${p.totalMs.toFixed(1)} ms per inference, slowest first):`);
          for (const l of p.layers.slice(0, 15)) console.log(`  ${l.ms.toFixed(2).padStart(8)} ms  ${l.name} (${l.ops.join(', ')})`);
          if (p.layers.length > 15) console.log(`  … ${p.layers.length - 15} more`);
        }
      } catch (err) {
        bar.end();
        fail(err);
      }
    });
}
