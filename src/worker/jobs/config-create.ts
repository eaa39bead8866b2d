// Generates the initial config.json for a model (every quantizable layer with
// the documented defaults), plus the layer list the config editor shows.

import { loadModel } from '../../engine/onnx/io';
import { findQuantizableLayers } from '../../engine/onnx/quantizable';
import { createQuantConfig, quantConfigToJson } from '../../engine/quant/config';
import { fusibleLayers } from '../../engine/quant/fusion';
import type { JobHandler } from './handler';

export const configCreateJob: JobHandler<'config.create'> = async (params, ctx) => {
  ctx.progress('read model', 0, 1);
  const model = loadModel(params.modelPath);
  const layers = findQuantizableLayers(model);
  const config = createQuantConfig(
    layers.filter((l) => l.quantizable).map((l) => ({ name: l.name, opType: l.opType, kernelDims: l.kernelDims })),
    { batchNum: params.batchNum, activationOffset: params.activationOffset, skipLayers: params.skipLayers },
  );
  ctx.progress('read model', 1, 1);
  return { config: quantConfigToJson(config), layers, fusible: fusibleLayers(model) };
};
