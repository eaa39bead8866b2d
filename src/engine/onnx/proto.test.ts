import { describe, expect, it } from 'vitest';
import { DT, UNKNOWN_FIELDS, decodeModelProto, encodeModelProto, toNum } from './proto';

// A hand-written protobuf encoder, independent of the schema under test, so the
// bytes below are what a newer ONNX writer produces, field numbers from onnx.proto.
const varint = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
};
const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)];
const ld = (id: number, payload: number[]): number[] => [...varint((id << 3) | 2), ...varint(payload.length), ...payload];
const str = (id: number, s: string): number[] => ld(id, bytesOf(s));
const int = (id: number, v: number): number[] => [...varint(id << 3), ...varint(v)];
const entry = (id: number, key: string, value: string): number[] => ld(id, [...str(1, key), ...str(2, value)]);

// A field no ONNX release defines (a vendor extension, or a field newer than the schema)
const NODE_EXTENSION = int(1000, 42);
const MODEL_EXTENSION = ld(1001, [1, 2, 3, 250]);

/** An IR 10 model: node and graph metadata_props, a node overload, a float8 and an int4 initializer, unknown fields. */
function ir10ModelBytes(): Uint8Array {
  const tensor = (name: string, dt: number, raw: number[]) => [...int(1, raw.length * (dt === DT.INT4 ? 2 : 1)), ...int(2, dt), ...str(8, name), ...ld(9, raw)];
  // ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 } } } } }
  const valueInfo = (name: string) => [...str(1, name), ...ld(2, ld(1, [...int(1, DT.FLOAT), ...ld(2, ld(1, int(1, 4)))]))];
  // every message's fields in field-number order, then the unknown ones: the order protobufjs writes
  const node = [
    ...str(1, 'x'), ...str(2, 'y'), ...str(3, 'relu'), ...str(4, 'Relu'),
    ...str(8, 'fast'), ...entry(9, 'pkg.torch.onnx.stack_trace', 'File "model.py", line 12'), ...entry(9, 'namespace', 'Net/relu'),
    ...NODE_EXTENSION,
  ];
  const graph = [
    ...ld(1, node), ...str(2, 'g'),
    ...ld(5, tensor('w8', DT.FLOAT8E4M3FN, [0x38, 0x40, 0xb8, 0x00])), ...ld(5, tensor('w4', DT.INT4, [0x21, 0xf3])),
    ...ld(11, valueInfo('x')), ...ld(12, valueInfo('y')),
    ...entry(16, 'source', 'exporter 2.x'),
  ];
  const opset = [...str(1, ''), ...int(2, 21)];
  // ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8, then the unknown field
  return Uint8Array.from([...int(1, 10), ...str(2, 'newer-exporter'), ...ld(7, graph), ...ld(8, opset), ...MODEL_EXTENSION]);
}

describe('ONNX schema (IR 10/11)', () => {
  it('reads node and graph metadata_props, overloads and the new element types', () => {
    const m = decodeModelProto(ir10ModelBytes());
    expect(toNum(m.irVersion)).toBe(10);
    const node = m.graph!.node[0];
    expect(node.overload).toBe('fast');
    expect(node.metadataProps).toEqual([
      { key: 'pkg.torch.onnx.stack_trace', value: 'File "model.py", line 12' },
      { key: 'namespace', value: 'Net/relu' },
    ]);
    expect(m.graph!.metadataProps).toEqual([{ key: 'source', value: 'exporter 2.x' }]);
    expect(m.graph!.initializer.map((t) => t.dataType)).toEqual([DT.FLOAT8E4M3FN, DT.INT4]);
    expect(Array.from(m.graph!.initializer[0].rawData!)).toEqual([0x38, 0x40, 0xb8, 0x00]);
  });

  it('keeps fields it does not know, at every depth, and writes the same bytes back', () => {
    const bytes = ir10ModelBytes();
    const m = decodeModelProto(bytes);
    const unknownOf = (o: object) => ((o as Record<string, Uint8Array[]>)[UNKNOWN_FIELDS] ?? []).map((b) => Array.from(b));
    expect(unknownOf(m.graph!.node[0])).toEqual([NODE_EXTENSION]);
    expect(unknownOf(m)).toEqual([MODEL_EXTENSION]);
    const again = encodeModelProto(m);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    // and an edited model keeps them too (a node added, the first one renamed)
    m.graph!.node[0].name = 'relu_renamed';
    m.graph!.node.push({ input: ['y'], output: ['z'], opType: 'Identity', attribute: [] });
    const edited = decodeModelProto(encodeModelProto(m));
    expect(edited.graph!.node[0].metadataProps).toHaveLength(2);
    expect(unknownOf(edited.graph!.node[0])).toEqual([NODE_EXTENSION]);
    expect(unknownOf(edited.graph!.node[1])).toEqual([]);
    expect(unknownOf(edited)).toEqual([MODEL_EXTENSION]);
  });
});
