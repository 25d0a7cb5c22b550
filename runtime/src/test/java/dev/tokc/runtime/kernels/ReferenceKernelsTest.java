package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

/** The reference checked by hand on values small enough to compute on paper, or known to many digits. */
class ReferenceKernelsTest {
    final ReferenceKernels ref = new ReferenceKernels();

    @Test
    void erfMatchesTabulatedValues() {
        // Abramowitz & Stegun table 7.1 / any CAS, to 15 digits.
        assertEquals(0.0, ReferenceKernels.erf(0), 0);
        assertEquals(0.520499877813047, ReferenceKernels.erf(0.5), 1e-15);
        assertEquals(0.842700792949715, ReferenceKernels.erf(1), 1e-15);
        assertEquals(0.995322265018953, ReferenceKernels.erf(2), 1e-15);
        assertEquals(0.999593047982555, ReferenceKernels.erf(2.5), 1e-15);
        assertEquals(1 - 2.209049699858544e-05, ReferenceKernels.erf(3), 1e-15);
        assertEquals(-0.842700792949715, ReferenceKernels.erf(-1), 1e-15);
        assertEquals(1.0, ReferenceKernels.erf(10), 0);
    }

    private static MemorySegment of(Arena arena, float... values) {
        MemorySegment s = arena.allocate(4L * Math.max(1, values.length));
        MemorySegment.copy(values, 0, s, Elements.F32, 0, values.length);
        return s;
    }

    private static float[] floats(MemorySegment s, int n) {
        float[] out = new float[n];
        MemorySegment.copy(s, Elements.F32, 0, out, 0, n);
        return out;
    }

    @Test
    void gemmOnPaper() {
        try (Arena arena = Arena.ofShared()) {
            // x = [[1, 2], [3, 4]], W = [[1, 0], [0, 1], [1, 1]] (3 outputs), bias = [10, 20, 30]
            MemorySegment x = of(arena, 1, 2, 3, 4);
            WeightMatrix w = new WeightMatrix(of(arena, 1, 0, 0, 1, 1, 1), ElementType.F32, 3, 2);
            MemorySegment y = arena.allocate(4 * 6);
            ref.gemm(x, 2, w, of(arena, 10, 20, 30), y);
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {11, 22, 33, 13, 24, 37}, floats(y, 6));
        }
    }

    @Test
    void attentionWithOneKeyReturnsItsValue() {
        try (Arena arena = Arena.ofShared()) {
            AttentionHeads heads = new AttentionHeads(2, 1, 2);
            MemorySegment q = of(arena, 1, 2, -3, 4);
            MemorySegment k = of(arena, 5, 6);
            MemorySegment v = of(arena, 7, 8);
            MemorySegment out = arena.allocate(16);
            ref.flashAttention(q, 1, k, v, 1, heads, 0.5f, out);
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {7, 8, 7, 8}, floats(out, 4));
        }
    }

    @Test
    void causalMaskHidesLaterKeys() {
        try (Arena arena = Arena.ofShared()) {
            AttentionHeads heads = new AttentionHeads(1, 1, 1);
            // Two queries over two keys with equal scores: the first sees only v0, the second averages v0 and v1.
            MemorySegment q = of(arena, 0, 0);
            MemorySegment k = of(arena, 1, 1);
            MemorySegment v = of(arena, 2, 6);
            MemorySegment out = arena.allocate(8);
            ref.flashAttention(q, 2, k, v, 2, heads, 1, out);
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {2, 4}, floats(out, 2));
        }
    }

    @Test
    void ropeRotatesPairs() {
        try (Arena arena = Arena.ofShared()) {
            // One pair, angle = position 1 * pi/2: (a, b) -> (-b, a).
            MemorySegment x = of(arena, 3, 5);
            ref.rope(x, 1, 1, 2, new int[] {1}, new float[] {(float) (Math.PI / 2)}, RopeLayout.NEOX);
            float[] r = floats(x, 2);
            assertEquals(-5, r[0], 1e-6);
            assertEquals(3, r[1], 1e-6);
        }
    }

    @Test
    void softmaxRowsSumToOne() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = of(arena, 1000, 1000, 0, Float.NEGATIVE_INFINITY);
            ref.softmax(x, 1, 4, x);
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.5f, 0.5f, 0, 0}, floats(x, 4));
        }
    }
}
