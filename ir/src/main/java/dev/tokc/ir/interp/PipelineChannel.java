package dev.tokc.ir.interp;

import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;

/**
 * Point-to-point transfer between pipeline stages for {@code send} and {@code recv}. The reference interpreter has no
 * transport of its own; tests and runtimes that run several stages in one process supply one through
 * {@link ExecutionContext}.
 */
public interface PipelineChannel {
    void send(int peer, Tensor value);

    /** The next tensor from {@code peer}; the interpreter checks it against {@code type}. */
    Tensor receive(int peer, TensorType type);
}
