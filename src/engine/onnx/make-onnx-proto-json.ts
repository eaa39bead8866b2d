// One-off generator for onnx-proto.json: parses the official onnx.proto (as
// shipped by python3-onnx) and writes protobufjs's JSON descriptor, so the
// bundled app never needs a .proto file or a parser at run time.
//   npx tsx src/engine/onnx/make-onnx-proto-json.ts [/path/to/onnx.proto]
import protobuf from 'protobufjs';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const protoPath = process.argv[2] ?? '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const root = protobuf.loadSync(protoPath);
const out = fileURLToPath(new URL('./onnx-proto.json', import.meta.url));
writeFileSync(out, JSON.stringify(root.toJSON(), null, 1) + '\n');
console.log(`wrote ${out} from ${protoPath}`);
