// Public API of qtune's ONNX layer.
export * from './proto';
export * from './tensor';
export * from './attrs';
export * from './model';
export * from './names';
export * from './io';
export * from './constants';
export * from './quantizable';
export * from './value-info';
export * from './summary';
export * from './display';
export * from './synthetic';
export * from './ort';
export * from './reductions';
export * from './shapes';
export * from './upgrade';
export * from './model-io';
