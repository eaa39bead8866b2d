import { describe, expect, it } from 'vitest';
import { QtuneError } from '../../shared/errors';
import { formatFloat32, formatRecord, parseRecord, type RecordEntry } from './record';

// The example from AMCT's record documentation (record.md), with its extra fields.
const amctExample = `record {
  key: "conv1"
  value {
    scale_d: 0.0798481479
    offset_d: 1
    scale_w: 0.00297622895
    offset_w: 0
    skip_fusion: true
    dst_type: "INT8"
  }
}
record {
  key: "layer1.0.conv1"
  value {
    scale_d: 0.00392156886
    offset_d: -128
    scale_w: 0.00106807391
    scale_w: 0.00104224426
    offset_w: 0
    offset_w: 0
    dst_type: "INT8"
  }
}
`;

describe('record file', () => {
  it('writes the AMCT layout, repeated fields one per line', () => {
    const text = formatRecord([
      { layer: 'layer1.0.conv1', scaleD: 1 / 255, offsetD: -128, scaleW: [0.00106807391, 0.00104224426], offsetW: [0, 0] },
    ]);
    expect(text).toBe(`record {
  key: "layer1.0.conv1"
  value {
    scale_d: 0.00392156886
    offset_d: -128
    scale_w: 0.00106807391
    scale_w: 0.00104224426
    offset_w: 0
    offset_w: 0
  }
}
`);
  });

  it('reads AMCT output, skipping fields it does not use', () => {
    const r = parseRecord(amctExample);
    expect(r.map((e) => e.layer)).toEqual(['conv1', 'layer1.0.conv1']);
    expect(r[0].scaleD).toBe(Math.fround(0.0798481479));
    expect(r[0].offsetD).toBe(1);
    expect(r[1].scaleW).toEqual([Math.fround(0.00106807391), Math.fround(0.00104224426)]);
    expect(r[1].offsetW).toEqual([0, 0]);
  });

  it('round-trips float32 scales exactly, odd names included', () => {
    let seed = 3;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const entries: RecordEntry[] = [];
    for (let i = 0; i < 50; i++) {
      const n = 1 + Math.floor(rand() * 5);
      entries.push({
        layer: i === 0 ? 'MobilenetV2/Conv/Conv2D' : i === 1 ? 'we"ird\\name\tü' : `layer_${i}`,
        scaleD: Math.fround(Math.exp((rand() - 0.5) * 40)),
        offsetD: Math.floor(rand() * 256) - 128,
        scaleW: Array.from({ length: n }, () => Math.fround(rand() * 1e-2)),
        offsetW: new Array(n).fill(0),
      });
    }
    entries.push({ layer: 'unit', scaleD: 1, offsetD: 0, scaleW: [1.1920928955078125e-7], offsetW: [0] });
    const back = parseRecord(formatRecord(entries));
    expect(back).toEqual(entries);
    expect(formatRecord(back)).toBe(formatRecord(entries));
  });

  it('prints floats the way protobuf does (%g, 6 digits when they suffice, else 9)', () => {
    expect(formatFloat32(1)).toBe('1');
    expect(formatFloat32(0.5)).toBe('0.5');
    expect(formatFloat32(1e-7)).toBe('1e-07');
    expect(formatFloat32(1 / 255)).toBe('0.00392156886');
    expect(formatFloat32(1234567)).toBe('1234567');
  });

  it('reports malformed text with the line', () => {
    expect(() => parseRecord('record {\n  key: "a"\n  value {\n    scale_d: x1\n  }\n}\n', 'r.txt')).toThrow(QtuneError);
    expect(() => parseRecord('record {\n  key: "a"\n  value {\n    scale_d: 0.1\n', 'r.txt')).toThrow(/r\.txt:4/);
    expect(() => parseRecord('record {\n  value {\n    scale_d: 0.1\n  }\n}\n')).toThrow(/without a key/);
  });
});
