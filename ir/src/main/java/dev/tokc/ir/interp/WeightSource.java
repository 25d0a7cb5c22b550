package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the interpreter gets the values of {@code weight} nodes. {@link #load} receives the weight's key and its
 * declared type and returns the tensor; the interpreter checks the result against the declared type.
 *
 * <p>Packed quantized weights (a {@link QuantType} element type) are returned as a 1-D {@link DType#U8} tensor of the
 * packed bytes in the layout {@link QuantizedBlocks} defines; {@code QuantizedLinear} dequantizes them.
 */
public interface WeightSource {
    Tensor load(String key, TensorType type);

    /** A source with no weights: for graphs that have none (loading throws naming the key). */
    static WeightSource none() {
        return (key, type) -> {
            throw new IllegalArgumentException("no weight source: cannot load \"" + key + "\"");
        };
    }

    /** An in-memory source for tests and small programs. */
    static InMemory inMemory() {
        return new InMemory();
    }

    /** Weights held in a map by key; {@link #put} and {@link #putQuantized} return {@code this} for chaining. */
    final class InMemory implements WeightSource {
        private final Map<String, Tensor> tensors = new LinkedHashMap<>();

        public InMemory put(String key, Tensor t) {
            tensors.put(key, t);
            return this;
        }

        /** Quantizes a float matrix [rows, cols] into {@code type}'s packed layout and stores the bytes. */
        public InMemory putQuantized(String key, QuantType type, Tensor matrix) {
            if (matrix.rank() != 2) {
                throw new IllegalArgumentException("quantized weight must be 2-D, got " + Arrays.toString(matrix.shape()));
            }
            int rows = Math.toIntExact(matrix.dim(0));
            int cols = Math.toIntExact(matrix.dim(1));
            byte[] packed = QuantizedBlocks.quantize(type, matrix.toDoubleArray(), rows, cols);
            tensors.put(key, QuantizedBlocks.asTensor(packed));
            return this;
        }

        @Override
        public Tensor load(String key, TensorType type) {
            Tensor t = tensors.get(key);
            if (t == null) {
                throw new IllegalArgumentException("weight \"" + key + "\" is not in the in-memory weight source");
            }
            return t;
        }
    }
}
