import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, loadModelFromBytes, serializeModel } from '../onnx';
import { prepareFloatModel } from './prepare';
import { provenanceOf, readProvenance, recordProvenance, sha256 } from './provenance';

const SENSITIVE = resolve('test/fixtures/models/sensitive_fmnist.onnx');

describe('quantization provenance in metadata_props', () => {
  it('records the float model hash and the fusion, and reads them back from the saved bytes', async () => {
    const float = loadModel(SENSITIVE);
    const prepared = await prepareFloatModel(float, { doFusion: true, skip: ['/features/b0/block/expand/conv/Conv'] });
    const p = await provenanceOf(SENSITIVE, { doFusion: true, skip: ['/features/b0/block/expand/conv/Conv'] }, prepared.fusion, prepared.model);
    expect(p.floatModel).toEqual({ file: 'sensitive_fmnist.onnx', sha256: sha256(readFileSync(SENSITIVE)) });
    expect(p.fusion.fused).toHaveLength(10);
    expect(p.fusion.fused).not.toContain('/features/b0/block/expand/conv/Conv');

    const quant = float.clone();
    quant.proto.metadataProps.push({ key: 'author', value: 'someone' });
    recordProvenance(quant, p);
    recordProvenance(quant, p); // recording twice replaces, never duplicates
    const back = loadModelFromBytes(serializeModel(quant));
    expect(readProvenance(back)).toEqual(p);
    expect(back.proto.metadataProps.filter((e) => e.key?.startsWith('qtune.'))).toHaveLength(4);
    expect(back.proto.metadataProps.find((e) => e.key === 'author')?.value).toBe('someone');
  });

  it('a rebuilt fused model has the hash of the one the run wrote (fusion is deterministic)', async () => {
    const a = await prepareFloatModel(loadModel(SENSITIVE), { doFusion: true });
    const b = await prepareFloatModel(loadModel(SENSITIVE), { doFusion: true });
    expect(sha256(serializeModel(a.model))).toBe(sha256(serializeModel(b.model)));
    expect(readProvenance(loadModel(SENSITIVE))).toBeUndefined();
  });
});
