// What ONNX Runtime says about a model's inputs and outputs.

export interface TensorIo {
  name: string;
  /** ONNX element type name, e.g. "float32", "int64"; "sequence"/"map" for non-tensors */
  type: string;
  /** dims; a dynamic dimension is its symbolic name, or "?" when it has none */
  shape: (number | string)[] | null;
}

export interface ModelIo {
  path: string;
  sizeBytes: number;
  inputs: TensorIo[];
  outputs: TensorIo[];
}
