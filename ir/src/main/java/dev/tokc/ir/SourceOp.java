package dev.tokc.ir;

import java.util.List;

/** Ops without inputs: the leaves of a graph. */
public sealed interface SourceOp extends Op {

    /** A graph input. Its node's name is the parameter name. */
    record Param(String paramName, TensorType type) implements SourceOp {
        @Override
        public TensorType inferType(List<Node> inputs) {
            Infer.arity(inputs, 0);
            return type;
        }
    }

    /**
     * A weight: a constant tensor kept in external storage (a safetensors file, the artifact's weights.bin) under
     * {@code key}, never copied into the graph. Packed quantized weights have a {@link QuantType} element type.
     */
    record Weight(String key, TensorType type) implements SourceOp {
        @Override
        public TensorType inferType(List<Node> inputs) {
            Infer.arity(inputs, 0);
            return type;
        }
    }

    /** A small literal tensor held in the graph (shape vectors, scalars, lookup tables). */
    record Constant(Tensor value) implements SourceOp {
        @Override
        public TensorType inferType(List<Node> inputs) {
            Infer.arity(inputs, 0);
            return TensorType.of(value.dtype(), value.shape());
        }
    }

    /**
     * An i64 vector of (possibly symbolic) dims, e.g. {@code [batch, seq, 192]}: the canonical form of a shape
     * computation. The interpreter evaluates it from the symbol values bound by the graph inputs' shapes.
     */
    record Dims(List<Dim> dims) implements SourceOp {
        public Dims {
            dims = List.copyOf(dims);
        }

        @Override
        public TensorType inferType(List<Node> inputs) {
            Infer.arity(inputs, 0);
            return TensorType.of(DType.I64, dims.size());
        }
    }
}
