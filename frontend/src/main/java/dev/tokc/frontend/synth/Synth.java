package dev.tokc.frontend.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.frontend.hf.ModelConfig;
import dev.tokc.frontend.hf.WeightNames;
import dev.tokc.frontend.safetensors.Checkpoint;
import dev.tokc.frontend.safetensors.DType;
import dev.tokc.frontend.safetensors.FloatFormats;
import dev.tokc.frontend.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code tokc synth}: writes a random-weight Hugging Face checkpoint with the exact shape of a real model, for
 * benchmarks (speed depends on shapes, not on trained values, and the real weights are gated or large downloads).
 *
 * <p>The output directory gets config.json in the real model's format (see {@link Preset#configJson}) and the
 * tensors {@link WeightNames} expects for that config, in safetensors: one {@code model.safetensors}, or when the
 * tensors exceed {@code maxShardBytes} (2 GB by default, as transformers' {@code save_pretrained} would split a
 * 1B model) shards {@code model-0000k-of-0000n.safetensors} with {@code model.safetensors.index.json}. Checkpoint
 * files already in the directory are deleted first, so a stale index can never shadow the new weights. No
 * tokenizer is written: the vocabulary is nameless and benchmarks feed token ids.
 *
 * <p>Values, deterministic per seed ({@link RandomWeights}), are chosen so a forward pass stays numerically sane:
 * matrices and biases ~N(0, 0.02) (transformers' {@code initializer_range}); the projections that write into the
 * residual stream (o_proj, down_proj) ~N(0, 0.02 / sqrt(2 x layers)), GPT-2's scaled init, so the residual's
 * variance stays bounded over depth; RMSNorm weights ~N(1, 0.02), so normalised activations keep unit scale.
 *
 * <p>Generation is parallel (one worker per core, chunks of 1 Mi elements generated ahead while the writing thread
 * copies finished chunks into the mapped file), and the bytes do not depend on the thread count.
 */
public final class Synth {
    /** transformers' default shard limit for models of this size class. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 2_000_000_000L;

    private static final int CHUNK = 1 << 20;
    private static final float INIT_STD = 0.02f;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * What was written.
     *
     * @param files      the files, config.json first, then the shards, then the index if any
     * @param tensors    number of tensors
     * @param tensorBytes total tensor bytes (the index's {@code total_size})
     * @param elapsed    wall time of the whole write, including flushing to disk
     */
    public record Result(List<Path> files, int tensors, long tensorBytes, Duration elapsed) {
        public Result {
            files = List.copyOf(files);
        }
    }

    /** The kind of initialisation a tensor gets, by its role. */
    private record Init(float mean, float std) {}

    /** One tensor to write: its checkpoint name, shape and initialisation. */
    private record Planned(String name, long[] shape, long bytes, Init init) {}

    private Synth() {}

    /** {@link #write(Preset, Path, long, DType, long)} with 2 GB shards. */
    public static Result write(Preset preset, Path dir, long seed, DType dtype) throws IOException {
        return write(preset, dir, seed, dtype, DEFAULT_MAX_SHARD_BYTES);
    }

    /**
     * Writes the checkpoint into {@code dir} (created if needed).
     *
     * @param dtype         F32, BF16 or F16
     * @param maxShardBytes tensor bytes per shard file; a single tensor larger than this gets a shard of its own
     * @throws IllegalArgumentException for another dtype or a non-positive shard size
     */
    public static Result write(Preset preset, Path dir, long seed, DType dtype, long maxShardBytes) throws IOException {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("synth writes f32, bf16 or f16 weights, not " + dtype);
        }
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        long start = System.nanoTime();
        ModelConfig config = preset.modelConfig();
        List<Planned> plan = plan(config, dtype);
        List<List<Planned>> shards = shard(plan, maxShardBytes);

        Files.createDirectories(dir);
        deleteOldCheckpoint(dir);
        List<Path> written = new ArrayList<>();
        Path configFile = dir.resolve("config.json");
        ObjectNode configJson = preset.configJson(torchDtype(dtype), seed);
        Files.writeString(configFile, JSON.writeValueAsString(configJson) + "\n");
        written.add(configFile);

        Map<String, String> weightMap = new LinkedHashMap<>();
        long total = 0;
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        try (ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "tokc-synth");
            t.setDaemon(true);
            return t;
        })) {
            for (int s = 0; s < shards.size(); s++) {
                String file = shards.size() == 1 ? Checkpoint.SINGLE_FILE
                        : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards.size());
                SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
                for (Planned p : shards.get(s)) {
                    long tensorSeed = RandomWeights.tensorSeed(seed, p.name());
                    w.add(p.name(), dtype, p.shape(), target -> fill(target, dtype, tensorSeed, p.init(), pool, 2 * threads));
                    weightMap.put(p.name(), file);
                    total += p.bytes();
                }
                Path shardFile = dir.resolve(file);
                w.write(shardFile);
                written.add(shardFile);
            }
        }
        if (shards.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            Path indexFile = dir.resolve(Checkpoint.INDEX_FILE);
            Files.writeString(indexFile, JSON.writeValueAsString(index) + "\n");
            written.add(indexFile);
        }
        return new Result(written, plan.size(), total, Duration.ofNanos(System.nanoTime() - start));
    }

    private static List<Planned> plan(ModelConfig config, DType dtype) {
        float residualStd = (float) (INIT_STD / Math.sqrt(2.0 * config.numLayers()));
        List<Planned> plan = new ArrayList<>();
        for (WeightNames.Expected e : WeightNames.of(config).expected()) {
            Init init = switch (e.role()) {
                case ATTN_NORM, MLP_NORM, FINAL_NORM, Q_NORM, K_NORM, POST_ATTN_NORM, POST_MLP_NORM -> new Init(1f, INIT_STD);
                case O, DOWN, EXPERT_DOWN -> new Init(0f, residualStd);
                default -> new Init(0f, INIT_STD);
            };
            long[] shape = e.shape().stream().mapToLong(Long::longValue).toArray();
            long elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            plan.add(new Planned(e.name(), shape, Math.multiplyExact(elements, (long) dtype.byteSize()), init));
        }
        return plan;
    }

    /** Greedy in checkpoint order, as transformers shards: a new shard starts when the next tensor would not fit. */
    private static List<List<Planned>> shard(List<Planned> plan, long maxShardBytes) {
        List<List<Planned>> shards = new ArrayList<>();
        List<Planned> current = new ArrayList<>();
        long bytes = 0;
        for (Planned p : plan) {
            if (!current.isEmpty() && bytes + p.bytes() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(p);
            bytes += p.bytes();
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /**
     * Generates a tensor into {@code target} (confined to this thread, as SafetensorsWriter maps it): workers
     * produce converted chunks ahead, this thread copies them in, in order.
     */
    private static void fill(MemorySegment target, DType dtype, long tensorSeed, Init init, ExecutorService pool, int window) {
        long elements = target.byteSize() / dtype.byteSize();
        long chunks = (elements + CHUNK - 1) / CHUNK;
        ArrayDeque<Future<Object>> inFlight = new ArrayDeque<>();
        long submitted = 0;
        for (long c = 0; c < chunks; c++) {
            while (submitted < chunks && submitted < c + window) {
                long first = submitted * CHUNK;
                int count = (int) Math.min(CHUNK, elements - first);
                inFlight.add(pool.submit(() -> generate(dtype, tensorSeed, init, first, count)));
                submitted++;
            }
            Object chunk = await(inFlight.poll());
            long offset = c * CHUNK * dtype.byteSize();
            if (chunk instanceof float[] f) {
                MemorySegment.copy(f, 0, target, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, f.length);
            } else {
                short[] s = (short[]) chunk;
                MemorySegment.copy(s, 0, target, ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, s.length);
            }
        }
    }

    /** One chunk, converted to the output dtype: a float[] for F32, else a short[] of the 16-bit patterns. */
    private static Object generate(DType dtype, long tensorSeed, Init init, long first, int count) {
        float[] values = new float[count];
        RandomWeights.fill(tensorSeed, first, init.mean(), init.std(), values, count);
        if (dtype == DType.F32) {
            return values;
        }
        short[] bits = new short[count];
        if (dtype == DType.BF16) {
            for (int i = 0; i < count; i++) {
                bits[i] = FloatFormats.floatToBf16(values[i]);
            }
        } else {
            for (int i = 0; i < count; i++) {
                bits[i] = FloatFormats.floatToF16(values[i]);
            }
        }
        return bits;
    }

    private static Object await(Future<Object> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while generating weights", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("generating weights failed", e.getCause());
        }
    }

    private static String torchDtype(DType dtype) {
        return switch (dtype) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    private static void deleteOldCheckpoint(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (n.equals(Checkpoint.SINGLE_FILE) || n.equals(Checkpoint.INDEX_FILE)
                        || n.matches("model-\\d{5}-of-\\d{5}\\.safetensors")) {
                    Files.delete(p);
                }
            }
        }
    }
}
