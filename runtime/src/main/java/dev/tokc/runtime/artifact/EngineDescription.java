package dev.tokc.runtime.artifact;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What the compiler knows about an engine beyond its files: the part of the manifest that {@link ArtifactWriter}
 * cannot work out by itself. The writer adds the format version, the tokenizer files, the digests and the tensor
 * table.
 *
 * @param modelConfig  the model's configuration as a JSON object (the checkpoint's config.json, as read), kept
 *                     verbatim so the runtime and tools can show it without knowing every family's fields
 * @param target       the executor the engine was compiled for
 * @param dtype        the engine's compute/weight dtype ({@code f32}, {@code bf16}, {@code f16})
 * @param quantization the weight quantization applied, {@link Quantization#NONE} when none
 * @param kvCache      the KV cache the program expects
 * @param parallel     the partitioning over ranks and each rank's weights file
 * @param pipeline     the passes that ran, in order, with their counters
 */
public record EngineDescription(ObjectNode modelConfig, Target target, String dtype, Quantization quantization,
        KvCacheInfo kvCache, ParallelLayout parallel, List<PassRecord> pipeline) {
    public EngineDescription {
        if (modelConfig == null || target == null || dtype == null || dtype.isBlank() || quantization == null
                || kvCache == null || parallel == null) {
            throw new IllegalArgumentException("engine description needs model_config, target, dtype, quantization, "
                    + "kv_cache and parallel");
        }
        modelConfig = modelConfig.deepCopy();
        pipeline = List.copyOf(pipeline == null ? List.of() : pipeline);
    }

    @Override
    public ObjectNode modelConfig() {
        // ObjectNode is mutable: hand out a copy so a record stays a value.
        return modelConfig.deepCopy();
    }
}
