// The dataset manifest: a small JSON file that says, per model input, where
// samples come from and how to preprocess them, and where labels come from.
// Relative paths resolve against the manifest's folder. Validated with ajv
// against DATASET_SCHEMA by the engine (src/engine/data/manifest.ts).

export type SampleDtype = 'float32' | 'float16' | 'float64' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

export interface ImagePreprocess {
  /** shorter side to N keeping the aspect ratio, or exact width × height (stretch) */
  resize?: { shorter: number } | { width: number; height: number };
  /** [height, width] of the centre crop, after resizing */
  centerCrop?: [number, number];
  /** resampling used by resize; default bilinear (what torchvision uses) */
  interpolation?: 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';
  /** channel order; default rgb */
  color?: 'rgb' | 'bgr' | 'gray';
  /** value = (pixel * scale - mean[c]) / std[c]; scale default 1 */
  scale?: number;
  mean?: number[];
  std?: number[];
  /** default NCHW */
  layout?: 'NCHW' | 'NHWC';
  /** element type of the tensor; integer types are rounded and clamped; default float32 */
  dtype?: SampleDtype;
}

/**
 * What to do with images that differ in size (fully convolutional models: dynamic height and width):
 * `batch-of-one` runs each image at its own size, one per inference (statistics still cover every image);
 * `letterbox` scales each image to fit width × height keeping its aspect ratio and pads the rest with `fill`
 * (a pixel value 0–255 before scale/mean/std, default 0), centred, so they batch like same-size images.
 */
export type SizePolicy = 'batch-of-one' | { letterbox: { width: number; height: number; fill?: number } };

/** Where one model input's samples come from. N samples along the first axis for arrays. */
export type InputSource =
  | { npy: string }
  | { npz: string; key: string }
  | { images: string; preprocess?: ImagePreprocess; sizes?: SizePolicy }
  /** AMCT raw batches: a folder of .bin files, one batch of `shape` per file, taken in name order */
  | { bin: string; shape: number[]; dtype: SampleDtype }
  /**
   * The same value for every sample (a sample rate, an initial state of zeros, a mask of ones): `shape` is one
   * sample's shape (default [], a scalar; without a batch axis when the model input has none), `dtype` the
   * element type written (default: the model input's).
   */
  | { constant: number; shape?: number[]; dtype?: SampleDtype };

export type LabelSource =
  | { npy: string }
  | { npz: string; key: string }
  /** `file,label` rows (header optional) or one label per line */
  | { csv: string }
  | { txt: string }
  /** ImageNet layout: label = index of the sample's class folder among the sorted folder names */
  | { folders: true };

export interface DatasetDescription {
  inputs: Record<string, InputSource>;
  labels?: LabelSource;
}

const dtypeEnum = ['float32', 'float16', 'float64', 'uint8', 'int8', 'int32', 'int64', 'bool'];
const path = { type: 'string', minLength: 1 };

/** The size policy of an image source (see SizePolicy). */
export const SIZES_SCHEMA = {
  oneOf: [
    { const: 'batch-of-one' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['letterbox'],
      properties: {
        letterbox: {
          type: 'object',
          additionalProperties: false,
          required: ['width', 'height'],
          properties: {
            width: { type: 'integer', minimum: 1 },
            height: { type: 'integer', minimum: 1 },
            fill: { type: 'integer', minimum: 0, maximum: 255 },
          },
        },
      },
    },
  ],
} as const;

/** A constant input source (see InputSource). */
export const CONSTANT_SOURCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['constant'],
  properties: {
    constant: { type: 'number' },
    shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
    dtype: { enum: dtypeEnum },
  },
} as const;

export const DATASET_SCHEMA = {
  $id: 'https://qtune.dev/schema/dataset.json',
  type: 'object',
  additionalProperties: false,
  required: ['inputs'],
  properties: {
    inputs: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['npy'], properties: { npy: path } },
          { type: 'object', additionalProperties: false, required: ['npz', 'key'], properties: { npz: path, key: path } },
          {
            type: 'object',
            additionalProperties: false,
            required: ['images'],
            properties: {
              images: path,
              sizes: SIZES_SCHEMA,
              preprocess: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  resize: {
                    oneOf: [
                      { type: 'object', additionalProperties: false, required: ['shorter'], properties: { shorter: { type: 'integer', minimum: 1 } } },
                      {
                        type: 'object',
                        additionalProperties: false,
                        required: ['width', 'height'],
                        properties: { width: { type: 'integer', minimum: 1 }, height: { type: 'integer', minimum: 1 } },
                      },
                    ],
                  },
                  centerCrop: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
                  interpolation: { enum: ['nearest', 'bilinear', 'bicubic', 'lanczos'] },
                  color: { enum: ['rgb', 'bgr', 'gray'] },
                  scale: { type: 'number' },
                  mean: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 3 },
                  std: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1, maxItems: 3 },
                  layout: { enum: ['NCHW', 'NHWC'] },
                  dtype: { enum: dtypeEnum },
                },
              },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['bin', 'shape', 'dtype'],
            properties: {
              bin: path,
              shape: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1 },
              dtype: { enum: dtypeEnum },
            },
          },
          CONSTANT_SOURCE_SCHEMA,
        ],
      },
    },
    labels: {
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['npy'], properties: { npy: path } },
        { type: 'object', additionalProperties: false, required: ['npz', 'key'], properties: { npz: path, key: path } },
        { type: 'object', additionalProperties: false, required: ['csv'], properties: { csv: path } },
        { type: 'object', additionalProperties: false, required: ['txt'], properties: { txt: path } },
        { type: 'object', additionalProperties: false, required: ['folders'], properties: { folders: { const: true } } },
      ],
    },
  },
} as const;
