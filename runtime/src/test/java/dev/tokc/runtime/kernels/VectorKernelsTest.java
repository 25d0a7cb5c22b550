package dev.tokc.runtime.kernels;

import static dev.tokc.runtime.kernels.TestData.assertClose;
import static dev.tokc.runtime.kernels.TestData.copy;
import static dev.tokc.runtime.kernels.TestData.gaussian;
import static dev.tokc.runtime.kernels.TestData.zeros;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Differential tests: every {@link VectorKernels} op against {@link ReferenceKernels} over a generated grid of
 * element types x shapes x thread counts. Shapes are chosen to hit the edges of the fast paths: sizes below, at and
 * just past a vector length, k = 1, m = 1, m = 17 (4x4 tiles plus a remainder), n not a multiple of the 4-row weight
 * block, odd head dims (80, 72), and partial rotary. 16-bit data is rounded before either implementation sees it,
 * so both compute on the same values and the f32 tolerance applies throughout.
 */
class VectorKernelsTest {
    /** f32 agreement, relative to the output's largest magnitude (DESIGN.md: f32 <= 1e-5 relative). */
    static final double TOL = 1e-5;

    static final ReferenceKernels REF = new ReferenceKernels();
    static final int[] THREADS = {1, 3};
    static WorkerPool[] pools;
    static VectorKernels[] fast;

    @BeforeAll
    static void startPools() {
        pools = Arrays.stream(THREADS).mapToObj(WorkerPool::new).toArray(WorkerPool[]::new);
        fast = Arrays.stream(pools).map(VectorKernels::new).toArray(VectorKernels[]::new);
    }

    @AfterAll
    static void stopPools() {
        Arrays.stream(pools).forEach(WorkerPool::close);
    }

    /** The cartesian product of the given axes, one {@link Arguments} per combination. */
    static Stream<Arguments> grid(List<?>... axes) {
        Stream<List<Object>> combos = Stream.of(List.of());
        for (List<?> axis : axes) {
            combos = combos.flatMap(prefix -> axis.stream().map(v -> {
                List<Object> next = new ArrayList<>(prefix);
                next.add(v);
                return next;
            }));
        }
        return combos.map(c -> Arguments.of(c.toArray()));
    }

    static List<Integer> threadIndices() {
        return IntStream.range(0, THREADS.length).boxed().toList();
    }

    static VectorKernels fast(int threadIndex) {
        return fast[threadIndex];
    }

    // ---- GEMM --------------------------------------------------------------------------------------------

    record NK(int n, int k) {
    }

    static Stream<Arguments> gemmGrid() {
        return grid(List.of(ElementType.values()),
                List.of(1, 2, 4, 5, 17),
                List.of(new NK(1, 1), new NK(3, 7), new NK(4, 16), new NK(5, 33), new NK(17, 64), new NK(64, 100),
                        new NK(37, 257), new NK(128, 512)),
                List.of(false, true),
                threadIndices());
    }

    @ParameterizedTest(name = "{0} m={1} {2} bias={3} pool={4}")
    @MethodSource("gemmGrid")
    void gemm(ElementType type, int m, NK nk, boolean withBias, int pool) {
        checkGemm(type, m, nk.n(), nk.k(), withBias, pool);
    }

    /** k = 8192 gives 16-row activation blocks, so m = 40 crosses three of them. */
    @Test
    void gemmSpansSeveralActivationBlocks() {
        for (ElementType type : ElementType.values()) {
            checkGemm(type, 40, 9, 8192, true, 1);
        }
    }

    /**
     * From k = 7168 the bf16 decode GEMV reads weight rows in fours, then pairs, then singles: row counts 9 (4+4+1)
     * and 14 (4+4+4+2), a k tail past the vector loop, 1 to 3 activation rows, bias or not, one and several threads.
     */
    @Test
    void gemvWithLongRowsReadsRowPairs() {
        for (int pool : threadIndices()) {
            for (int m = 1; m <= 3; m++) {
                checkGemm(ElementType.BF16, m, 9, 8192, m == 2, pool);
                checkGemm(ElementType.BF16, m, 14, 7168 + 37, m != 2, pool);
            }
        }
    }

    /**
     * Below that, the bf16 decode GEMV pairs row j with row j + half of each thread's range: n = 101 at k = 2048
     * splits into ranges of odd and even length starting mid-matrix on several threads, with 1 to 3 activation rows.
     */
    @Test
    void gemvPairsRowsFromTheRangeHalves() {
        for (int pool : threadIndices()) {
            for (int m = 1; m <= 3; m++) {
                checkGemm(ElementType.BF16, m, 101, 2048, m == 2, pool);
                checkGemm(ElementType.BF16, m, 64, 2048 + 5, m != 2, pool);
            }
        }
    }

    /** Infinity and NaN weights must propagate like the reference (the f16 decode kernel has a separate path). */
    @ParameterizedTest(name = "{0} m={1}")
    @MethodSource("specialWeightGrid")
    void gemmPropagatesInfinityAndNaN(ElementType type, int m) {
        int n = 8;
        int k = 96;
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(5);
            MemorySegment x = arena.allocate(4L * m * k, 64);
            for (long i = 0; i < (long) m * k; i++) {
                x.setAtIndex(Elements.F32, i, 0.5f + random.nextFloat()); // positive, so inf * x stays inf
            }
            MemorySegment wd = gaussian(arena, random, (long) n * k, 0.5, type);
            Elements.write(wd, type, 1L * k + 17, Float.POSITIVE_INFINITY);
            Elements.write(wd, type, 3L * k + 40, Float.NEGATIVE_INFINITY);
            Elements.write(wd, type, 6L * k + 3, Float.NaN);
            WeightMatrix w = new WeightMatrix(wd, type, n, k);
            MemorySegment want = zeros(arena, (long) m * n);
            MemorySegment got = zeros(arena, (long) m * n);
            REF.gemm(x, m, w, null, want);
            fast(1).gemm(x, m, w, null, got);
            assertClose(want, got, (long) m * n, TOL, "gemm with inf/NaN weights " + type);
        }
    }

    static Stream<Arguments> specialWeightGrid() {
        return grid(List.of(ElementType.values()), List.of(1, 5));
    }

    private static void checkGemm(ElementType type, int m, int n, int k, boolean withBias, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(31L * m + 7L * n + k);
            MemorySegment x = gaussian(arena, random, (long) m * k, 1);
            WeightMatrix w = new WeightMatrix(gaussian(arena, random, (long) n * k, 0.5, type), type, n, k);
            MemorySegment bias = withBias ? gaussian(arena, random, n, 1) : null;
            MemorySegment want = zeros(arena, (long) m * n);
            MemorySegment got = zeros(arena, (long) m * n);
            REF.gemm(x, m, w, bias, want);
            fast(pool).gemm(x, m, w, bias, got);
            assertClose(want, got, (long) m * n, TOL, "gemm " + type + " m=" + m + " n=" + n + " k=" + k);
        }
    }

    // ---- norms, rope, element-wise -----------------------------------------------------------------------

    static Stream<Arguments> normGrid() {
        return grid(List.of(1, 3, 17), List.of(1, 7, 16, 64, 100, 2048), List.of(false, true), threadIndices());
    }

    @ParameterizedTest(name = "rows={0} dim={1} inPlace={2} pool={3}")
    @MethodSource("normGrid")
    void rmsNorm(int rows, int dim, boolean inPlace, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(rows * 1000L + dim);
            MemorySegment x = gaussian(arena, random, (long) rows * dim, 2);
            MemorySegment weight = gaussian(arena, random, dim, 1);
            MemorySegment want = zeros(arena, (long) rows * dim);
            REF.rmsNorm(x, weight, 1e-5f, rows, dim, want);
            MemorySegment got = inPlace ? copy(arena, x) : zeros(arena, (long) rows * dim);
            fast(pool).rmsNorm(inPlace ? got : x, weight, 1e-5f, rows, dim, got);
            assertClose(want, got, (long) rows * dim, TOL, "rmsNorm");
        }
    }

    @ParameterizedTest(name = "rows={0} dim={1} withBias={2} pool={3}")
    @MethodSource("normGrid")
    void layerNorm(int rows, int dim, boolean withBias, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(rows * 1000L + dim + 1);
            MemorySegment x = gaussian(arena, random, (long) rows * dim, 2);
            // An offset mean is what makes a one-pass variance formula fail.
            for (long i = 0; i < (long) rows * dim; i++) {
                x.setAtIndex(Elements.F32, i, x.getAtIndex(Elements.F32, i) + 30);
            }
            MemorySegment weight = gaussian(arena, random, dim, 1);
            MemorySegment bias = withBias ? gaussian(arena, random, dim, 1) : null;
            MemorySegment want = zeros(arena, (long) rows * dim);
            MemorySegment got = zeros(arena, (long) rows * dim);
            REF.layerNorm(x, weight, bias, 1e-5f, rows, dim, want);
            fast(pool).layerNorm(x, weight, bias, 1e-5f, rows, dim, got);
            assertClose(want, got, (long) rows * dim, dim == 1 ? 1e-4 : TOL, "layerNorm");
        }
    }

    static Stream<Arguments> ropeGrid() {
        return grid(List.of(RopeLayout.values()), List.of(32, 64, 80, 128), List.of(1.0, 0.5),
                List.of(1, 5), List.of(1, 3), threadIndices());
    }

    @ParameterizedTest(name = "{0} headDim={1} rotaryFraction={2} tokens={3} heads={4} pool={5}")
    @MethodSource("ropeGrid")
    void rope(RopeLayout layout, int headDim, double rotaryFraction, int tokens, int heads, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(headDim * 31L + tokens * 7L + heads);
            int half = (int) (headDim * rotaryFraction) / 2;
            float[] invFreq = new float[half];
            for (int p = 0; p < half; p++) {
                invFreq[p] = (float) Math.pow(10000, -2.0 * p / (2 * half));
            }
            int[] positions = random.ints(tokens, 0, 4096).toArray();
            long count = (long) tokens * heads * headDim;
            MemorySegment want = gaussian(arena, random, count, 1);
            MemorySegment got = copy(arena, want);
            REF.rope(want, tokens, heads, headDim, positions, invFreq, layout);
            fast(pool).rope(got, tokens, heads, headDim, positions, invFreq, layout);
            assertClose(want, got, count, TOL, "rope " + layout);
        }
    }

    static Stream<Arguments> elementwiseGrid() {
        return grid(List.of(1, 15, 16, 17, 1000, 40_003), threadIndices());
    }

    @ParameterizedTest(name = "count={0} pool={1}")
    @MethodSource("elementwiseGrid")
    void swiglu(int count, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(count);
            MemorySegment gate = gaussian(arena, random, count, 4);
            MemorySegment up = gaussian(arena, random, count, 1);
            MemorySegment want = zeros(arena, count);
            MemorySegment got = zeros(arena, count);
            REF.swiglu(gate, up, want, count);
            fast(pool).swiglu(gate, up, got, count);
            assertClose(want, got, count, TOL, "swiglu");
        }
    }

    static Stream<Arguments> geluGrid() {
        return grid(List.of(GeluForm.values()), List.of(1, 15, 16, 17, 1000, 40_003), threadIndices());
    }

    @ParameterizedTest(name = "{0} count={1} pool={2}")
    @MethodSource("geluGrid")
    void gelu(GeluForm form, int count, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(count + form.ordinal());
            MemorySegment x = gaussian(arena, random, count, 4);
            MemorySegment want = zeros(arena, count);
            MemorySegment got = zeros(arena, count);
            REF.gelu(x, want, count, form);
            fast(pool).gelu(x, got, count, form);
            assertClose(want, got, count, TOL, "gelu " + form);
        }
    }

    @ParameterizedTest(name = "count={0} pool={1}")
    @MethodSource("elementwiseGrid")
    void add(int count, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(count + 5);
            MemorySegment a = gaussian(arena, random, count, 1);
            MemorySegment b = gaussian(arena, random, count, 1);
            MemorySegment want = zeros(arena, count);
            REF.add(a, b, want, count);
            fast(pool).add(a, b, a, count); // in place, as the residual stream uses it
            assertClose(want, a, count, 0, "add");
        }
    }

    static Stream<Arguments> softmaxGrid() {
        return grid(List.of(1, 4, 33), List.of(1, 7, 16, 33, 1000), threadIndices());
    }

    @ParameterizedTest(name = "rows={0} cols={1} pool={2}")
    @MethodSource("softmaxGrid")
    void softmax(int rows, int cols, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(rows * 100L + cols);
            MemorySegment x = gaussian(arena, random, (long) rows * cols, 5);
            MemorySegment want = zeros(arena, (long) rows * cols);
            REF.softmax(x, rows, cols, want);
            fast(pool).softmax(x, rows, cols, x);
            assertClose(want, x, (long) rows * cols, TOL, "softmax");
        }
    }

    // ---- attention ---------------------------------------------------------------------------------------

    static List<AttentionHeads> headConfigs() {
        return List.of(new AttentionHeads(4, 4, 32), new AttentionHeads(8, 2, 64), new AttentionHeads(6, 1, 80),
                new AttentionHeads(4, 2, 128), new AttentionHeads(2, 1, 72));
    }

    record QK(int queries, int keys) {
    }

    static Stream<Arguments> flashGrid() {
        return grid(headConfigs(),
                List.of(new QK(1, 1), new QK(5, 5), new QK(17, 17), new QK(16, 40), new QK(70, 70), new QK(3, 100)),
                threadIndices());
    }

    @ParameterizedTest(name = "{0} {1} pool={2}")
    @MethodSource("flashGrid")
    void flashAttention(AttentionHeads heads, QK qk, int pool) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(heads.hashCode() * 31L + qk.hashCode());
            int hd = heads.headDim();
            MemorySegment q = gaussian(arena, random, (long) qk.queries() * heads.qHeads() * hd, 1);
            MemorySegment k = gaussian(arena, random, (long) qk.keys() * heads.kvHeads() * hd, 1);
            MemorySegment v = gaussian(arena, random, (long) qk.keys() * heads.kvHeads() * hd, 1);
            long outCount = (long) qk.queries() * heads.qHeads() * hd;
            MemorySegment want = zeros(arena, outCount);
            MemorySegment got = zeros(arena, outCount);
            float scale = (float) (1 / Math.sqrt(hd));
            REF.flashAttention(q, qk.queries(), k, v, qk.keys(), heads, scale, want);
            fast(pool).flashAttention(q, qk.queries(), k, v, qk.keys(), heads, scale, got);
            assertClose(want, got, outCount, TOL, "flashAttention " + heads + " " + qk);
        }
    }

    static Stream<Arguments> longContextGrid() {
        return grid(List.of(ElementType.BF16, ElementType.F32), List.of(new AttentionHeads(12, 2, 64),
                new AttentionHeads(6, 1, 80)), List.of(1, 65, 300), threadIndices());
    }

    /**
     * One or two sequences (fewer tasks than threads) whose context spans up to five key tiles of the decode kernel,
     * with queries scaled up so that the running max changes between tiles and the rescaling matters.
     */
    @ParameterizedTest(name = "{0} {1} context={2} pool={3}")
    @MethodSource("longContextGrid")
    void pagedAttentionOverLongContexts(ElementType type, AttentionHeads heads, int context, int pool) {
        Random random = new Random(heads.hashCode() * 7L + context + type.ordinal());
        checkPagedAttention(random, type, heads, 16, new int[] {context}, 3, pool);
        checkPagedAttention(random, type, heads, 16, new int[] {context, context - 1}, 3, pool);
    }

    static Stream<Arguments> pagedGrid() {
        // + 6 query heads per KV head at head dim 64: the decode kernel's four-head value pass and two heads alone
        List<AttentionHeads> heads = new ArrayList<>(headConfigs());
        heads.add(new AttentionHeads(12, 2, 64));
        return grid(List.of(ElementType.values()), heads, List.of(16, 5), threadIndices());
    }

    /** Five sequences with context 0, 1, 17, 50 and 150 (several key tiles of the decode kernel). */
    @ParameterizedTest(name = "{0} {1} blockSize={2} pool={3}")
    @MethodSource("pagedGrid")
    void pagedAttention(ElementType type, AttentionHeads heads, int blockSize, int pool) {
        Random random = new Random(heads.hashCode() * 17L + blockSize + type.ordinal());
        checkPagedAttention(random, type, heads, blockSize, new int[] {0, 1, 17, 50, 150}, 1, pool);
    }

    /**
     * Paged attention of one query row per sequence (contexts {@code contextLens}, queries ~N(0, qScale^2)) over a
     * cache whose blocks are shuffled (non-contiguous; block 0 unused), against the reference. The output starts as
     * garbage: an empty sequence must be written as zeros, not left alone.
     */
    private static void checkPagedAttention(Random random, ElementType type, AttentionHeads heads, int blockSize,
            int[] contextLens, double qScale, int pool) {
        try (Arena arena = Arena.ofShared()) {
            int hd = heads.headDim();
            int seqs = contextLens.length;
            int needed = Arrays.stream(contextLens).map(c -> (c + blockSize - 1) / blockSize).sum();
            int numBlocks = needed + 3;
            List<Integer> free = new ArrayList<>(IntStream.range(1, numBlocks).boxed().toList());
            Collections.shuffle(free, random);
            int[][] tables = new int[seqs][];
            for (int s = 0; s < seqs; s++) {
                tables[s] = new int[(contextLens[s] + blockSize - 1) / blockSize];
                for (int b = 0; b < tables[s].length; b++) {
                    tables[s][b] = free.removeFirst();
                }
            }
            long cacheCount = (long) numBlocks * blockSize * heads.kvHeads() * hd;
            PagedKvCache cache = new PagedKvCache(gaussian(arena, random, cacheCount, 1, type),
                    gaussian(arena, random, cacheCount, 1, type), type, numBlocks, blockSize, heads.kvHeads(), hd);
            MemorySegment q = gaussian(arena, random, (long) seqs * heads.qHeads() * hd, qScale);
            long outCount = (long) seqs * heads.qHeads() * hd;
            MemorySegment want = zeros(arena, outCount);
            MemorySegment got = zeros(arena, outCount);
            got.fill((byte) 0x7f);
            float scale = (float) (1 / Math.sqrt(hd));
            REF.pagedAttention(q, seqs, cache, tables, contextLens, heads, scale, want);
            fast(pool).pagedAttention(q, seqs, cache, tables, contextLens, heads, scale, got);
            assertClose(want, got, outCount, TOL, "pagedAttention " + type + " " + heads + " contexts "
                    + Arrays.toString(contextLens));
        }
    }

    static Stream<Arguments> kvWriteGrid() {
        return grid(List.of(ElementType.values()), headConfigs(), List.of(1, 7, 16));
    }

    @ParameterizedTest(name = "{0} {1} tokens={2}")
    @MethodSource("kvWriteGrid")
    void kvWrite(ElementType type, AttentionHeads heads, int tokens) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(tokens * 13L + heads.hashCode() + type.ordinal());
            int blockSize = 4;
            int numBlocks = 8;
            long bytes = PagedKvCache.segmentBytes(numBlocks, blockSize, heads.kvHeads(), heads.headDim(), type);
            PagedKvCache want = new PagedKvCache(arena.allocate(bytes), arena.allocate(bytes), type, numBlocks,
                    blockSize, heads.kvHeads(), heads.headDim());
            PagedKvCache got = new PagedKvCache(arena.allocate(bytes), arena.allocate(bytes), type, numBlocks,
                    blockSize, heads.kvHeads(), heads.headDim());
            long width = (long) heads.kvHeads() * heads.headDim();
            MemorySegment k = gaussian(arena, random, tokens * width, 1);
            MemorySegment v = gaussian(arena, random, tokens * width, 1);
            int[] slots = new int[tokens];
            List<Integer> order = new ArrayList<>(IntStream.range(blockSize, numBlocks * blockSize).boxed().toList());
            Collections.shuffle(order, random);
            for (int t = 0; t < tokens; t++) {
                slots[t] = t % 5 == 3 ? -1 : order.get(t);
            }
            REF.kvWrite(k, v, tokens, slots, want);
            fast(0).kvWrite(k, v, tokens, slots, got);
            assertArrayEquals(want.keys().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    got.keys().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), "keys");
            assertArrayEquals(want.values().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    got.values().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), "values");
        }
    }
}
