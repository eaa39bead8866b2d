"""onnxruntime's own static quantization of a model, as a peer for bench/deploy.bench.ts.

QDQ format, uint8 activations, int8 per-channel weights (onnxruntime's x86 defaults), MinMax calibration on the
given samples, after onnxruntime's recommended pre-processing (quant_pre_process: shape inference and graph
optimisation, which folds each BatchNormalization into its Conv). Usage: python quantize_static.py float.onnx calib.npy out.onnx
"""
import os
import sys

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process


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
    prepared = dst + '.pre.onnx'
    quant_pre_process(src, prepared)
    quantize_static(prepared, dst, Reader(name, x, 16), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    # the quantizer leaves the bounds of the Clips it folded away as initializers nothing reads, and onnxruntime
    # warns about each of them on every session it opens: drop them (the runtime drops them anyway)
    model = onnx.load(dst)
    used = {i for n in model.graph.node for i in n.input}
    unused = [t for t in model.graph.initializer if t.name not in used]
    for t in unused:
        model.graph.initializer.remove(t)
    onnx.save(model, dst)
    os.remove(prepared)


if __name__ == "__main__":
    main()
