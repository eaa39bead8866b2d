// The model summary the UI and `qtune info` show.
import { statSync } from 'node:fs';
import type { ModelSummary } from '../../shared/model-summary';
import { subgraphsOf } from './attrs';
import { loadModel } from './io';
import type { OnnxModel } from './model';
import { toNum } from './proto';
import { findQuantizableLayers } from './quantizable';
import { bodyScopes } from './subgraphs';
import { tensorNumElements } from './tensor';
import { describeValue } from './value-info';

export function summarizeModel(path: string): ModelSummary {
  const model = loadModel(path);
  return summarizeLoadedModel(model, statSync(path).size);
}

export function summarizeLoadedModel(model: OnnxModel, sizeBytes = 0): ModelSummary {
  const g = model.graph;
  const idx = g.index();
  const opCounts: Record<string, number> = {};
  const subgraphNodes: string[] = [];
  for (const n of g.nodes) {
    const op = (n.domain ? `${n.domain}.` : '') + (n.opType ?? '');
    opCounts[op] = (opCounts[op] ?? 0) + 1;
    if (subgraphsOf(n).length > 0) subgraphNodes.push(n.name ?? '');
  }
  let paramCount = 0;
  for (const t of idx.initializers.values()) paramCount += tensorNumElements(t);
  for (const t of idx.constants.values()) paramCount += tensorNumElements(t);
  for (const b of bodyScopes(model)) {
    const bi = b.graph.index();
    for (const t of [...bi.initializers.values(), ...bi.constants.values()]) paramCount += tensorNumElements(t);
  }
  const layers = findQuantizableLayers(model, idx);
  const subgraphs = bodyScopes(model).map((b) => {
    const inside = layers.filter((l) => l.subgraph === b.path);
    return { path: b.path, opType: b.owner?.opType ?? '', nodeCount: b.graph.nodes.length, layers: inside.length, quantizable: inside.filter((l) => l.quantizable).length };
  });
  return {
    path: model.path ?? '',
    sizeBytes,
    irVersion: model.irVersion,
    opset: model.opsetVersion('') ?? 0,
    opsetImports: model.proto.opsetImport.map((o) => ({ domain: o.domain ?? '', version: toNum(o.version) })),
    producerName: model.proto.producerName ?? '',
    producerVersion: model.proto.producerVersion ?? '',
    inputs: g.feedInputs.map(describeValue),
    outputs: g.outputs.map(describeValue),
    nodeCount: g.nodes.length,
    opCounts,
    paramCount,
    subgraphNodes,
    subgraphs,
    layers,
    quantizableCount: layers.filter((l) => l.quantizable).length,
  };
}
