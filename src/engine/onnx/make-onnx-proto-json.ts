// One-off generator for onnx-proto.json: parses the official onnx.proto (as
// shipped by python3-onnx, 1.12 / IR 8 on Debian) and writes protobufjs's JSON
// descriptor, so the bundled app never needs a .proto file or a parser at run
// time. The fields and element types the format gained after IR 8, up to
// onnx 1.18 (IR 11), are added below from the ONNX spec (docs/IR.md, onnx.proto)
// when the given file lacks them; fields newer still are kept on load and save
// as unknown fields (see proto.ts), so they are never dropped.
//   npx tsx src/engine/onnx/make-onnx-proto-json.ts [/path/to/onnx.proto]
import protobuf from 'protobufjs';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type FieldJson = { type: string; id: number; rule?: 'repeated'; options?: Record<string, unknown> };
type TypeJson = { edition?: string; fields: Record<string, FieldJson>; oneofs?: Record<string, { oneof: string[] }>; nested?: Record<string, unknown>; values?: Record<string, number> };

const repeated = (type: string, id: number): FieldJson => ({ rule: 'repeated', type, id });
const optional = (type: string, id: number): FieldJson => ({ type, id });

/** Fields added after IR 8, by message (camelCase, as protobufjs names them). */
const NEW_FIELDS: Record<string, Record<string, FieldJson>> = {
  // IR 10 (onnx 1.16): metadata on nodes, graphs, functions, value infos and tensors; function overloads
  NodeProto: { overload: optional('string', 8), metadataProps: repeated('StringStringEntryProto', 9), deviceConfigurations: repeated('NodeDeviceConfigurationProto', 10) },
  GraphProto: { metadataProps: repeated('StringStringEntryProto', 16) },
  ValueInfoProto: { metadataProps: repeated('StringStringEntryProto', 4) },
  TensorProto: { metadataProps: repeated('StringStringEntryProto', 16) },
  FunctionProto: {
    attributeProto: repeated('AttributeProto', 11), valueInfo: repeated('ValueInfoProto', 12), overload: optional('string', 13),
    metadataProps: repeated('StringStringEntryProto', 14),
  },
  // IR 11 (onnx 1.18): multi-device configurations
  ModelProto: { configuration: repeated('DeviceConfigurationProto', 26) },
};

/** Messages added after IR 8. */
const NEW_TYPES: Record<string, TypeJson> = {
  IntIntListEntryProto: { fields: { key: optional('int64', 1), value: repeated('int64', 2) } },
  NodeDeviceConfigurationProto: { fields: { configurationId: optional('string', 1), shardingSpec: repeated('ShardingSpecProto', 2), pipelineStage: optional('int32', 3) } },
  ShardingSpecProto: {
    fields: { tensorName: optional('string', 1), device: repeated('int64', 2), indexToDeviceGroupMap: repeated('IntIntListEntryProto', 3), shardedDim: repeated('ShardedDimProto', 4) },
  },
  ShardedDimProto: { fields: { axis: optional('int64', 1), simpleSharding: repeated('SimpleShardedDimProto', 2) } },
  SimpleShardedDimProto: { oneofs: { dim: { oneof: ['dimValue', 'dimParam'] } }, fields: { dimValue: optional('int64', 1), dimParam: optional('string', 2), numShards: optional('int64', 3) } },
  DeviceConfigurationProto: { fields: { name: optional('string', 1), numDevices: optional('int32', 2), device: repeated('string', 3) } },
};

/** TensorProto.DataType values added after IR 8 (IR 9: float8; IR 10: 4-bit ints; IR 11: float4, float8 e8m0). */
const NEW_DATA_TYPES: Record<string, number> = {
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23, FLOAT8E8M0: 24,
};

const NEW_IR_VERSIONS: Record<string, number> = { IR_VERSION_2023_5_5: 9, IR_VERSION_2024_3_25: 10, IR_VERSION_2025_05_12: 11 };

const protoPath = process.argv[2] ?? '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const json = protobuf.loadSync(protoPath).toJSON() as { nested: { onnx: { nested: Record<string, TypeJson> } } };
const onnx = json.nested.onnx.nested;
for (const [msg, fields] of Object.entries(NEW_FIELDS)) {
  const t = onnx[msg];
  for (const [name, f] of Object.entries(fields)) {
    const clash = Object.entries(t.fields).find(([n, g]) => n !== name && g.id === f.id);
    if (clash) throw new Error(`${msg}.${name} = ${f.id} clashes with ${clash[0]}`);
    t.fields[name] ??= f;
  }
}
for (const [name, t] of Object.entries(NEW_TYPES)) onnx[name] ??= { edition: 'proto2', ...t };
const dataType = (onnx.TensorProto.nested!.DataType as TypeJson).values!;
for (const [name, v] of Object.entries(NEW_DATA_TYPES)) dataType[name] ??= v;
const version = onnx.Version.values!;
for (const [name, v] of Object.entries(NEW_IR_VERSIONS)) if (!Object.values(version).includes(v)) version[name] = v;
// the result must load
protobuf.Root.fromJSON(json as protobuf.INamespace).resolveAll();

const out = fileURLToPath(new URL('./onnx-proto.json', import.meta.url));
writeFileSync(out, JSON.stringify(json, null, 1) + '\n');
console.log(`wrote ${out} from ${protoPath} (fields up to IR 11 added where missing)`);
