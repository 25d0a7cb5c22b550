package dev.tokc.codegen.jvm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokc.ir.DType;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.interp.WeightSource;
import dev.tokc.runtime.artifact.ArtifactWriter;
import dev.tokc.runtime.artifact.EngineDescription;
import dev.tokc.runtime.artifact.KvCacheInfo;
import dev.tokc.runtime.artifact.Manifest;
import dev.tokc.runtime.artifact.ParallelLayout;
import dev.tokc.runtime.artifact.PassRecord;
import dev.tokc.runtime.artifact.Progress;
import dev.tokc.runtime.artifact.Target;
import dev.tokc.runtime.exec.ProgramInfo;
import dev.tokc.runtime.exec.WeightSet;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.Kernels;
import dev.tokc.runtime.kernels.ReferenceKernels;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * Writes a JVM engine through {@link ArtifactWriter} (staging directory, atomic rename, checksums): the stored
 * tensors of the program in their kernel dtypes ({@code weights.bin}), {@code program.jar} and {@code src/},
 * {@code program.json}, {@code program.ir}, the tokenizer files and the manifest.
 */
public final class EngineWriter {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * What to write besides the program.
     *
     * @param dtype          storage dtype of GEMM/embedding matrices: {@code f32}, {@code bf16} or {@code f16}
     * @param blockSize      KV cache block size recorded in the manifest
     * @param force          replace an existing engine
     * @param progress       progress listener (terminal line in the CLI)
     * @param modelConfig    the model's config.json, verbatim
     * @param pipeline       the passes that ran with their counters
     * @param programIr      the optimised IR in text form
     * @param tokenizerFiles files to copy beside the program (tokenizer.json, tokenizer_config.json, ...)
     */
    public record Options(String dtype, int blockSize, boolean force, Progress.Listener progress, ObjectNode modelConfig,
            List<PassRecord> pipeline, String programIr, List<Path> tokenizerFiles) {
        public Options {
            if (!List.of("f32", "bf16", "f16").contains(dtype)) {
                throw new IllegalArgumentException("dtype must be f32, bf16 or f16, got '" + dtype + "'");
            }
            if (blockSize <= 0) {
                throw new IllegalArgumentException("block size must be positive, got " + blockSize);
            }
            pipeline = List.copyOf(pipeline);
            tokenizerFiles = List.copyOf(tokenizerFiles);
        }
    }

    /** A checkpoint tensor's bytes as stored (f32, bf16 or f16, dense row-major), when the importer can give them. */
    public record RawTensor(MemorySegment data, ElementType type) {}

    /**
     * Zero-copy access to checkpoint tensors by weight key. Converting from the raw bytes streams a tensor straight
     * into the engine file, instead of materialising it as an IR {@link Tensor} (8 bytes per element): what makes
     * compiling a billion-parameter model fit in a small heap.
     */
    @FunctionalInterface
    public interface RawWeights {
        RawWeights NONE = key -> Optional.empty();

        Optional<RawTensor> raw(String key);
    }

    private EngineWriter() {}

    /** Writes the engine for {@code program} at {@code target}; weights are read from {@code weights}. */
    public static Manifest write(Path target, JvmBackend.Output program, WeightSource weights, Options options)
            throws IOException {
        return write(target, program, weights, RawWeights.NONE, options);
    }

    /**
     * Writes the engine for {@code program} at {@code target}: weights the importer can hand over raw come from
     * {@code raw}, the rest (folded tensors, constants, other formats) from {@code weights}.
     */
    public static Manifest write(Path target, JvmBackend.Output program, WeightSource weights, RawWeights raw,
            Options options) throws IOException {
        WeightSource source = program.weights().source(weights);
        ElementType matrixType = ElementType.valueOf(options.dtype().toUpperCase(java.util.Locale.ROOT));
        try (ArtifactWriter w = ArtifactWriter.create(target, new ArtifactWriter.Options(options.force(), "tokc 0.1.0",
                options.progress()))) {
            long total = 0;
            for (ProgramPlan.StoredTensor t : program.plan().tensors().values()) {
                total += storedBytes(t, matrixType);
            }
            w.expect(program.plan().tensors().size(), total);
            for (ProgramPlan.StoredTensor t : program.plan().tensors().values()) {
                Node n = t.node();
                long[] shape = n.shape().evaluate(Map.of());
                long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
                String dtype = n.type().isQuantized() ? n.type().elementType().textName()
                        : t.dtype() == null ? options.dtype() : t.dtype().toString();
                List<RawTensor> parts = t.dtype() == DType.I64 ? List.of() : rawParts(n, program.weights(), raw);
                ElementType to = t.dtype() == null ? matrixType : ElementType.F32;
                w.addTensor(t.name(), dtype, Arrays.stream(shape).boxed().toList(), storedBytes(t, matrixType),
                        seg -> {
                            if (n.type().isQuantized()) {
                                if (!QuantizedWeights.stream(n, program.weights(), raw, seg)) {
                                    QuantizedWeights.fillPacked(seg, n, value(n, source));
                                }
                            } else if (!parts.isEmpty()) {
                                long at = 0;
                                for (RawTensor part : parts) {
                                    long c = part.data().byteSize() / part.type().byteSize();
                                    convert(part, seg.asSlice(at * to.byteSize(), c * to.byteSize()), to, c);
                                    at += c;
                                }
                                if (at != count) {
                                    throw new IllegalStateException("tensor '" + t.name() + "': parts hold " + at
                                            + " elements, expected " + count);
                                }
                            } else {
                                fill(seg, value(n, source), t.dtype() == null ? matrixType : null, t.dtype());
                            }
                        });
            }
            w.phase("program");
            w.addFile(ProgramInfo.FILE, program.info().toJson());
            w.addFile("program.ir", options.programIr().getBytes(StandardCharsets.UTF_8));
            writeJar(w.stagingPath(ProgramInfo.JAR), program);
            w.addFile("src/" + program.sourceEntry(), program.source().getBytes(StandardCharsets.UTF_8));
            for (Path tf : options.tokenizerFiles()) {
                w.addTokenizerFile(tf.getFileName().toString(), tf);
            }
            EngineDescription d = new EngineDescription(options.modelConfig(), Target.JVM, options.dtype(),
                    QuantizedWeights.quantization(program.plan().graph()),
                    kvCache(program, options), ParallelLayout.single(), options.pipeline());
            return w.commit(d);
        }
    }

    /**
     * The stored tensors of {@code program} laid out exactly as {@link #write} lays them out, but in memory from
     * {@code arena}: to run a program straight after compiling it (tests, differential checks) without an engine.
     */
    public static WeightSet inMemory(JvmBackend.Output program, WeightSource weights, String dtype, Arena arena) {
        WeightSource source = program.weights().source(weights);
        ElementType matrixType = ElementType.valueOf(dtype.toUpperCase(java.util.Locale.ROOT));
        Map<String, WeightSet.Entry> entries = new HashMap<>();
        for (ProgramPlan.StoredTensor t : program.plan().tensors().values()) {
            long[] shape = t.node().shape().evaluate(Map.of());
            long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            MemorySegment seg = arena.allocate(Math.max(1, storedBytes(t, matrixType)), 64);
            if (t.node().type().isQuantized()) {
                QuantizedWeights.fillPacked(seg, t.node(), value(t.node(), source));
            } else {
                fill(seg, value(t.node(), source), t.dtype() == null ? matrixType : null, t.dtype());
            }
            entries.put(t.name(), new WeightSet.Entry(seg, t.node().type().isQuantized() ? t.node().type().elementType().textName()
                    : t.dtype() == null ? dtype : t.dtype().toString(),
                    Arrays.stream(shape).boxed().toList()));
        }
        return WeightSet.of(entries);
    }

    /**
     * The raw checkpoint pieces of a stored tensor, in order, when it can be streamed without evaluation: a checkpoint
     * weight itself, or a folded concatenation along axis 0 of checkpoint weights (fused QKV and gate/up matrices:
     * row-major, so the concatenation is the parts' bytes one after another). Empty otherwise.
     */
    private static List<RawTensor> rawParts(Node n, WeightPlan plan, RawWeights raw) {
        if (!(n.op() instanceof dev.tokc.ir.SourceOp.Weight wt)) {
            return List.of();
        }
        Node expr = plan.folded().get(wt.key());
        if (expr == null) {
            return raw.raw(wt.key()).map(List::of).orElse(List.of());
        }
        if (!(expr.op() instanceof dev.tokc.ir.PrimitiveOp.Concat c) || dev.tokc.ir.Shape.normalizeAxis(c.axis(), expr.rank()) != 0) {
            return List.of();
        }
        List<RawTensor> parts = new java.util.ArrayList<>();
        for (Node in : expr.inputs()) {
            if (!(in.op() instanceof dev.tokc.ir.SourceOp.Weight pw) || plan.folded().containsKey(pw.key())) {
                return List.of();
            }
            Optional<RawTensor> r = raw.raw(pw.key());
            if (r.isEmpty()) {
                return List.of();
            }
            parts.add(r.get());
        }
        return parts;
    }

    private static Tensor value(Node n, WeightSource source) {
        return switch (n.op()) {
            case dev.tokc.ir.SourceOp.Constant c -> c.value();
            case dev.tokc.ir.SourceOp.Weight wt -> source.load(wt.key(), wt.type());
            default -> throw new IllegalStateException("not a stored tensor: " + n.describe());
        };
    }

    private static final Kernels CONVERT = new ReferenceKernels();

    /** Streams {@code count} elements from a raw checkpoint tensor into {@code dst} as {@code to}, 64K at a time. */
    private static void convert(RawTensor src, MemorySegment dst, ElementType to, long count) {
        if (src.data().byteSize() != count * src.type().byteSize()) {
            throw new IllegalStateException("checkpoint tensor holds " + src.data().byteSize() + " bytes, expected "
                    + count + " x " + src.type().byteSize());
        }
        if (src.type() == to) {
            MemorySegment.copy(src.data(), 0, dst, 0, dst.byteSize());
            return;
        }
        final int chunk = 1 << 16;
        try (Arena scratchArena = Arena.ofConfined()) {
            MemorySegment scratch = scratchArena.allocate(4L * chunk, 64);
            for (long i = 0; i < count; i += chunk) {
                long n = Math.min(chunk, count - i);
                MemorySegment in = src.data().asSlice(i * src.type().byteSize(), n * src.type().byteSize());
                MemorySegment out = dst.asSlice(i * to.byteSize(), n * to.byteSize());
                if (to == ElementType.F32) {
                    CONVERT.toF32(in, src.type(), out, n);
                } else {
                    CONVERT.toF32(in, src.type(), scratch, n);
                    CONVERT.fromF32(scratch, out, to, n);
                }
            }
        }
    }

    /** Bytes of a stored tensor in the engine: packed bytes for a quantized weight, else elements x element size. */
    private static long storedBytes(ProgramPlan.StoredTensor t, ElementType matrixType) {
        if (t.node().type().elementType() instanceof dev.tokc.ir.QuantType q) {
            long[] s = t.node().shape().evaluate(Map.of());
            return QuantizedWeights.runtimeType(q).packedBytes(s[0], s[1]); // the runtime's layout (w4a8 pads rows)
        }
        return t.node().shape().numElements() * bytesPer(t, matrixType);
    }

    private static long bytesPer(ProgramPlan.StoredTensor t, ElementType matrixType) {
        return t.dtype() == null ? matrixType.byteSize() : t.dtype() == DType.I64 ? 8 : 4;
    }

    /** Converts {@code t} into {@code seg}: a matrix in {@code matrix}'s type, else f32 or i64 per {@code plain}. */
    private static void fill(MemorySegment seg, Tensor t, ElementType matrix, DType plain) {
        int n = t.size();
        if (plain == DType.I64) {
            for (int i = 0; i < n; i++) {
                seg.setAtIndex(I64, i, t.getLong(i));
            }
            return;
        }
        ElementType type = matrix != null ? matrix : ElementType.F32;
        for (int i = 0; i < n; i++) {
            Elements.write(seg, type, i, (float) t.getDouble(i));
        }
    }

    private static void writeJar(Path jar, JvmBackend.Output program) throws IOException {
        java.util.jar.Manifest mf = new java.util.jar.Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().putValue("Tokc-Program", program.className());
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(os, mf)) {
            JarEntry e = new JarEntry(program.classEntry());
            e.setTime(0); // reproducible jars: the same program gives the same bytes and checksum
            jos.putNextEntry(e);
            jos.write(program.classFile());
            jos.closeEntry();
        }
    }

    /**
     * The cache the program's attention layers need: a step program's {@code KvCacheSpec} as its kv_write nodes carry
     * it; for a full-forward program (no cache) the geometry of its attention layers, so the manifest still says
     * what a cache for this model would be.
     */
    private static KvCacheInfo kvCache(JvmBackend.Output program, Options options) {
        for (Node n : program.plan().graph().nodes()) {
            dev.tokc.ir.KvCacheSpec spec = switch (n.op()) {
                case dev.tokc.ir.TargetOp.KvWrite w -> w.spec();
                case dev.tokc.ir.TargetOp.KvWriteRope w -> w.spec();
                default -> null;
            };
            if (spec != null) {
                return new KvCacheInfo(spec.layers(), spec.kvHeads(), spec.headDim(), spec.blockSize(), spec.dtype().toString(),
                        KvCacheInfo.BLOCK_MAJOR);
            }
        }
        int layers = 0;
        int kvHeads = 1;
        int headDim = 1;
        for (Node n : program.plan().graph().nodes()) {
            if (n.op() instanceof ModelOp.Attention a) {
                layers++;
                kvHeads = a.numKvHeads();
                headDim = Math.toIntExact(n.input(0).shape().at(-1).value());
            }
        }
        return new KvCacheInfo(Math.max(layers, 1), kvHeads, headDim, options.blockSize(), "f32", KvCacheInfo.BLOCK_MAJOR);
    }
}
