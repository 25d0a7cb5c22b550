package dev.tokc.runtime.exec;

import dev.tokc.runtime.kernels.AttentionHeads;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.GeluForm;
import dev.tokc.runtime.kernels.Kernels;
import dev.tokc.runtime.kernels.PagedKvCache;
import dev.tokc.runtime.kernels.RopeLayout;
import dev.tokc.runtime.kernels.WeightMatrix;
import dev.tokc.runtime.kernels.quant.KvQuantFormat;
import dev.tokc.runtime.kernels.quant.QuantFormat;
import dev.tokc.runtime.kernels.quant.QuantKernels;
import dev.tokc.runtime.kernels.quant.QuantKvCache;
import dev.tokc.runtime.kernels.quant.QuantType;
import dev.tokc.runtime.kernels.quant.QuantizedMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a {@link CompiledProgram} sees while it runs: its inputs, the weights, the kernels and the activation arena,
 * plus one method per kernel binding of the JVM backend. The generated code is a straight sequence of calls to
 * these methods, one per IR node; each allocates its result from the arena and returns it.
 *
 * <p>The methods are the step ABI between codegen-jvm and the runtime: codegen-jvm finds them by name (each name
 * is unique) and emits calls with exactly these parameter types, so renaming one is a change to both sides.
 * Conventions: activations are dense row-major f32, integer tensors (token ids, positions, dims) dense i64,
 * sizes are ints (a program over more than 2^31 elements per tensor is refused by the {@code Math.multiplyExact}
 * in the size computations of the kernels' callers).
 *
 * <p>Not thread-safe: one context per concurrent run. Each run starts with {@link #begin}; buffers of the previous
 * run become invalid then.
 */
public final class ExecContext implements AutoCloseable {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** An input or output tensor: its bytes and its concrete shape. */
    public record Value(MemorySegment data, long[] shape) {}

    private final Kernels kernels;
    private final WeightSet weights;
    private final ActivationArena arena;
    private final Map<String, WeightMatrix> matrices = new HashMap<>();
    private final Map<String, float[]> floatConstants = new HashMap<>();
    private final Map<String, MemorySegment> tensors = new HashMap<>();
    private List<Value> inputs = List.of();
    private PagedKvCache[] caches = new PagedKvCache[0];
    private final List<Value> outputs = new ArrayList<>();

    public ExecContext(Kernels kernels, WeightSet weights, long arenaBytes) {
        this.kernels = kernels;
        this.weights = weights;
        this.arena = new ActivationArena(arenaBytes);
    }

    /**
     * Starts a new run: frees the previous run's buffers (inputs included) and forgets its inputs and outputs. Then
     * build the inputs ({@link #longs}, {@link #ints}) and pass them to {@link #setInputs}.
     */
    public void begin() {
        arena.reset();
        inputs = List.of();
        outputs.clear();
    }

    /** The inputs of the run started by {@link #begin}, in the program's input order. */
    public void setInputs(List<Value> newInputs) {
        inputs = List.copyOf(newInputs);
    }

    /** Copies {@code data} as an i64 tensor of {@code shape} into the arena (the usual way to pass token ids). */
    public Value longs(long[] data, long... shape) {
        MemorySegment s = arena.allocate(8L * data.length);
        MemorySegment.copy(data, 0, s, I64, 0, data.length);
        return new Value(s, shape.clone());
    }

    /** Copies {@code data} as an f32 tensor (activation inputs of tests and small programs). */
    public Value floatsInput(float[] data, long... shape) {
        MemorySegment s = arena.allocate(4L * data.length);
        MemorySegment.copy(data, 0, s, Elements.F32, 0, data.length);
        return new Value(s, shape.clone());
    }

    /** Copies {@code data} as an i32 tensor (block tables, lengths). */
    public Value ints(int[] data, long... shape) {
        MemorySegment s = arena.allocate(4L * data.length);
        MemorySegment.copy(data, 0, s, ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, data.length);
        return new Value(s, shape.clone());
    }

    /** The paged KV cache of each layer, for step programs ({@code kvWrite}, {@code pagedAttention}). */
    public void setKvCaches(PagedKvCache[] layers) {
        caches = layers.clone();
    }

    /** The results the last run produced, in output order. */
    public List<Value> outputs() {
        return List.copyOf(outputs);
    }

    public Kernels kernels() {
        return kernels;
    }

    /** Bytes of the activation arena's main block: the high-water mark of the runs so far (for memory plans). */
    public long arenaCapacity() {
        return arena.capacity();
    }

    @Override
    public void close() {
        arena.close();
        gatherArena.close();
    }

    // ---- access the generated code uses ----------------------------------------------------------------------

    /** Size of axis {@code axis} of input {@code index}: how the program binds its symbolic dims at run time. */
    public int inputDim(int index, int axis) {
        return Math.toIntExact(value(index).shape()[axis]);
    }

    /** The bytes of input {@code index}. */
    public MemorySegment input(int index) {
        return value(index).data();
    }

    private Value value(int index) {
        if (index >= inputs.size()) {
            throw new IllegalStateException("program reads input " + index + " but the run has " + inputs.size());
        }
        return inputs.get(index);
    }

    /** Records output {@code index} of the run with its concrete shape. */
    public void output(int index, MemorySegment data, int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            s[i] = shape[i];
        }
        while (outputs.size() <= index) {
            outputs.add(null);
        }
        outputs.set(index, new Value(data, s));
    }

    /** A weight or constant tensor's bytes, as stored (f32 for norms and biases, i64 for integer constants). */
    public MemorySegment weight(String name) {
        return tensors.computeIfAbsent(name, n -> weights.get(n).data());
    }

    /** A 2-D weight as a kernel matrix {@code [rows = out features, cols = in features]} in its stored dtype. */
    public WeightMatrix matrix(String name) {
        WeightMatrix m = matrices.get(name);
        if (m == null) {
            WeightSet.Entry e = weights.get(name);
            if (e.shape().size() != 2) {
                throw new IllegalStateException("tensor '" + name + "' is used as a matrix but has shape " + e.shape());
            }
            m = new WeightMatrix(e.data(), elementType(e.dtype(), name), Math.toIntExact(e.shape().get(0)),
                    Math.toIntExact(e.shape().get(1)));
            matrices.put(name, m);
        }
        return m;
    }

    /** An f32 constant as a Java array (rotary inverse frequencies), read once. */
    public float[] floats(String name) {
        return floatConstants.computeIfAbsent(name, n -> {
            WeightSet.Entry e = weights.get(n);
            if (!e.dtype().equals("f32")) {
                throw new IllegalStateException("constant '" + n + "' is " + e.dtype() + ", expected f32");
            }
            return e.data().toArray(Elements.F32);
        });
    }

    static ElementType elementType(String dtype, String name) {
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> ElementType.F32;
            case "bf16" -> ElementType.BF16;
            case "f16" -> ElementType.F16;
            default -> throw new IllegalStateException("tensor '" + name + "' has dtype " + dtype
                    + ", which the CPU kernels do not read");
        };
    }

    private MemorySegment f32(long count) {
        return arena.allocate(Math.multiplyExact(count, 4L));
    }

    // ---- kernel bindings: one method per binding of codegen-jvm's table ------------------------------------------

    /** {@code out[t, :] = table[ids[t], :]} for {@code count} i64 ids, widened to f32. */
    public MemorySegment embedding(WeightMatrix table, MemorySegment ids, int count) {
        int dim = table.cols();
        MemorySegment out = f32((long) count * dim);
        long rowBytes = (long) dim * table.type().byteSize();
        for (int t = 0; t < count; t++) {
            long id = ids.getAtIndex(I64, t);
            if (id < 0 || id >= table.rows()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + table.rows() + ")");
            }
            kernels.toF32(table.data().asSlice(id * rowBytes, rowBytes), table.type(),
                    out.asSlice((long) t * dim * 4, (long) dim * 4), dim);
        }
        return out;
    }

    /** {@code y[rows, n] = x[rows, k] . W^T (+ bias)}; {@code bias} may be null. */
    public MemorySegment linear(MemorySegment x, int rows, WeightMatrix w, MemorySegment bias) {
        MemorySegment y = f32((long) rows * w.rows());
        if (rows > 0) { // no rows: a step piece that wants no logits (see StepExecutor.runInPieces)
            kernels.gemm(x, rows, w, bias, y);
        }
        return y;
    }

    /**
     * Fused linear with the gated epilogue {@code y = silu(gate) * up}: {@code w} stacks gate over up ({@code [2 ff,
     * k]}), the result is {@code [rows, ff]}. Reference composition: one GEMM, then the SwiGLU kernel per row (the
     * gate and up halves of a row are contiguous).
     */
    public MemorySegment linearSiluMul(MemorySegment x, int rows, WeightMatrix w, MemorySegment bias) {
        return siluMulRows(linear(x, rows, w, bias), rows, w.rows() / 2);
    }

    /** The gated epilogue over GEMM rows {@code [gate | up]} of width {@code 2 ff}: {@code silu(gate) * up}, {@code [rows, ff]}. */
    private MemorySegment siluMulRows(MemorySegment y, int rows, int ff) {
        MemorySegment out = f32((long) rows * ff);
        long rowBytes = (long) ff * 4;
        for (int r = 0; r < rows; r++) {
            kernels.swiglu(y.asSlice(2 * r * rowBytes, rowBytes), y.asSlice((2L * r + 1) * rowBytes, rowBytes),
                    out.asSlice(r * rowBytes, rowBytes), ff);
        }
        return out;
    }

    /** Fused linear with a GELU epilogue: {@code gelu(x W^T + b)}, in place on the GEMM result. */
    public MemorySegment linearGelu(MemorySegment x, int rows, WeightMatrix w, MemorySegment bias, boolean tanh) {
        MemorySegment y = linear(x, rows, w, bias);
        kernels.gelu(y, y, rows * w.rows(), tanh ? GeluForm.TANH : GeluForm.ERF);
        return y;
    }

    /** Fused linear with the residual epilogue: {@code x W^T + b + residual}, added in place on the GEMM result. */
    public MemorySegment linearResidual(MemorySegment x, int rows, WeightMatrix w, MemorySegment bias, MemorySegment residual) {
        MemorySegment y = linear(x, rows, w, bias);
        kernels.add(y, residual, y, rows * w.rows());
        return y;
    }

    // ---- quantized projections (issue 7) ---------------------------------------------------------------------

    private QuantKernels quantKernels;
    private final Map<MemorySegment, QuantizedMatrix> packedMatrices = new HashMap<>();

    /**
     * {@code quantized_linear}: {@code y = epilogue(x[rows, k] . dequant(W)[n, k]^T + bias)} over the packed weight
     * bytes {@code w} of format {@code format} (a {@code QuantFormat} ordinal) and group size {@code groupSize}.
     * {@code epilogue}: 0 none, 1 silu_mul (W stacks gate over up, the result is {@code [rows, n / 2]}), 2 gelu (erf),
     * 3 gelu (tanh), 4 residual add of {@code residual}. {@code bias} and {@code residual} may be null.
     */
    public MemorySegment quantLinear(MemorySegment x, int rows, MemorySegment w, int format, int groupSize, int n, int k,
            MemorySegment bias, int epilogue, MemorySegment residual) {
        QuantKernels qk = quantKernels();
        QuantizedMatrix m = packedMatrices.computeIfAbsent(w, seg ->
                new QuantizedMatrix(seg, new QuantType(
                        QuantFormat.values()[format], groupSize), n, k));
        MemorySegment y = f32((long) rows * n);
        if (rows > 0) { // as in linear(): a step piece may want no logits rows
            qk.gemm(x, rows, m, bias, y);
        }
        switch (epilogue) {
            case 0 -> { }
            case 1 -> {
                return siluMulRows(y, rows, n / 2);
            }
            case 2, 3 -> kernels.gelu(y, y, rows * n, epilogue == 3 ? GeluForm.TANH : GeluForm.ERF);
            case 4 -> kernels.add(y, residual, y, rows * n);
            default -> throw new IllegalArgumentException("unknown quantized_linear epilogue code " + epilogue);
        }
        return y;
    }

    /**
     * {@code quantize_activations}: each row of {@code x [rows, cols]} rounded to {@code bits}-bit integers with an f32
     * scale {@code absmax(row) / (2^(bits-1) - 1)} and read back (what a W8A8 GEMM's int8 activations hold).
     */
    public MemorySegment quantizeActivations(MemorySegment x, int rows, int cols, int bits) {
        MemorySegment y = f32((long) rows * cols);
        long qmax = (1L << (bits - 1)) - 1;
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            double m = 0;
            for (int c = 0; c < cols; c++) {
                m = Math.max(m, Math.abs(x.getAtIndex(Elements.F32, base + c)));
            }
            float scale = (float) (m / qmax);
            for (int c = 0; c < cols; c++) {
                long q = scale == 0 ? 0 : Math.clamp(Math.round(x.getAtIndex(Elements.F32, base + c) / (double) scale), -qmax, qmax);
                y.setAtIndex(Elements.F32, base + c, (float) (q * (double) scale));
            }
        }
        return y;
    }

    /** {@code rms_norm(a + b, w)}: the sum, then the norm (the sum is not needed elsewhere, the fusion pass says). */
    public MemorySegment addRmsNorm(MemorySegment a, MemorySegment b, MemorySegment w, float eps, int rows, int dim) {
        MemorySegment sum = add(a, b, rows * dim);
        kernels.rmsNorm(sum, w, eps, rows, dim, sum);
        return sum;
    }

    public MemorySegment rmsNorm(MemorySegment x, MemorySegment w, float eps, int rows, int dim) {
        MemorySegment y = f32((long) rows * dim);
        kernels.rmsNorm(x, w, eps, rows, dim, y);
        return y;
    }

    /** {@code bias} may be null. */
    public MemorySegment layerNorm(MemorySegment x, MemorySegment w, MemorySegment bias, float eps, int rows, int dim) {
        MemorySegment y = f32((long) rows * dim);
        kernels.layerNorm(x, w, bias, eps, rows, dim, y);
        return y;
    }

    /**
     * Rotary embedding of {@code x : [tokens, heads, headDim]} at i64 {@code positions[tokens]}. Copies first: the
     * kernel works in place and the input may have other users (the backend does not yet prove single use).
     */
    public MemorySegment rope(MemorySegment x, int tokens, int heads, int headDim, MemorySegment positions,
            float[] invFreq, boolean interleaved) {
        long bytes = (long) tokens * heads * headDim * 4;
        MemorySegment y = arena.allocate(bytes);
        MemorySegment.copy(x, 0, y, 0, bytes);
        int[] pos = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            pos[t] = Math.toIntExact(positions.getAtIndex(I64, t));
        }
        kernels.rope(y, tokens, heads, headDim, pos, invFreq, interleaved ? RopeLayout.INTERLEAVED : RopeLayout.NEOX);
        return y;
    }

    /**
     * Causal self-attention without a cache over {@code q : [batch, seq, qHeads, headDim]} and {@code k, v : [batch,
     * seq, kvHeads, headDim]}: one flash-attention call per batch row (rows are independent sequences).
     */
    public MemorySegment attention(MemorySegment q, MemorySegment k, MemorySegment v, int batch, int seq, int qHeads,
            int kvHeads, int headDim, float scale) {
        MemorySegment out = f32((long) batch * seq * qHeads * headDim);
        AttentionHeads heads = new AttentionHeads(qHeads, kvHeads, headDim);
        long qRow = (long) seq * qHeads * headDim * 4;
        long kvRow = (long) seq * kvHeads * headDim * 4;
        for (int b = 0; b < batch; b++) {
            kernels.flashAttention(q.asSlice(b * qRow, qRow), seq, k.asSlice(b * kvRow, kvRow), v.asSlice(b * kvRow, kvRow),
                    seq, heads, scale, out.asSlice(b * qRow, qRow));
        }
        return out;
    }

    public MemorySegment swiglu(MemorySegment gate, MemorySegment up, int count) {
        MemorySegment out = f32(count);
        kernels.swiglu(gate, up, out, count);
        return out;
    }

    public MemorySegment gelu(MemorySegment x, int count, boolean tanh) {
        MemorySegment out = f32(count);
        kernels.gelu(x, out, count, tanh ? GeluForm.TANH : GeluForm.ERF);
        return out;
    }

    public MemorySegment add(MemorySegment a, MemorySegment b, int count) {
        MemorySegment out = f32(count);
        kernels.add(a, b, out, count);
        return out;
    }

    /** An uninitialised f32 buffer of {@code count} elements, for a generated kernel to fill. */
    public MemorySegment allocF32(int count) {
        return f32(count);
    }

    /** The i64 tensor of a {@code dims [...]} node: the run-time values of its dimensions. */
    public MemorySegment dims(int[] values) {
        MemorySegment s = arena.allocate(8L * values.length);
        for (int i = 0; i < values.length; i++) {
            s.setAtIndex(I64, i, values[i]);
        }
        return s;
    }

    /** i64 {@code range(start, limit, delta)} with {@code count} elements (the type's dim, resolved at run time). */
    public MemorySegment range(MemorySegment start, MemorySegment limit, MemorySegment delta, int count) {
        long s = start.get(I64, 0);
        long d = delta.get(I64, 0);
        long expected = d == 0 ? -1 : Math.max(0, Math.ceilDiv(limit.get(I64, 0) - s, d));
        if (expected != count) {
            throw new IllegalStateException("range(" + s + ", " + limit.get(I64, 0) + ", " + d + ") has " + expected
                    + " elements but its type says " + count);
        }
        MemorySegment out = arena.allocate(8L * count);
        for (int i = 0; i < count; i++) {
            out.setAtIndex(I64, i, s + i * d);
        }
        return out;
    }

    /**
     * Numpy broadcast of {@code x} (dims {@code inDims}, already right-aligned to the output's rank with 1s) to
     * {@code outDims}, for elements of {@code elementBytes} bytes.
     */
    public MemorySegment expand(MemorySegment x, int elementBytes, int[] inDims, int[] outDims) {
        int rank = outDims.length;
        long total = 1;
        for (int d : outDims) {
            total *= d;
        }
        MemorySegment out = arena.allocate(total * elementBytes);
        long[] inStride = new long[rank];
        long s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            inStride[i] = inDims[i] == 1 ? 0 : s;
            s *= inDims[i];
        }
        int[] idx = new int[rank];
        for (long o = 0; o < total; o++) {
            long src = 0;
            for (int i = 0; i < rank; i++) {
                src += idx[i] * inStride[i];
            }
            MemorySegment.copy(x, src * elementBytes, out, o * elementBytes, elementBytes);
            for (int i = rank - 1; i >= 0 && ++idx[i] == outDims[i]; i--) {
                idx[i] = 0;
            }
        }
        return out;
    }

    /**
     * A strided slice along one axis of {@code x} viewed as {@code [outer, axisLen, inner]}: {@code count} elements
     * from {@code start} with step {@code step}, each an {@code inner}-element run of {@code elementBytes}-byte
     * elements.
     */
    public MemorySegment slice(MemorySegment x, int elementBytes, int outer, int axisLen, int inner, int start, int step,
            int count) {
        long run = (long) inner * elementBytes;
        MemorySegment out = arena.allocate(outer * count * run);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < count; i++) {
                long src = ((long) o * axisLen + start + (long) i * step) * run;
                MemorySegment.copy(x, src, out, ((long) o * count + i) * run, run);
            }
        }
        return out;
    }

    // ---- step program: paged KV cache -----------------------------------------------------------------------------

    private PagedKvCache cache(int layer) {
        if (layer >= caches.length || caches[layer] == null) {
            throw new IllegalStateException("step program uses KV cache layer " + layer + " but the run has "
                    + caches.length + " layers (setKvCaches)");
        }
        return caches[layer];
    }

    /**
     * Writes {@code k, v : [tokens, kvHeads, headDim]} into layer {@code layer}'s cache at i64 {@code slots}; returns
     * the write token (no data: it only orders the write before the layer's attention in the program).
     */
    public MemorySegment kvWrite(MemorySegment k, MemorySegment v, int tokens, MemorySegment slots, int layer) {
        kernels.kvWrite(k, v, tokens, slotArray(slots, tokens), cache(layer));
        return MemorySegment.NULL;
    }

    /** The step's {@code slots : i64[tokens]} input as cache slot indices. */
    private static int[] slotArray(MemorySegment slots, int tokens) {
        int[] s = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            s[t] = Math.toIntExact(slots.getAtIndex(I64, t));
        }
        return s;
    }

    /**
     * {@code kv_write_rope}: rotates a copy of the keys at {@code positions} (as {@link #rope}), then writes them and
     * the values into layer {@code layer}'s cache. Returns the write token.
     */
    public MemorySegment kvWriteRope(MemorySegment k, MemorySegment v, int tokens, MemorySegment slots,
            MemorySegment positions, float[] invFreq, boolean interleaved, int layer) {
        PagedKvCache c = cache(layer);
        MemorySegment rotated = rope(k, tokens, c.kvHeads(), c.headDim(), positions, invFreq, interleaved);
        return kvWrite(rotated, v, tokens, slots, layer);
    }

    /**
     * Attention of {@code q : [tokens, qHeads, headDim]} over layer {@code layer}'s paged cache for a ragged batch:
     * sequence s owns query rows {@code queryStarts[s] .. queryStarts[s+1]}, has {@code contextLens[s]} cached tokens
     * (its new ones included) and block table row s of {@code blockTables : i32[seqs, maxBlocks]}. Query j of n at
     * position {@code contextLens[s] - n + j} sees the keys up to it.
     *
     * <p>Each query row becomes one "sequence" of the decode kernel with its own causal context length, so decode
     * (n = 1), chunked prefill and whole prompts go through one kernel. For long prompts this reads the cache once
     * per query row instead of once per tile; a prefill path over flash attention is the faster alternative.
     */
    public MemorySegment pagedAttention(MemorySegment q, MemorySegment kvToken, MemorySegment blockTables,
            MemorySegment contextLens, MemorySegment queryStarts, int tokens, int seqs, int maxBlocks, int layer,
            int qHeads, int kvHeads, int headDim, float scale) {
        PagedKvCache c = cache(layer);
        return attention(new KvSource() {
            @Override
            public MemorySegment[] gather(int[] table, int ctx) {
                return gatherKv(c, table, ctx);
            }

            @Override
            public void paged(MemorySegment rows, int n, int[][] tables, int[] lens, AttentionHeads heads, float scale,
                    MemorySegment out) {
                kernels.pagedAttention(rows, n, c, tables, lens, heads, scale, out);
            }
        }, q, blockTables, contextLens, queryStarts, tokens, seqs, maxBlocks, qHeads, kvHeads, headDim, scale);
    }

    /**
     * Where a step's attention reads K and V: a sequence's first positions gathered to f32 (for flash attention) or
     * rows attended by the cache's paged kernel. The float and quantized caches differ only here.
     */
    private interface KvSource {
        MemorySegment[] gather(int[] table, int ctx);

        void paged(MemorySegment rows, int n, int[][] tables, int[] lens, AttentionHeads heads, float scale,
                MemorySegment out);
    }

    /**
     * A step's attention over one layer's cache: each prefill chunk ({@link #FLASH_MIN_ROWS} rows or more) through
     * flash attention over its sequence's gathered K/V, the other rows through the paged kernel (in one call when no
     * sequence took the flash path).
     */
    private MemorySegment attention(KvSource src, MemorySegment q, MemorySegment blockTables, MemorySegment contextLens,
            MemorySegment queryStarts, int tokens, int seqs, int maxBlocks, int qHeads, int kvHeads, int headDim,
            float scale) {
        int covered = 0;
        for (int s = 0; s < seqs; s++) {
            int from = queryStarts.getAtIndex(I32, s);
            int to = queryStarts.getAtIndex(I32, s + 1);
            if (from != covered || to < from || to > tokens) {
                throw new IllegalStateException("query row " + covered + " belongs to no sequence (query_starts)");
            }
            covered = to;
        }
        if (covered != tokens) {
            throw new IllegalStateException("query row " + covered + " belongs to no sequence (query_starts)");
        }
        int[][] rowTables = new int[tokens][];
        int[] rowLens = new int[tokens];
        boolean[] flash = new boolean[seqs];
        boolean anyPaged = false;
        AttentionHeads heads = new AttentionHeads(qHeads, kvHeads, headDim);
        MemorySegment out = f32((long) tokens * qHeads * headDim);
        long rowBytes = 4L * qHeads * headDim;
        for (int s = 0; s < seqs; s++) {
            int[] table = blockTable(blockTables, s, maxBlocks);
            int from = queryStarts.getAtIndex(I32, s);
            int to = queryStarts.getAtIndex(I32, s + 1);
            int ctx = contextLens.getAtIndex(I32, s);
            if (to - from >= FLASH_MIN_ROWS && ctx >= to - from) {
                // A prefill chunk: its query rows are the last (to - from) positions of its context, which is
                // flash attention's causal layout (query i sees keys up to ctx - n + i).
                flash[s] = true;
                MemorySegment[] kv = src.gather(table, ctx);
                kernels.flashAttention(q.asSlice(from * rowBytes, (to - from) * rowBytes), to - from, kv[0], kv[1], ctx,
                        heads, scale, out.asSlice(from * rowBytes, (to - from) * rowBytes));
                continue;
            }
            causalRows(table, from, to, ctx, rowTables, rowLens);
            anyPaged |= to > from;
        }
        if (!anyPaged) {
            return out;
        }
        boolean allPaged = true;
        for (boolean f : flash) {
            allPaged &= !f;
        }
        if (allPaged) {
            src.paged(q, tokens, rowTables, rowLens, heads, scale, out);
            return out;
        }
        // Mixed step: the decode/short rows of each remaining sequence, one paged call per sequence's row range.
        for (int s = 0; s < seqs; s++) {
            if (flash[s]) {
                continue;
            }
            int from = queryStarts.getAtIndex(I32, s);
            int to = queryStarts.getAtIndex(I32, s + 1);
            if (to > from) {
                src.paged(q.asSlice(from * rowBytes, (to - from) * rowBytes), to - from,
                        Arrays.copyOfRange(rowTables, from, to), Arrays.copyOfRange(rowLens, from, to), heads, scale,
                        out.asSlice(from * rowBytes, (to - from) * rowBytes));
            }
        }
        return out;
    }

    // ---- step program: quantized paged KV cache (issue 7) ------------------------------------------------------

    private QuantKvCache[] quantCaches = new QuantKvCache[0];

    /** The quantized KV cache of each layer, for step programs compiled with {@code --kv-dtype} ({@code *Quant} methods). */
    public void setQuantKvCaches(QuantKvCache[] layers) {
        quantCaches = layers.clone();
    }

    /** Zeroed quantized caches for {@code layers} layers from {@code arena} (a never-written slot reads as 0). */
    public static QuantKvCache[] allocateQuantKvCaches(java.lang.foreign.Arena arena,
            KvQuantFormat format, int layers, int numBlocks, int blockSize, int kvHeads,
            int headDim) {
        long bytes = QuantKvCache.segmentBytes(numBlocks, blockSize, kvHeads, headDim, format);
        QuantKvCache[] out = new QuantKvCache[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = new QuantKvCache(arena.allocate(bytes, 64), arena.allocate(bytes, 64),
                    format, numBlocks, blockSize, kvHeads, headDim);
        }
        return out;
    }

    private QuantKvCache quantCache(int layer) {
        if (layer >= quantCaches.length || quantCaches[layer] == null) {
            throw new IllegalStateException("step program uses quantized KV cache layer " + layer + " but the run has "
                    + quantCaches.length + " quantized layers (setQuantKvCaches)");
        }
        return quantCaches[layer];
    }

    private QuantKernels quantKernels() {
        if (quantKernels == null) {
            quantKernels = kernels.quantKernels();
        }
        return quantKernels;
    }

    /** {@link #kvWrite} into the quantized cache: each (token, head) vector quantized with its own scale. */
    public MemorySegment kvWriteQuant(MemorySegment k, MemorySegment v, int tokens, MemorySegment slots, int layer) {
        quantKernels().kvWrite(k, v, tokens, slotArray(slots, tokens), quantCache(layer));
        return MemorySegment.NULL;
    }

    /** {@link #kvWriteRope} into the quantized cache. */
    public MemorySegment kvWriteRopeQuant(MemorySegment k, MemorySegment v, int tokens, MemorySegment slots,
            MemorySegment positions, float[] invFreq, boolean interleaved, int layer) {
        QuantKvCache c = quantCache(layer);
        MemorySegment rotated = rope(k, tokens, c.kvHeads(), c.headDim(), positions, invFreq, interleaved);
        return kvWriteQuant(rotated, v, tokens, slots, layer);
    }

    /** Row {@code s} of {@code blockTables : i32[seqs, maxBlocks]}. */
    private static int[] blockTable(MemorySegment blockTables, int s, int maxBlocks) {
        int[] table = new int[maxBlocks];
        MemorySegment.copy(blockTables, I32, (long) s * maxBlocks * 4, table, 0, maxBlocks);
        return table;
    }

    /**
     * Query rows {@code [from, to)} of one sequence as rows of the paged decode kernel: its block table each, and the
     * causal context of query j, the last {@code to - from} of {@code ctx} positions: {@code ctx - (to - j) + 1}.
     */
    private static void causalRows(int[] table, int from, int to, int ctx, int[][] rowTables, int[] rowLens) {
        for (int j = from; j < to; j++) {
            rowTables[j] = table;
            rowLens[j] = ctx - (to - j) + 1;
        }
    }

    /** {@link #pagedAttention} over the quantized cache (keys and values dequantized as they are read). */
    public MemorySegment pagedAttentionQuant(MemorySegment q, MemorySegment kvToken, MemorySegment blockTables,
            MemorySegment contextLens, MemorySegment queryStarts, int tokens, int seqs, int maxBlocks, int layer,
            int qHeads, int kvHeads, int headDim, float scale) {
        QuantKvCache c = quantCache(layer);
        QuantKernels qk = quantKernels();
        return attention(new KvSource() {
            // Prefill chunks dequantize the context once for flash attention; through the paged kernel each query
            // row dequantized it again (TinyLlama w4a8 + int8 KV prefilled 1024 tokens at 112 tok/s, bf16 KV 185).
            @Override
            public MemorySegment[] gather(int[] table, int ctx) {
                MemorySegment[] kv = gatherBuffers(4L * ctx * c.kvHeads() * c.headDim());
                qk.gatherKv(c, table, ctx, kv[0], kv[1]);
                return kv;
            }

            @Override
            public void paged(MemorySegment rows, int n, int[][] tables, int[] lens, AttentionHeads heads, float scale,
                    MemorySegment out) {
                qk.pagedAttention(rows, n, c, tables, lens, heads, scale, out);
            }
        }, q, blockTables, contextLens, queryStarts, tokens, seqs, maxBlocks, qHeads, kvHeads, headDim, scale);
    }

    /**
     * Query rows of one sequence from which a step's attention goes through {@link Kernels#flashAttention} over the
     * sequence's K/V gathered to f32, instead of the paged decode kernel per row. Why: the paged kernel treats each
     * query row as its own sequence, so a prefill of n tokens widened and scored the context n times in 16-key
     * tiles (prefill of 512 tokens ran at half the per-token rate of 128); flash tiles 16 queries x 64 keys and
     * widens each K/V tile once for all of them (TinyLlama-1.1B bf16, prefill of 512, A/B in one session at load
     * ~4.7: 50-56 tok/s paged, 62-64 flash). {@code -Dtokc.flashMinRows=N} overrides it, for such A/B runs.
     */
    static final int FLASH_MIN_ROWS = Integer.getInteger("tokc.flashMinRows", 8);

    /**
     * Reused across layers and runs: the gathered f32 K and V of one sequence, grown on demand (the old buffer's
     * arena is closed then: the flash kernel that read it has returned). Shared, as the kernel threads read it.
     */
    private MemorySegment kvGather = MemorySegment.NULL;
    private java.lang.foreign.Arena gatherArena = java.lang.foreign.Arena.ofShared();

    /**
     * K and V buffers of {@code bytes} each for one sequence's gathered context: the two halves of the gather buffer,
     * grown as needed (its old contents are not kept).
     */
    private MemorySegment[] gatherBuffers(long bytes) {
        if (kvGather.byteSize() < 2 * bytes) {
            long size = Math.max(2 * bytes, kvGather.byteSize() * 3 / 2);
            gatherArena.close();
            gatherArena = java.lang.foreign.Arena.ofShared();
            kvGather = gatherArena.allocate(size, 64);
        }
        return new MemorySegment[] {kvGather.asSlice(0, bytes), kvGather.asSlice(bytes, bytes)};
    }

    /** The first {@code ctx} tokens' K and V of a sequence, {@code [ctx, kvHeads, headDim]} f32 each. */
    private MemorySegment[] gatherKv(PagedKvCache c, int[] table, int ctx) {
        long width = (long) c.kvHeads() * c.headDim();
        MemorySegment[] kv = gatherBuffers(4L * ctx * width);
        MemorySegment k = kv[0];
        MemorySegment v = kv[1];
        int bs = c.blockSize();
        long elemBytes = c.type().byteSize();
        for (int t0 = 0; t0 < ctx; t0 += bs) {
            int n = Math.min(bs, ctx - t0);
            long src = c.offset((long) table[t0 / bs] * bs, 0);
            long count = n * width;
            kernels.toF32(c.keys().asSlice(src, count * elemBytes), c.type(), k.asSlice(4L * t0 * width, 4 * count), count);
            kernels.toF32(c.values().asSlice(src, count * elemBytes), c.type(), v.asSlice(4L * t0 * width, 4 * count), count);
        }
        return kv;
    }

    /**
     * {@code out[o, i, :] = x[o, indices[i], :]} for x viewed as {@code [outer, axisLen, inner]} and i64 indices
     * (negative ones count from the end): the step program picks its logits rows with it.
     */
    public MemorySegment gather(MemorySegment x, MemorySegment indices, int elementBytes, int outer, int axisLen, int inner,
            int count) {
        long run = (long) inner * elementBytes;
        MemorySegment out = arena.allocate((long) outer * count * run);
        for (int i = 0; i < count; i++) {
            long idx = indices.getAtIndex(I64, i);
            if (idx < 0) {
                idx += axisLen;
            }
            if (idx < 0 || idx >= axisLen) {
                throw new IndexOutOfBoundsException("gather index " + indices.getAtIndex(I64, i) + " outside [0, " + axisLen + ")");
            }
            for (int o = 0; o < outer; o++) {
                MemorySegment.copy(x, ((long) o * axisLen + idx) * run, out, ((long) o * count + i) * run, run);
            }
        }
        return out;
    }
}
