package dev.tokc.runtime.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.runtime.kernels.AttentionHeads;
import dev.tokc.runtime.kernels.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Quantized KV cache (issue 7): per-vector round-trip error bounds of each format, and the Vector API paged attention
 * against the reference (dequantize, then float64 softmax attention) over a grid of formats, head dims (odd ones take
 * the scalar paths), GQA groups, block sizes and ragged context lengths.
 */
class QuantKvTest {
    private static final WorkerPool POOL = new WorkerPool(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void roundTripErrorIsBoundedByTheFormatsStep() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (KvQuantFormat f : KvQuantFormat.values()) {
            for (int hd : new int[] {1, 7, 32, 64}) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment src = a.allocate(4L * hd);
                    float[] x = new float[hd];
                    double min = Double.MAX_VALUE;
                    double max = -Double.MAX_VALUE;
                    for (int i = 0; i < hd; i++) {
                        x[i] = (float) (rnd.nextGaussian() * 3);
                        src.setAtIndex(QuantKv.F32, i, x[i]);
                        min = Math.min(min, x[i]);
                        max = Math.max(max, x[i]);
                    }
                    MemorySegment dst = a.allocate(f.vectorBytes(hd));
                    QuantKv.quantize(f, src, 0, hd, dst, 0);
                    float[] back = new float[hd];
                    QuantKv.dequantize(f, dst, 0, hd, back, 0);
                    double absmax = Math.max(Math.abs(min), Math.abs(max));
                    for (int i = 0; i < hd; i++) {
                        double err = Math.abs(back[i] - x[i]);
                        double bound = switch (f) {
                            case INT8 -> absmax / 127 / 2 * 1.001;
                            case INT4 -> (max - min) / 15 / 2 * 1.001 + 1e-6;
                            case FP8 -> Math.abs(x[i]) / 16 * 1.001 + absmax / 448 * Math.pow(2, -9) * 448;
                        };
                        assertTrue(err <= bound, f + " hd " + hd + " element " + i + ": " + x[i] + " -> " + back[i]);
                    }
                }
            }
        }
    }

    @Test
    void zeroVectorsAndPaddingSlots() {
        try (Arena a = Arena.ofConfined()) {
            for (KvQuantFormat f : KvQuantFormat.values()) {
                QuantKvCache c = cache(a, f, 4, 4, 2, 8);
                MemorySegment k = a.allocate(4L * 2 * 2 * 8);
                QuantKv.write(c, k, k, 2, new int[] {-1, 5});
                float[] out = new float[8];
                QuantKv.dequantize(f, c.keys(), c.offset(5, 1), 8, out, 0);
                for (float v : out) {
                    assertEquals(0f, v, f.toString());
                }
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> vectorAttentionMatchesTheReference() {
        List<DynamicTest> tests = new ArrayList<>();
        for (KvQuantFormat f : KvQuantFormat.values()) {
            // the last two: contexts of 98 and 122 positions, more than one key tile of the kernel's online softmax;
            // 4 query heads per KV head at head dim 64, the kernel's four-head value pass
            for (int[] g : new int[][] {{32, 6, 2, 16}, {64, 4, 4, 8}, {7, 3, 1, 3}, {16, 8, 2, 5}, {64, 8, 2, 32},
                    {32, 6, 2, 40}}) {
                tests.add(DynamicTest.dynamicTest(f + " headDim " + g[0] + " heads " + g[1] + "/" + g[2] + " block " + g[3],
                        () -> compare(f, g[0], g[1], g[2], g[3])));
            }
        }
        return tests.stream();
    }

    private static void compare(KvQuantFormat f, int hd, int qHeads, int kvHeads, int bs) {
        SplittableRandom rnd = new SplittableRandom(hd * 31L + qHeads);
        int blocks = 40;
        try (Arena a = Arena.ofShared()) {
            QuantKvCache c = cache(a, f, blocks, bs, kvHeads, hd);
            // Two sequences with interleaved (shuffled) blocks; rows: a decode of each plus a 3-token chunk of the first.
            int lenA = 3 * bs + 2;
            int lenB = 17;
            int[] tableA = new int[Math.ceilDiv(lenA, bs)];
            int[] tableB = new int[Math.ceilDiv(lenB, bs)];
            int next = blocks - 1;
            for (int i = 0; i < Math.max(tableA.length, tableB.length); i++) {
                if (i < tableA.length) {
                    tableA[i] = next--;
                }
                if (i < tableB.length) {
                    tableB[i] = next--;
                }
            }
            fill(c, tableA, lenA, rnd);
            fill(c, tableB, lenB, rnd);
            int[][] tables = {tableA, tableB, tableA, tableA, tableA};
            int[] lens = {lenA, lenB, lenA - 2, lenA - 1, lenA};
            int rows = tables.length;
            MemorySegment q = a.allocate(4L * rows * qHeads * hd);
            for (long i = 0; i < (long) rows * qHeads * hd; i++) {
                q.setAtIndex(QuantKv.F32, i, (float) rnd.nextGaussian());
            }
            MemorySegment expected = a.allocate(q.byteSize());
            MemorySegment actual = a.allocate(q.byteSize());
            AttentionHeads heads = new AttentionHeads(qHeads, kvHeads, hd);
            new ReferenceQuantKernels().pagedAttention(q, rows, c, tables, lens, heads, 0.3f, expected);
            new VectorQuantKernels(POOL).pagedAttention(q, rows, c, tables, lens, heads, 0.3f, actual);
            for (long i = 0; i < (long) rows * qHeads * hd; i++) {
                float e = expected.getAtIndex(QuantKv.F32, i);
                float g = actual.getAtIndex(QuantKv.F32, i);
                assertTrue(Math.abs(e - g) <= 1e-5 * Math.max(1, Math.abs(e)), f + " element " + i + ": " + g + " vs " + e);
            }
        }
    }

    private static QuantKvCache cache(Arena a, KvQuantFormat f, int blocks, int bs, int kvHeads, int hd) {
        long bytes = QuantKvCache.segmentBytes(blocks, bs, kvHeads, hd, f);
        return new QuantKvCache(a.allocate(bytes), a.allocate(bytes), f, blocks, bs, kvHeads, hd);
    }

    /** Writes {@code len} random tokens of keys and values through the sequence's block table. */
    private static void fill(QuantKvCache c, int[] table, int len, SplittableRandom rnd) {
        int width = c.kvHeads() * c.headDim();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocate(4L * len * width);
            MemorySegment v = a.allocate(4L * len * width);
            for (long i = 0; i < (long) len * width; i++) {
                k.setAtIndex(QuantKv.F32, i, (float) (rnd.nextGaussian() * 2));
                v.setAtIndex(QuantKv.F32, i, (float) rnd.nextGaussian());
            }
            int[] slots = new int[len];
            for (int t = 0; t < len; t++) {
                slots[t] = table[t / c.blockSize()] * c.blockSize() + t % c.blockSize();
            }
            QuantKv.write(c, k, v, len, slots);
        }
    }
}
