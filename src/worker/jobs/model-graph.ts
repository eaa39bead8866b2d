// The model as the graph view draws it, with the shape of every tensor: the
// file's declared shapes, and for the rest the shapes found by running the
// model once (dynamic dimensions at 1).

import { loadModel } from '../../engine/onnx/io';
import { toDisplayGraph } from '../../engine/onnx/display';
import { inferTensorTypes } from '../../engine/onnx/shapes';
import { shapeOf } from '../../engine/onnx/value-info';
import type { OnnxModel } from '../../engine/onnx/model';
import type { JobHandler } from './handler';

/** The inputs' common symbolic batch dimension ("batch", "N"…), when they share one. */
function batchDimName(model: OnnxModel): string | undefined {
  const firsts = new Set(model.graph.feedInputs.map((v) => shapeOf(v.type)?.[0]));
  const [only] = [...firsts];
  return firsts.size === 1 && typeof only === 'string' ? only : undefined;
}

async function runShapes(model: OnnxModel): Promise<Map<string, (number | string)[]> | undefined> {
  try {
    const types = await inferTensorTypes(model);
    const batch = batchDimName(model);
    const shapes = new Map<string, (number | string)[]>();
    for (const [name, t] of types) {
      if (!t.shape) continue;
      // Run at batch 1: show the model's own name for a leading batch dimension again.
      shapes.set(name, batch && t.shape.length >= 2 && t.shape[0] === 1 ? [batch, ...t.shape.slice(1)] : t.shape);
    }
    return shapes;
  } catch {
    // A model ORT cannot run on zero-filled inputs still draws, with its declared shapes.
    return undefined;
  }
}

export const modelGraphJob: JobHandler<'model.graph'> = async (params, ctx) => {
  ctx.progress('read model', 0, 2);
  const model = loadModel(params.path);
  ctx.progress('infer shapes', 1, 2);
  const graph = toDisplayGraph(model, await runShapes(model));
  ctx.progress('infer shapes', 2, 2);
  return graph;
};
