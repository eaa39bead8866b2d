"""onnxruntime's own static quantization of a model, as a peer for bench/deploy.bench.ts.

QDQ format, uint8 activations, int8 per-channel weights (onnxruntime's x86 defaults), MinMax calibration on the
given samples. Usage: python quantize_static.py float.onnx calib.npy out.onnx
"""
import sys

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class Reader(CalibrationDataReader):
    def __init__(self, name, x, batch):
        self.items = iter([{name: x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.items, None)


def main():
    src, calib, dst = sys.argv[1:4]
    import onnx
    name = onnx.load(src, load_external_data=False).graph.input[0].name
    x = np.load(calib).astype(np.float32)
    quantize_static(src, dst, Reader(name, x, 16), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


if __name__ == "__main__":
    main()
