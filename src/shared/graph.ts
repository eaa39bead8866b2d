// The compact graph description the engine produces for display. The
// renderer lays it out and draws it; nothing here depends on ONNX types.

import type { NotQuantizableReason } from './model-summary';

export interface DisplayNode {
  /** stable layer name (the deterministic name config.json uses) */
  id: string;
  opType: string;
  /** tensor names consumed / produced, in ONNX order */
  inputs: string[];
  outputs: string[];
  /** number of weight parameters held by this node's initializers */
  params: number;
  /** quantizable per the spec §4 */
  quantizable: boolean;
  /** why a Conv/Gemm/MatMul/... is not quantizable, when it is not */
  reason?: string;
  /** the same as codes with their values (the app words them) */
  why?: NotQuantizableReason[];
  /** short attribute summary for the side panel, e.g. { kernel_shape: "3x3", group: "32" } */
  attrs?: Record<string, string>;
}

export interface DisplayEdge {
  /** producer node id, or `input:<name>` for a graph input */
  from: string;
  /** consumer node id, or `output:<name>` for a graph output */
  to: string;
  tensor: string;
  /** known shape; dynamic dims are strings such as "N" */
  shape?: (number | string)[];
}

export interface DisplayGraph {
  nodes: DisplayNode[];
  edges: DisplayEdge[];
  inputs: string[];
  outputs: string[];
  /** If/Loop/Scan bodies, drawn in place of their node when it is expanded (nested ones listed too) */
  bodies?: DisplayBody[];
}

/**
 * One body of a control-flow node: its nodes (ids `<owner>/<attribute>/<node>`, the layer names config.json
 * uses) and edges inside it, and how it connects to the graph around its owner.
 */
export interface DisplayBody {
  /** id of the If/Loop/Scan node holding it */
  owner: string;
  /** `<owner>/<attribute>` */
  path: string;
  nodes: DisplayNode[];
  edges: DisplayEdge[];
  /** tensors it reads from outside: a body input (`ownerInput`: the owner's input at that position) or an outer tensor by name */
  entries: { to: string; tensor: string; ownerInput?: number }[];
  /** what it gives back: the owner's output at `ownerOutput` comes from node `from` */
  exits: { from: string; tensor: string; ownerOutput: number }[];
}
