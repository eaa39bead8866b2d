// The ONNX protobuf schema, loaded from a JSON descriptor generated once from
// the official onnx.proto (see make-onnx-proto-json.ts), so no .proto file or
// parser is needed at run time. Messages are handled as plain objects with
// camelCase field names (protobufjs's convention); an absent optional field is
// `undefined`. 64-bit integers stay `Long` (or may be plain numbers when we
// create them) so values such as INT64_MAX in Slice ends survive a round trip.
import protobuf from 'protobufjs/light.js';
import Long from 'long';
import onnxProtoJson from './onnx-proto.json';

// protobufjs finds `long` through a dynamic require that bundlers may drop;
// without it int64 fields decode to lossy doubles, so wire it explicitly.
if (!protobuf.util.Long) {
  protobuf.util.Long = Long as any;
  protobuf.configure();
}

const root = protobuf.Root.fromJSON(onnxProtoJson as protobuf.INamespace);
keepUnknownFields(root);
const ModelProtoType = root.lookupType('onnx.ModelProto');
const TensorProtoType = root.lookupType('onnx.TensorProto');

/**
 * Where a decoded message keeps the fields its schema does not know (a newer
 * ONNX than the schema, or a vendor extension): each one's bytes, tag included,
 * written back unchanged on encode. Messages qtune creates have none.
 */
export const UNKNOWN_FIELDS = '$unknown';

/**
 * protobufjs skips fields that are not in the schema, so saving would drop them.
 * Every message type's decoder is wrapped to collect the bytes of those fields,
 * its toObject to carry them into the plain object, and its encoder to append
 * them. Nested messages are decoded and encoded through the same type objects,
 * so the wrappers apply at every depth.
 */
function keepUnknownFields(ns: protobuf.NamespaceBase): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) wrapType(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) keepUnknownFields(nested);
  }
}

type Raw = Record<string, unknown>;
/** appends raw bytes to a protobufjs Writer (the Writer has no public method for bytes without a length prefix) */
const pushRaw = (w: protobuf.Writer, bytes: Uint8Array): void => {
  (w as unknown as { _push(fn: (v: Uint8Array, buf: Uint8Array, pos: number) => void, len: number, v: Uint8Array): void })
    ._push((v, buf, pos) => buf.set(v, pos), bytes.length, bytes);
};

function wrapType(type: protobuf.Type): void {
  type.setup(); // generates decode/encode/toObject as own properties; wrap those
  const known = new Set(type.fieldsArray.map((f) => f.id));
  const decode = type.decode;
  const encode = type.encode;
  const toObject = type.toObject;
  type.decode = function (reader: protobuf.Reader | Uint8Array, length?: number, ...rest: unknown[]): protobuf.Message {
    const r = reader instanceof protobuf.Reader ? reader : protobuf.Reader.create(reader);
    const start = r.pos;
    const end = length === undefined ? r.len : r.pos + length;
    const m = (decode as (...a: unknown[]) => protobuf.Message).call(this, r, length, ...rest);
    if (rest[0] !== undefined) return m; // a group: no unknown-field scan (ONNX uses none)
    let unknown: Uint8Array[] | undefined;
    const scan = protobuf.Reader.create(r.buf.subarray(start, end));
    while (scan.pos < scan.len) {
      const at = scan.pos;
      const tag = scan.uint32();
      scan.skipType(tag & 7);
      if (!known.has(tag >>> 3)) (unknown ??= []).push(r.buf.subarray(start + at, start + scan.pos));
    }
    if (unknown) (m as unknown as Raw)[UNKNOWN_FIELDS] = unknown;
    return m;
  };
  type.encode = function (message: protobuf.Message | Raw, writer?: protobuf.Writer): protobuf.Writer {
    const w = encode.call(this, message, writer);
    const unknown = (message as Raw)[UNKNOWN_FIELDS] as Uint8Array[] | undefined;
    if (unknown) for (const b of unknown) pushRaw(w, b);
    return w;
  };
  type.toObject = function (message: protobuf.Message, options?: protobuf.IConversionOptions): Raw {
    const o = toObject.call(this, message, options);
    const unknown = (message as unknown as Raw)[UNKNOWN_FIELDS];
    if (unknown) o[UNKNOWN_FIELDS] = unknown;
    return o;
  };
}

export type Int64 = number | Long;

export interface StringStringEntryProto { key?: string; value?: string }
export interface OperatorSetIdProto { domain?: string; version?: Int64 }

export interface TensorProto {
  dims: Int64[];
  dataType?: number;
  segment?: { begin?: Int64; end?: Int64 };
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  externalData: StringStringEntryProto[];
  /** 0 = DEFAULT, 1 = EXTERNAL */
  dataLocation?: number;
  doubleData: number[];
  uint64Data: Int64[];
  /** IR 10 */
  metadataProps?: StringStringEntryProto[];
}

export interface TensorShapeDimension { dimValue?: Int64; dimParam?: string; denotation?: string }
export interface TypeProto {
  tensorType?: { elemType?: number; shape?: { dim: TensorShapeDimension[] } };
  sequenceType?: { elemType?: TypeProto };
  mapType?: { keyType?: number; valueType?: TypeProto };
  optionalType?: { elemType?: TypeProto };
  sparseTensorType?: { elemType?: number; shape?: { dim: TensorShapeDimension[] } };
  denotation?: string;
}
export interface ValueInfoProto { name?: string; type?: TypeProto; docString?: string; metadataProps?: StringStringEntryProto[] }

export interface AttributeProto {
  name?: string;
  refAttrName?: string;
  docString?: string;
  /** AttributeType enum, see ATTR */
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  sparseTensor?: unknown;
  tp?: TypeProto;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
  sparseTensors: unknown[];
  typeProtos: TypeProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
  /** IR 10: the function overload a node calls, and per-node metadata (torch's newer exporter writes it on every node) */
  overload?: string;
  metadataProps?: StringStringEntryProto[];
  /** IR 11 */
  deviceConfigurations?: unknown[];
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparseInitializer: unknown[];
  docString?: string;
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  quantizationAnnotation: unknown[];
  /** IR 10 */
  metadataProps?: StringStringEntryProto[];
}

export interface FunctionProto {
  name?: string;
  input: string[];
  output: string[];
  attribute: string[];
  node: NodeProto[];
  docString?: string;
  opsetImport: OperatorSetIdProto[];
  domain?: string;
  /** IR 9/10: attributes with defaults, overloads, value info, metadata */
  attributeProto?: AttributeProto[];
  overload?: string;
  valueInfo?: ValueInfoProto[];
  metadataProps?: StringStringEntryProto[];
}

export interface ModelProto {
  irVersion?: Int64;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProto;
  metadataProps: StringStringEntryProto[];
  trainingInfo: unknown[];
  functions: FunctionProto[];
  /** IR 11 */
  configuration?: unknown[];
}

/** AttributeProto.AttributeType */
export const ATTR = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataType */
export const DT = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  // IR 9: float8; IR 10: 4-bit integers; IR 11: float4 and float8 e8m0
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23, FLOAT8E8M0: 24,
} as const;

export const DATA_LOCATION_EXTERNAL = 1;

// Plain objects with own arrays for every repeated field (so callers can push
// to them) while bytes stay views into the decoded buffer and int64 stays Long.
const TO_OBJECT: protobuf.IConversionOptions = { arrays: true };

/** Decode ModelProto bytes. Throws protobufjs's error on malformed input. */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return ModelProtoType.toObject(ModelProtoType.decode(bytes), TO_OBJECT) as ModelProto;
}

/** Bare protobuf decode (no conversion to plain objects); the bench baseline. */
export function decodeModelProtoRaw(bytes: Uint8Array): unknown {
  return ModelProtoType.decode(bytes);
}

export function encodeModelProto(model: ModelProto): Uint8Array {
  return ModelProtoType.encode(model as any).finish();
}

export function encodeTensorProto(t: TensorProto): Uint8Array {
  return TensorProtoType.encode(t as any).finish();
}

/** An int64 field as a JS number (exact below 2^53; INT64_MAX etc. saturate). */
export function toNum(v: Int64 | undefined | null, fallback = 0): number {
  if (v === undefined || v === null) return fallback;
  return typeof v === 'number' ? v : v.toNumber();
}

export function toBigInt(v: Int64): bigint {
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

export function int64FromBigInt(v: bigint): Int64 {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Long.fromString(v.toString());
}
