package dev.tokc.frontend;

import dev.tokc.frontend.safetensors.TensorView;
import dev.tokc.ir.DType;
import dev.tokc.ir.Tensor;

/** Conversions from checkpoint tensors to IR dtypes and values. */
public final class TensorConversions {
    private TensorConversions() {}

    /** The IR dtype of a checkpoint tensor; an unsupported dtype is an error naming the tensor. */
    public static DType irDType(TensorView t) {
        return switch (t.dtype().name()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "F64" -> DType.F64;
            case "F8_E4M3" -> DType.FP8E4M3;
            case "F8_E5M2" -> DType.FP8E5M2;
            case "I64" -> DType.I64;
            case "I32" -> DType.I32;
            case "I16" -> DType.I16;
            case "I8" -> DType.I8;
            case "U8" -> DType.U8;
            case "BOOL" -> DType.BOOL;
            default -> throw new ModelFormatException("tensor '" + t.name() + "' has unsupported dtype " + t.dtype());
        };
    }

    /** Copies a checkpoint tensor into an IR tensor (for the reference interpreter; compiled engines map instead). */
    public static Tensor toTensor(TensorView t) {
        DType d = irDType(t);
        if (d.isFloat()) {
            return Tensor.ofDoubles(d, t.dims(), t.toDoubleArray());
        }
        return Tensor.ofLongs(d, t.dims(), t.toLongArray());
    }
}
