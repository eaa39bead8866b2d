// Where an exported quantized model came from, written into its
// metadata_props: the content hash of the float model it was made from, the
// BatchNorm fusion applied, and the hash of the fused float model the run
// calibrated. The analyzer checks a float model against it, so it never
// compares a quantized model with a model it was not made from, and can
// rebuild the fused model when its file is missing.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cancelledError, QtuneError } from '../../shared/errors';
import { serializeModel, type OnnxModel } from '../onnx';
import type { FusionResult } from './fusion';
import type { FusionSettings } from './prepare';

export interface QuantProvenance {
  /** the float model's file name when it was quantized (for messages) and sha256 of its bytes */
  floatModel: { file: string; sha256: string };
  /** the fusion settings applied, and the Conv layers fused */
  fusion: { doFusion: boolean; skip: string[]; fused: string[] };
  /** sha256 of the fused float model as written (<name>_fused_float.onnx) */
  fusedFloatSha256: string;
}

const KEYS = {
  floatFile: 'qtune.float_model.file',
  floatSha256: 'qtune.float_model.sha256',
  fusion: 'qtune.fusion',
  fusedSha256: 'qtune.fused_float_model.sha256',
} as const;

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export function sha256OfFile(path: string): string {
  try {
    return sha256(readFileSync(path));
  } catch (e) {
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
}

/** sha256OfFile read in pieces, without holding the thread (a large model takes a second to hash); a Cancel stops it. */
async function sha256OfFileAsync(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { signal })) h.update(chunk as Buffer);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw cancelledError();
    throw new QtuneError('file_not_readable', `cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  return h.digest('hex');
}

/** What to record for a run: the float file as given, the fusion settings and result, the fused model (as saved in `fusedFile`). */
export async function provenanceOf(
  floatPath: string, settings: FusionSettings, fusion: FusionResult, fusedFloat: OnnxModel, fusedFile?: string, signal?: AbortSignal,
): Promise<QuantProvenance> {
  return {
    floatModel: { file: basename(floatPath), sha256: await sha256OfFileAsync(floatPath, signal) },
    fusion: { doFusion: settings.doFusion, skip: settings.skip ?? [], fused: fusion.fused.map((f) => f.conv) },
    // the file as written when there is one (a model over 2 GiB is written with external data, not as its encoding)
    fusedFloatSha256: fusedFile ? await sha256OfFileAsync(fusedFile, signal) : sha256(serializeModel(fusedFloat)),
  };
}

/** Writes the provenance into the model's metadata_props (replacing an older record). */
export function recordProvenance(model: OnnxModel, p: QuantProvenance): void {
  const ours = new Set<string>(Object.values(KEYS));
  const props = model.proto.metadataProps.filter((e) => !ours.has(e.key ?? ''));
  props.push(
    { key: KEYS.floatFile, value: p.floatModel.file },
    { key: KEYS.floatSha256, value: p.floatModel.sha256 },
    { key: KEYS.fusion, value: JSON.stringify(p.fusion) },
    { key: KEYS.fusedSha256, value: p.fusedFloatSha256 },
  );
  model.proto.metadataProps = props;
}

/** The recorded provenance; undefined for a model that has none (not made by qtune, or by an older qtune). */
export function readProvenance(model: OnnxModel): QuantProvenance | undefined {
  const get = (k: string) => model.proto.metadataProps.find((e) => e.key === k)?.value;
  const floatSha = get(KEYS.floatSha256);
  if (!floatSha) return undefined;
  let fusion: QuantProvenance['fusion'];
  try {
    const f = JSON.parse(get(KEYS.fusion) ?? '') as Partial<QuantProvenance['fusion']>;
    fusion = { doFusion: f.doFusion === true, skip: Array.isArray(f.skip) ? f.skip : [], fused: Array.isArray(f.fused) ? f.fused : [] };
  } catch {
    throw new QtuneError('provenance_invalid', `${model.path ?? 'the quantized model'}: metadata '${KEYS.fusion}' is not valid JSON`, { file: model.path, path: KEYS.fusion });
  }
  return { floatModel: { file: get(KEYS.floatFile) ?? '?', sha256: floatSha }, fusion, fusedFloatSha256: get(KEYS.fusedSha256) ?? '' };
}
