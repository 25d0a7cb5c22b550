package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.LongStream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The vector conversions against their scalar definitions: every one of the 65536 16-bit patterns one way, and in
 * the other every f16 value, its float neighbours, every midpoint between consecutive f16 values (where
 * round-to-nearest-even decides), specials and a million random bit patterns. Bit-exact except that NaNs only have
 * to stay NaNs (the JIT's {@code vcvtph2ps}/{@code vcvtps2ph} intrinsics quieten signalling NaNs).
 */
class ConversionsTest {
    static final Kernels[] IMPLEMENTATIONS = {new ReferenceKernels(), new VectorKernels(new WorkerPool(1))};

    @ParameterizedTest
    @EnumSource(value = ElementType.class, names = {"BF16", "F16"})
    void widensEveryBitPattern(ElementType type) {
        int count = 65536 + 5; // + a tail that is no multiple of the vector length
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(2L * count);
            for (int i = 0; i < count; i++) {
                src.setAtIndex(Elements.U16, i, (short) i);
            }
            for (Kernels kernels : IMPLEMENTATIONS) {
                MemorySegment dst = arena.allocate(4L * count);
                kernels.toF32(src, type, dst, count);
                for (int i = 0; i < count; i++) {
                    short h = (short) i;
                    float want = type == ElementType.BF16 ? Elements.bf16ToFloat(h) : Float.float16ToFloat(h);
                    float got = dst.getAtIndex(Elements.F32, i);
                    if (Float.isNaN(want)) {
                        assertTrue(Float.isNaN(got), () -> "NaN pattern " + Integer.toHexString(h & 0xffff));
                    } else if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got)) {
                        fail(kernels.getClass().getSimpleName() + " " + type + " 0x" + Integer.toHexString(h & 0xffff)
                                + ": want " + want + " got " + got);
                    }
                }
            }
        }
    }

    static float[] narrowingInputs() {
        LongStream.Builder bits = LongStream.builder();
        for (int h = 0; h < 65536; h++) {
            float f = Float.float16ToFloat((short) h);
            if (Float.isNaN(f)) {
                continue;
            }
            int b = Float.floatToRawIntBits(f);
            for (int d = -2; d <= 2; d++) {
                bits.add(b + d);
            }
            float next = Float.float16ToFloat((short) (h + 1));
            if (!Float.isNaN(next) && Float.isFinite(next) && Float.isFinite(f) && (h & 0x7fff) != 0x7fff) {
                float mid = (float) (((double) f + next) / 2); // exact: 12 significant bits
                bits.add(Float.floatToRawIntBits(mid));
                bits.add(Float.floatToRawIntBits(Math.nextUp(mid)));
                bits.add(Float.floatToRawIntBits(Math.nextDown(mid)));
            }
        }
        // bf16 midpoints and their neighbours, across all exponents.
        for (int u = 0; u < 65536; u++) {
            int b = (u << 16) | 0x8000;
            bits.add(b).add(b + 1).add(b - 1).add(b + 0x10000);
        }
        float[] specials = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 65504f, 65519.99f,
                65520f, 65536f, 1e-8f, 5.96e-8f, 2.98e-8f, 2.9802326e-8f, 6.1035156e-5f};
        for (float s : specials) {
            bits.add(Float.floatToRawIntBits(s));
        }
        bits.add(0x7f80_0001L).add(0xffc0_1234L).add(0x7fbf_ffffL);
        Random random = new Random(42);
        for (int i = 0; i < 1_000_000; i++) {
            bits.add(random.nextInt());
        }
        return LongStream.of(bits.build().toArray()).collect(() -> new FloatArray(), (a, b) -> a.add(Float.intBitsToFloat((int) b)), FloatArray::addAll).toArray();
    }

    /** A growable float list, to avoid boxing a few million floats. */
    static final class FloatArray {
        float[] data = new float[1024];
        int size;

        void add(float f) {
            if (size == data.length) {
                data = java.util.Arrays.copyOf(data, size * 2);
            }
            data[size++] = f;
        }

        void addAll(FloatArray other) {
            for (int i = 0; i < other.size; i++) {
                add(other.data[i]);
            }
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ElementType.class, names = {"BF16", "F16"})
    void narrowsLikeTheScalarDefinition(ElementType type) {
        float[] inputs = narrowingInputs();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(4L * inputs.length);
            MemorySegment.copy(inputs, 0, src, Elements.F32, 0, inputs.length);
            for (Kernels kernels : IMPLEMENTATIONS) {
                MemorySegment dst = arena.allocate(2L * inputs.length);
                kernels.fromF32(src, dst, type, inputs.length);
                int mismatches = 0;
                String first = null;
                for (int i = 0; i < inputs.length; i++) {
                    float f = inputs[i];
                    short want = type == ElementType.BF16 ? Elements.floatToBf16(f) : Float.floatToFloat16(f);
                    short got = dst.getAtIndex(Elements.U16, i);
                    boolean ok = Float.isNaN(f)
                            ? Float.isNaN(type == ElementType.BF16 ? Elements.bf16ToFloat(got) : Float.float16ToFloat(got))
                            : want == got;
                    if (!ok && mismatches++ == 0) {
                        first = String.format("%s %s: %s (0x%08x) -> want 0x%04x got 0x%04x",
                                kernels.getClass().getSimpleName(), type, f, Float.floatToRawIntBits(f), want & 0xffff, got & 0xffff);
                    }
                }
                assertEquals(0, mismatches, first);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(ElementType.class)
    void roundTripsRepresentableValues(ElementType type) {
        try (Arena arena = Arena.ofShared()) {
            Random random = new Random(7);
            int count = 1003;
            MemorySegment stored = TestData.gaussian(arena, random, count, 100, type);
            MemorySegment wide = arena.allocate(4L * count);
            MemorySegment back = arena.allocate((long) type.byteSize() * count);
            Kernels kernels = IMPLEMENTATIONS[1];
            kernels.toF32(stored, type, wide, count);
            kernels.fromF32(wide, back, type, count);
            assertEquals(-1, stored.asSlice(0, back.byteSize()).mismatch(back));
        }
    }
}
