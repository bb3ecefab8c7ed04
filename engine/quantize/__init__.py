"""INT8 quantization beyond a plain nncf.quantize: agreement with the parent
as an accuracy budget on data without annotations, and the speed-aware search
that keeps in floating point the quantizer groups INT8 makes slower."""
