package dev.tokc.frontend;

import dev.tokc.ir.Tensor;

/** Reads the value of a weight node by its key (checkpoint tensor or ONNX initializer name). */
@FunctionalInterface
public interface WeightLoader {
    Tensor load(String key);
}
