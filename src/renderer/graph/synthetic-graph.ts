// A deep residual chain (Conv → Relu → Add, the Add also taking the block's
// input), the shape of the large models the graph view must stay usable on.
// Used by the layout tests, the layout benchmark and the panning frame-time check.
import type { DisplayGraph, DisplayEdge, DisplayNode } from '../../shared/graph';

export function residualChainGraph(nodeCount: number): DisplayGraph {
  const nodes: DisplayNode[] = [];
  const edges: DisplayEdge[] = [];
  const pattern = ['Conv', 'Relu', 'Add'] as const;
  let prevTensor = 'images';
  let prevNode = 'input:images';
  let blockInTensor = prevTensor;
  let blockInNode = prevNode;
  for (let i = 0; i < nodeCount; i++) {
    const op = pattern[i % 3];
    const block = Math.floor(i / 3);
    const id = `/backbone/block${block}/${op.toLowerCase()}/${op}`;
    const out = `${id}_output_0`;
    const inputs = [prevTensor];
    edges.push({ from: prevNode, to: id, tensor: prevTensor, shape: ['N', 64, 56, 56] });
    if (op === 'Add') {
      inputs.push(blockInTensor);
      edges.push({ from: blockInNode, to: id, tensor: blockInTensor, shape: ['N', 64, 56, 56] });
    }
    nodes.push({
      id,
      opType: op,
      inputs: op === 'Conv' ? [...inputs, `${id}.weight`, `${id}.bias`] : inputs,
      outputs: [out],
      params: op === 'Conv' ? 64 * 64 * 9 + 64 : 0,
      quantizable: op === 'Conv' || op === 'Add',
      attrs: op === 'Conv' ? { kernel_shape: '3x3', group: '1' } : undefined,
    });
    prevTensor = out;
    prevNode = id;
    if (op === 'Add') {
      blockInTensor = out;
      blockInNode = id;
    }
  }
  edges.push({ from: prevNode, to: 'output:logits', tensor: prevTensor });
  return { nodes, edges, inputs: ['images'], outputs: ['logits'] };
}
