// Relu outputs the accumulated comparison reads from the Relu's input instead
// of fetching them from onnxruntime.
//
// Every tensor onnxruntime-node hands to JavaScript is copied into a fresh
// buffer: on ResNet-50 fetching every compared tensor doubles an inference,
// and a third of those values are Relu outputs. A Relu's output is a function
// of its input alone; when the input is compared in the same run anyway, the
// metrics kernel applies the Relu to the input's values as it reads them
// (`v < 0 ? 0 : v`, which keeps NaN and −0 as onnxruntime's Relu does), so
// the Relu's output is compared without being copied out at all.
import type { OnnxModel } from '../onnx';

export interface DerivationPlan {
  /** what the run must return */
  fetched: string[];
  /** Relu outputs read through the Relu from a fetched tensor: output → that tensor */
  reluOf: Map<string, string>;
}

/**
 * Which of `tensors` (in the model's node order) a run fetches and which Relu outputs it reads from their inputs.
 * `float32`: the tensors known to be float32 (a Relu is derived only from, and for, those).
 */
export function planDerivations(model: OnnxModel, tensors: readonly string[], float32: ReadonlySet<string>): DerivationPlan {
  const idx = model.graph.index();
  const fetched: string[] = [];
  const reluOf = new Map<string, string>();
  const seen = new Set<string>();
  for (const name of tensors) {
    const node = idx.producers.get(name);
    const input = node?.input[0] ?? '';
    const derivable = node?.opType === 'Relu' && (node.domain ?? '') === '' && node.input.length === 1 && node.output.length === 1
      && float32.has(name) && float32.has(input) && seen.has(input);
    // a Relu of a Relu's output is the same Relu of its input
    if (derivable) reluOf.set(name, reluOf.get(input) ?? input);
    else fetched.push(name);
    seen.add(name);
  }
  return { fetched, reluOf };
}
