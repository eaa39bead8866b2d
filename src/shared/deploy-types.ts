// What the deployed model does in the runtime: latency against the float
// model, and whether the runtime's integer kernels give the answers the
// simulation (graph optimisations off) gave.

/** Latency of one model at one batch size (milliseconds per inference). */
export interface LatencyStats {
  batchSize: number;
  warmup: number;
  repetitions: number;
  medianMs: number;
  p90Ms: number;
  /** samples per second at the median */
  throughput: number;
}

export interface ModelLatency {
  model: string;
  stats: LatencyStats[];
}

/** A model measured side by side with a reference (the float model), runs interleaved. */
export interface LatencyComparison {
  model: ModelLatency;
  reference?: ModelLatency;
  /** reference median / model median per batch size: > 1 means the model is faster */
  speedup?: { batchSize: number; ratio: number }[];
  /** the ORT threads used (0: ORT's default) */
  threads: number;
  /** where it was measured, e.g. "onnxruntime-node 1.30.0, 2 CPU cores (AMD EPYC)" */
  machine: string;
  /** the same, as fields (absent in runs recorded before they were kept) */
  host?: MachineInfo;
}

/** The runtime and CPU a measurement was taken on. */
export interface MachineInfo {
  /** e.g. "onnxruntime-node 1.30.0" */
  runtime: string;
  cores: number;
  /** the CPU's model name, when the OS gives one */
  cpu?: string;
}

/** "onnxruntime-node 1.30.0, 2 CPU cores (AMD EPYC)" */
export function machineText(m: MachineInfo): string {
  return `${m.runtime}, ${m.cores} CPU core${m.cores === 1 ? '' : 's'}${m.cpu ? ` (${m.cpu})` : ''}`;
}

/** Each layer's time (ms per inference of `batchSize` samples) in the float and the int8 model, from onnxruntime's profiler. */
export interface LayerTimes {
  batchSize: number;
  float: Record<string, number>;
  int8: Record<string, number>;
}

/** Default thresholds past which the simulation and the runtime are said to disagree. */
export const PARITY_MAX_METRIC_DIFF = 0.3;
export const PARITY_MAX_FLIP_PERCENT = 1;

/** The int8 model evaluated as a simulation (optimisations off) and as the runtime runs it (optimisations on). */
export interface RuntimeParity {
  samples: number;
  /** headline metric of each way (top-1 % with labels, else null) */
  simulatedMetric: number | null;
  runtimeMetric: number | null;
  /** percent of samples whose top-1 is the same both ways */
  top1Agreement: number;
  /** largest |simulated − runtime| over every value of every output (top-1 agreement is of `output`) */
  maxAbsDiff: number;
  output: string;
  /** thresholds applied and the verdict */
  maxMetricDiff: number;
  maxFlipPercent: number;
  ok: boolean;
  /** one line for people: "simulated 90.50% vs runtime 90.45% top-1; 99.8% agree; max output difference 0.04" */
  summary: string;
}

/** "int8 runs 1.31× faster than float here (batch 32)" — or slower, said plainly; from the largest batch measured. */
export function speedupSentence(c: Pick<LatencyComparison, 'speedup'>, what = 'int8', than = 'float'): string | undefined {
  if (!c.speedup?.length) return undefined;
  const last = c.speedup[c.speedup.length - 1];
  const r = last.ratio;
  const how = r >= 1 ? `${r.toFixed(2)}× faster than` : `${(1 / r).toFixed(2)}× slower than`;
  return `${what} runs ${how} ${than} here (batch ${last.batchSize})`;
}
