package dev.tokc.frontend;

import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A model imported into the IR: its graph, where its weights come from, and what it was imported from.
 * Holds the memory-mapped checkpoint (if any) open until closed.
 */
public record LoadedModel(Path source, Format format, Graph graph, Optional<ModelConfig> config, WeightLoader weights,
                          String architecture, AutoCloseable resources) implements AutoCloseable {

    public enum Format { SAFETENSORS, ONNX }

    /** Total number of weight elements (parameters). */
    public long parameterCount() {
        long n = 0;
        for (Node w : graph.weights().values()) {
            n += w.shape().numElements();
        }
        return n;
    }

    /** Bytes of weight storage. */
    public long weightBytes() {
        long n = 0;
        for (Node w : graph.weights().values()) {
            n += (long) Math.ceil(w.shape().numElements() * w.type().elementType().bitsPerElement() / 8);
        }
        return n;
    }

    /** Parameter count per weight element type. */
    public Map<String, Long> parametersByDType() {
        Map<String, Long> m = new TreeMap<>();
        for (Node w : graph.weights().values()) {
            m.merge(((SourceOp.Weight) w.op()).type().elementType().textName(), w.shape().numElements(), Long::sum);
        }
        return m;
    }

    @Override
    public void close() throws java.io.IOException {
        if (resources != null) {
            try {
                resources.close();
            } catch (java.io.IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new java.io.IOException("closing " + source + ": " + e.getMessage(), e);
            }
        }
    }
}
