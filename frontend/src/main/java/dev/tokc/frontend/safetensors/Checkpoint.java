package dev.tokc.frontend.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The weights of one model: a single safetensors file or a sharded set described by
 * {@code model.safetensors.index.json}, with lookup of tensors by name across shards.
 *
 * <p>{@link #open} takes a model directory (preferring the index when both exist, as transformers does), an index
 * file or a single {@code .safetensors} file. All shards are mapped and validated on open, and every
 * {@code weight_map} entry is checked to exist in the shard it names, so that a truncated download fails here and
 * not halfway through compilation. Shard names must be plain file names in the index's directory: an index cannot
 * point outside it.
 */
public final class Checkpoint implements AutoCloseable {
    /** The single-file checkpoint name transformers writes. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** The index name transformers writes for sharded checkpoints. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> byTensor;

    private Checkpoint(List<SafetensorsFile> shards, Map<String, SafetensorsFile> byTensor) {
        this.shards = List.copyOf(shards);
        this.byTensor = Collections.unmodifiableMap(byTensor);
    }

    /**
     * Opens a model directory, an index file or a single safetensors file.
     *
     * @throws ModelFormatException if nothing loadable is there or any file is malformed
     */
    public static Checkpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(index)) {
                return openIndex(index);
            }
            if (Files.isRegularFile(single)) {
                return openSingle(single);
            }
            throw new ModelFormatException(path + ": no " + INDEX_FILE + " or " + SINGLE_FILE + " in this directory");
        }
        if (!Files.isRegularFile(path)) {
            throw new ModelFormatException(path + ": no such file or directory");
        }
        return path.getFileName().toString().endsWith(".json") ? openIndex(path) : openSingle(path);
    }

    private static Checkpoint openSingle(Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (String name : f.names()) {
            byTensor.put(name, f);
        }
        return new Checkpoint(List.of(f), byTensor);
    }

    private static Checkpoint openIndex(Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Path dir = index.toAbsolutePath().getParent();
        // Open each shard once, in file-name order so that open order does not depend on hashing.
        Map<String, SafetensorsFile> opened = new TreeMap<>();
        try {
            for (String shard : new TreeSet<>(weightMap.values())) {
                Path shardPath = dir.resolve(shard);
                if (!Files.isRegularFile(shardPath)) {
                    throw new ModelFormatException(index + ": weight_map names shard '" + shard + "', which does not exist");
                }
                opened.put(shard, SafetensorsFile.open(shardPath));
            }
            Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile f = opened.get(e.getValue());
                if (f.find(e.getKey()).isEmpty()) {
                    throw new ModelFormatException(index + ": weight_map puts tensor '" + e.getKey() + "' in shard '"
                            + e.getValue() + "', which has no such tensor");
                }
                byTensor.put(e.getKey(), f);
            }
            return new Checkpoint(new ArrayList<>(opened.values()), byTensor);
        } catch (RuntimeException | IOException e) {
            opened.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(index + ": must be a JSON object");
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelFormatException(index + ": missing field 'weight_map' (an object from tensor name to shard file)");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shard = e.getValue();
            if (!shard.isTextual()) {
                throw new ModelFormatException(index + ": weight_map entry for tensor '" + e.getKey() + "' must be a file name string");
            }
            String name = shard.textValue();
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")) {
                throw new ModelFormatException(index + ": weight_map entry for tensor '" + e.getKey() + "' names shard '"
                        + name + "'; shards must be plain file names next to the index");
            }
            weightMap.put(e.getKey(), name);
        }
        if (weightMap.isEmpty()) {
            throw new ModelFormatException(index + ": field 'weight_map' is empty");
        }
        return weightMap;
    }

    /** The shards (one for a single-file checkpoint), in file-name order. */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** All tensor names: header order for a single file, weight_map order for a sharded one. */
    public Set<String> names() {
        return byTensor.keySet();
    }

    /** Whether a tensor called {@code name} exists. */
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** The tensor called {@code name}, if present. */
    public Optional<TensorView> find(String name) {
        SafetensorsFile f = byTensor.get(name);
        return f == null ? Optional.empty() : f.find(name);
    }

    /**
     * The tensor called {@code name}.
     *
     * @throws ModelFormatException naming the checkpoint and the tensor if it is absent
     */
    public TensorView tensor(String name) {
        return find(name).orElseThrow(() -> new ModelFormatException(
                shards.getFirst().path().toAbsolutePath().getParent() + ": checkpoint has no tensor named '" + name + "'"));
    }

    /** Unmaps every shard. */
    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
