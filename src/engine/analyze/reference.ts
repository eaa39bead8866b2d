// Which float model a quantized model is compared against. A model quantized
// by qtune records the float model it came from (content hash) and the
// BatchNorm fusion applied (src/engine/quant/provenance.ts): a float model
// that is not that one is refused, and when the fused float model of the run
// is not at hand it is rebuilt from the float model, as the run built it.
import { QtuneError } from '../../shared/errors';
import type { AnalysisWarning } from '../../shared/analysis-types';
import { loadModel, needsExternalData, serializeModel, type OnnxModel } from '../onnx';
import { prepareFloatModel } from '../quant/prepare';
import { readProvenance, sha256, sha256OfFile, type QuantProvenance } from '../quant/provenance';

export interface FloatReference {
  float: OnnxModel;
  /** what the quantized model is compared against: the fused float model of the run, or the float model */
  reference: OnnxModel;
  referencePath: string;
  warnings: AnalysisWarning[];
}

const pathOf = (m: string | OnnxModel): string => (typeof m === 'string' ? m : m.path ?? '<memory>');
const load = (m: string | OnnxModel): OnnxModel => (typeof m === 'string' ? loadModel(m) : m);
const short = (h: string) => h.slice(0, 12);

/** sha256 of a model's bytes: its file when it has one (what was hashed at quantization), else its encoding. */
function hashOf(m: string | OnnxModel): string {
  const path = typeof m === 'string' ? m : m.path;
  return path ? sha256OfFile(path) : sha256(serializeModel(m as OnnxModel));
}

/** 'float' for the model the run started from, 'fused' for the run's own fused float model; anything else is refused. */
function checkFloat(floatModel: string | OnnxModel, quantPath: string, p: QuantProvenance): 'float' | 'fused' {
  const actual = hashOf(floatModel);
  if (actual === p.floatModel.sha256) return 'float';
  if (actual === p.fusedFloatSha256) return 'fused';
  throw new QtuneError(
    'analyze_wrong_float',
    `${pathOf(floatModel)} is not the float model ${quantPath} was made from (that was ${p.floatModel.file}, sha256 ${short(p.floatModel.sha256)}…; this file's is ${short(actual)}…)`,
    { file: pathOf(floatModel), hint: `give the float model the quantized model was made from (${p.floatModel.file})` },
  );
}

export async function resolveFloatReference(opts: {
  floatModel: string | OnnxModel;
  fusedFloatModel?: string | OnnxModel;
  quant: OnnxModel;
  quantPath: string;
}): Promise<FloatReference> {
  const { quant, quantPath } = opts;
  const warnings: AnalysisWarning[] = [];
  const prov = readProvenance(quant);
  if (!prov) {
    warnings.push({
      code: 'no_provenance',
      message: `${quantPath} does not record which float model it was made from (not exported by this qtune), so the float model given could not be checked`,
    });
    const float = load(opts.floatModel);
    return { float, reference: opts.fusedFloatModel ? load(opts.fusedFloatModel) : float, referencePath: pathOf(opts.fusedFloatModel ?? opts.floatModel), warnings };
  }
  const given = checkFloat(opts.floatModel, quantPath, prov);
  const float = load(opts.floatModel);
  // given the run's fused float model itself (as the app does): it is the reference
  if (given === 'fused' && !opts.fusedFloatModel) return { float, reference: float, referencePath: pathOf(opts.floatModel), warnings };
  if (opts.fusedFloatModel) {
    const actual = hashOf(opts.fusedFloatModel);
    if (actual !== prov.fusedFloatSha256) {
      throw new QtuneError(
        'analyze_wrong_fused',
        `${pathOf(opts.fusedFloatModel)} is not the fused float model of the run that made ${quantPath} (sha256 ${short(actual)}…, expected ${short(prov.fusedFloatSha256)}…)`,
        { file: pathOf(opts.fusedFloatModel), hint: 'leave it out: the fused model is rebuilt from the float model' },
      );
    }
    return { float, reference: load(opts.fusedFloatModel), referencePath: pathOf(opts.fusedFloatModel), warnings };
  }
  // The run's float model is rebuilt: the same opset upgrade and fusion give the same graph.
  const rebuilt = await prepareFloatModel(float, { doFusion: prov.fusion.doFusion, skip: prov.fusion.skip });
  // (a model over 2 GiB has no single encoding to compare: it was hashed as written, with external data)
  if (prov.fusedFloatSha256 && !needsExternalData(rebuilt.model) && sha256(serializeModel(rebuilt.model)) !== prov.fusedFloatSha256) {
    warnings.push({
      code: 'fused_rebuilt_differs',
      message: `the float model fused again here differs from the one the run calibrated (${prov.fusion.fused.length} Conv+BatchNorm pairs fused then, ${rebuilt.fusion.fused.length} now); layer names still match`,
    });
  }
  const referencePath = rebuilt.fusion.fused.length || rebuilt.opsetUpgradedFrom !== undefined ? `${pathOf(opts.floatModel)} (fused as the run did)` : pathOf(opts.floatModel);
  return { float, reference: rebuilt.model, referencePath, warnings };
}
