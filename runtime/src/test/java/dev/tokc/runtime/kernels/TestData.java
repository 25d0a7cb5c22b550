package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random tensors and the tolerance check shared by the kernel tests. */
final class TestData {
    private TestData() {
    }

    /** {@code count} f32 values drawn from N(0, sigma^2). */
    static MemorySegment gaussian(Arena arena, Random random, long count, double sigma) {
        MemorySegment s = arena.allocate(Math.max(4, 4 * count), 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(Elements.F32, i, (float) (random.nextGaussian() * sigma));
        }
        return s;
    }

    /** {@code count} values of {@code type} from N(0, sigma^2), rounded to the type (raw 16-bit storage). */
    static MemorySegment gaussian(Arena arena, Random random, long count, double sigma, ElementType type) {
        MemorySegment s = arena.allocate(Math.max(4, count * type.byteSize()), 64);
        for (long i = 0; i < count; i++) {
            Elements.write(s, type, i, (float) (random.nextGaussian() * sigma));
        }
        return s;
    }

    static MemorySegment zeros(Arena arena, long count) {
        return arena.allocate(Math.max(4, 4 * count), 64);
    }

    static MemorySegment copy(Arena arena, MemorySegment s) {
        MemorySegment c = arena.allocate(s.byteSize(), 64);
        c.copyFrom(s);
        return c;
    }

    /**
     * Asserts {@code max |got - want| <= tol * max |want|}: errors measured against the tensor's scale, since a
     * sum's absolute error follows the magnitude of its terms, not of the (possibly cancelled) result.
     */
    static void assertClose(MemorySegment want, MemorySegment got, long count, double tol, String what) {
        double maxAbs = 0;
        double maxErr = 0;
        long worst = -1;
        for (long i = 0; i < count; i++) {
            float w = want.getAtIndex(Elements.F32, i);
            float g = got.getAtIndex(Elements.F32, i);
            long at = i;
            if (!Float.isFinite(w)) {
                // Infinities must match exactly, NaN only as NaN.
                assertTrue(w == g || (Float.isNaN(w) && Float.isNaN(g)), () -> what + ": reference " + w + " got " + g + " at " + at);
                continue;
            }
            assertTrue(Float.isFinite(g), () -> what + ": non-finite " + g + " where reference has " + w + " at " + at);
            maxAbs = Math.max(maxAbs, Math.abs(w));
            double err = Math.abs((double) w - g);
            if (err > maxErr) {
                maxErr = err;
                worst = i;
            }
        }
        double scale = Math.max(maxAbs, Float.MIN_NORMAL);
        double rel = maxErr / scale;
        long at = worst;
        assertTrue(rel <= tol, () -> String.format("%s: max error %.3g relative to max |ref| %.3g = %.3g > %.1g at %d (ref %s, got %s)",
                what, maxErr(want, got, at), scale, rel, tol, at,
                at < 0 ? "-" : want.getAtIndex(Elements.F32, at), at < 0 ? "-" : got.getAtIndex(Elements.F32, at)));
    }

    private static double maxErr(MemorySegment want, MemorySegment got, long at) {
        return at < 0 ? 0 : Math.abs((double) want.getAtIndex(Elements.F32, at) - got.getAtIndex(Elements.F32, at));
    }
}
