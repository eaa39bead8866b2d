// The new-project form's advanced data settings become dataset manifests in
// the project folder, and the project refers to them.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { DATASET_SCHEMA } from '../shared/dataset-schema';
import { createProject } from './project-store';
import { DATA_MANIFESTS } from './data-manifests';
import { checkRpcParams } from './rpc-schemas';

const validManifest = new Ajv().compile(DATASET_SCHEMA);
const sizes = resolve('test/fixtures/data/mnist/sizes_png');
const mnist = resolve('test/fixtures/data/mnist');
const read = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('advanced data settings of a new project', () => {
  it('an image folder with a size policy: both manifests name it, and the project refers to them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-adv-'));
    const { dir: project, project: p } = await createProject({
      dir, name: 'fcn', model: resolve('test/fixtures/models/fcn_mnist.onnx'), calibration: sizes, evaluation: sizes, labels: join(sizes, 'labels.csv'),
      dataOptions: { dataInput: 'input', sizes: 'batch-of-one' },
    });
    expect(p.calibration.path).toBe(DATA_MANIFESTS.calibration);
    expect(p.evaluation.path).toBe(DATA_MANIFESTS.evaluation);
    expect(p.evaluation.labels?.path).toBe(join(sizes, 'labels.csv'));
    const cal = read(project, DATA_MANIFESTS.calibration);
    expect(cal).toEqual({ inputs: { input: { images: sizes, sizes: 'batch-of-one' } } });
    expect(read(project, DATA_MANIFESTS.evaluation)).toEqual({ inputs: { input: { images: sizes, sizes: 'batch-of-one' } }, labels: { csv: join(sizes, 'labels.csv') } });
    expect(validManifest(cal)).toBe(true);
  });

  it('constant inputs next to a .npy, with labels; a constant on the data input and a policy on a .npy are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qtune-adv-'));
    const base = { dir, model: resolve('test/fixtures/models/lenet_mnist.onnx'), calibration: join(mnist, 'calib_x.npy'), evaluation: join(mnist, 'eval_x.npy'), labels: join(mnist, 'eval_y.npy') };
    const constants = { sr: { constant: 16000, dtype: 'int64' as const, shape: [] }, offset: { constant: 0, shape: [10] } };
    const { dir: project } = await createProject({ ...base, name: 'state', dataOptions: { dataInput: 'input', constants } });
    const ev = read(project, DATA_MANIFESTS.evaluation);
    expect(ev).toEqual({
      inputs: { input: { npy: join(mnist, 'eval_x.npy') }, sr: { constant: 16000, dtype: 'int64', shape: [] }, offset: { constant: 0, shape: [10] } },
      labels: { npy: join(mnist, 'eval_y.npy') },
    });
    expect(validManifest(ev)).toBe(true);
    await expect(createProject({ ...base, name: 'clash', dataOptions: { dataInput: 'input', constants: { input: { constant: 1 } } } })).rejects.toThrow(
      "input 'input' is fed by the calibration data; it cannot also be a constant",
    );
    await expect(createProject({ ...base, name: 'npy-sizes', dataOptions: { dataInput: 'input', sizes: 'batch-of-one' } })).rejects.toThrow(
      /calibration data: a size policy applies only to image folders/,
    );
  });

  it('the RPC accepts the settings and refuses a malformed constant', () => {
    const params = { dir: '/p', name: 'n', model: '/m.onnx', calibration: '/c', evaluation: '/e' };
    expect(() => checkRpcParams('project.create', { ...params, dataOptions: { dataInput: 'x', sizes: { letterbox: { width: 64, height: 48 } }, constants: { sr: { constant: 8000, dtype: 'int64' } } } })).not.toThrow();
    expect(() => checkRpcParams('project.create', { ...params, dataOptions: { dataInput: 'x', constants: { sr: { constant: 'loud' } } } })).toThrow();
    expect(() => checkRpcParams('project.create', { ...params, dataOptions: { dataInput: 'x', sizes: 'each' } })).toThrow();
  });
});
