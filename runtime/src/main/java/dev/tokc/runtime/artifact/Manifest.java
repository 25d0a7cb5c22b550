package dev.tokc.runtime.artifact;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The contents of an engine's {@code manifest.json}: everything a runtime needs to know before it touches another
 * file of the engine. Written by {@link ArtifactWriter}, read by {@link ArtifactReader}; the JSON field names are
 * the snake_case forms of the component names.
 *
 * <p>Cross-field invariants are checked on construction, so a hand-edited or damaged manifest fails to parse with
 * the broken field named: file names are clean relative paths, {@code files} lists every weights file and every
 * tokenizer file but not the manifest itself, every tensor lies in one of the layout's weights files, tensor names
 * are unique, and tensors in one file do not overlap.
 *
 * @param formatVersion  {@link #FORMAT_VERSION} for engines this code writes; loading any other version fails
 * @param producer       what wrote the engine (e.g. {@code tokc 0.1.0}), for error reports
 * @param modelConfig    the model configuration, verbatim (see {@link EngineDescription#modelConfig})
 * @param target         the executor the engine was compiled for
 * @param dtype          the engine's dtype
 * @param quantization   the weight quantization
 * @param kvCache        the KV cache the program expects
 * @param parallel       the rank layout and each rank's weights file
 * @param pipeline       the passes that ran, with counters
 * @param tokenizerFiles the tokenizer and chat-template files, relative names (each also in {@code files})
 * @param files          every file of the engine except {@code manifest.json}, by relative name, sorted
 * @param tensors        the tensor table, in the order the tensors were written
 */
public record Manifest(int formatVersion, String producer, ObjectNode modelConfig, Target target, String dtype,
        Quantization quantization, KvCacheInfo kvCache, ParallelLayout parallel, List<PassRecord> pipeline,
        List<String> tokenizerFiles, Map<String, FileDigest> files, List<TensorEntry> tensors) {
    /** The format this code writes and the only one it reads. Bump it on any incompatible change. */
    public static final int FORMAT_VERSION = 2;

    public Manifest {
        if (producer == null || modelConfig == null || target == null || dtype == null || quantization == null
                || kvCache == null || parallel == null || pipeline == null || tokenizerFiles == null || files == null
                || tensors == null) {
            throw new IllegalArgumentException("manifest is missing a required field");
        }
        modelConfig = modelConfig.deepCopy();
        pipeline = List.copyOf(pipeline);
        tokenizerFiles = List.copyOf(tokenizerFiles);
        files = Collections.unmodifiableMap(new TreeMap<>(files));
        tensors = List.copyOf(tensors);
        for (String f : files.keySet()) {
            ArtifactPaths.checkRelative(f, "files entry");
            if (f.equals(ArtifactPaths.MANIFEST)) {
                throw new IllegalArgumentException("files must not list manifest.json itself");
            }
        }
        for (String f : tokenizerFiles) {
            if (!files.containsKey(f)) {
                throw new IllegalArgumentException("tokenizer file '" + f + "' has no entry in files");
            }
        }
        for (String f : parallel.weightFiles()) {
            if (!files.containsKey(f)) {
                throw new IllegalArgumentException("weights file '" + f + "' has no entry in files");
            }
        }
        checkTensors(tensors, new HashSet<>(parallel.weightFiles()));
    }

    /** A manifest of the current {@link #FORMAT_VERSION}. */
    public static Manifest of(String producer, EngineDescription d, List<String> tokenizerFiles,
            Map<String, FileDigest> files, List<TensorEntry> tensors) {
        return new Manifest(FORMAT_VERSION, producer, d.modelConfig(), d.target(), d.dtype(), d.quantization(),
                d.kvCache(), d.parallel(), d.pipeline(), tokenizerFiles, files, tensors);
    }

    @Override
    public ObjectNode modelConfig() {
        return modelConfig.deepCopy();
    }

    /** The compiler-supplied part of this manifest. */
    public EngineDescription description() {
        return new EngineDescription(modelConfig, target, dtype, quantization, kvCache, parallel, pipeline);
    }

    /** The tensor table by name, in table order. */
    public Map<String, TensorEntry> tensorsByName() {
        Map<String, TensorEntry> m = new LinkedHashMap<>();
        tensors.forEach(t -> m.put(t.name(), t));
        return Collections.unmodifiableMap(m);
    }

    private static void checkTensors(List<TensorEntry> tensors, Set<String> weightFiles) {
        Set<String> names = new HashSet<>();
        Map<String, List<TensorEntry>> byFile = new HashMap<>();
        for (TensorEntry t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' appears twice in the tensor table");
            }
            if (!weightFiles.contains(t.file())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' is in '" + t.file()
                        + "', which is not one of the weights files " + weightFiles);
            }
            byFile.computeIfAbsent(t.file(), f -> new ArrayList<>()).add(t);
        }
        for (List<TensorEntry> inFile : byFile.values()) {
            inFile.sort(Comparator.comparingLong(TensorEntry::offset));
            for (int i = 1; i < inFile.size(); i++) {
                TensorEntry prev = inFile.get(i - 1);
                TensorEntry t = inFile.get(i);
                if (t.offset() < prev.end()) {
                    throw new IllegalArgumentException("tensors '" + prev.name() + "' [" + prev.offset() + ", " + prev.end()
                            + ") and '" + t.name() + "' [" + t.offset() + ", " + t.end() + ") overlap in " + t.file());
                }
            }
        }
    }
}
