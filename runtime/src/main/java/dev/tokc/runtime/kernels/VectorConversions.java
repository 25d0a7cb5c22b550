package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised bf16/f16 &lt;-&gt; f32 conversions with integer bit operations (JDK 25's Vector API has no half-float
 * lane type or conversion, only the scalar {@link Float#float16ToFloat}). The scalar definitions they reproduce bit
 * for bit are in {@link Elements}; the differential test runs every 16-bit pattern through both.
 *
 * <p>One float vector of {@code L} lanes is filled from {@code L} 16-bit values: a half-width {@link ShortVector}
 * load widened to int lanes ({@code S2I} sign-extends, which the masks below make harmless).
 */
final class VectorConversions {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(FS.vectorBitSize() / 2));
    static final int L = FS.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private VectorConversions() {
    }

    /** L raw 16-bit values at {@code byteOffset}, widened to int lanes. */
    static IntVector load16(MemorySegment src, long byteOffset) {
        ShortVector s = ShortVector.fromMemorySegment(SS, src, byteOffset, LE);
        return (IntVector) s.convertShape(VectorOperators.S2I, IS, 0);
    }

    static FloatVector bf16ToFloat(IntVector h) {
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * binary16 -> binary32 for the low 16 bits of each int lane (higher bits are ignored). Shifting the magnitude
     * bits {@code em} into float position ({@code em << 13}) and multiplying by 2^112 re-biases the exponent (15 ->
     * 127) of normal numbers and, since the shifted pattern of an f16 subnormal is an f32 subnormal with the same
     * significand, turns subnormals into exact normal floats too. Infinity and NaN (exponent all ones) keep their
     * significand under an all-ones f32 exponent. This is 4x faster than selecting among three cases with an
     * int-to-float conversion (measured, 10 vs 0.8 elements/ns).
     */
    static FloatVector f16ToFloat(IntVector h) {
        // Sign and magnitude move together (bit 15 -> 31, bits 0..14 -> 13..27); the multiply keeps the sign.
        IntVector t = h.and(0x8000).lanewise(VectorOperators.LSHL, 16)
                .or(h.and(0x7fff).lanewise(VectorOperators.LSHL, 13));
        FloatVector finite = t.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = h.and(0x7c00).eq(0x7c00);
        if (special.anyTrue()) {
            // Infinity/NaN: rare in weights and activations, so kept off the straight-line path (fewer vector
            // nodes per call: a kernel that inlines eight of these stays within C2's inlining budget).
            return finite.blend(t.or(0x7f80_0000).reinterpretAsFloats(), special.cast(FS));
        }
        return finite;
    }

    // ---- split order ---------------------------------------------------------------------------------------
    // The GEMM never needs 16-bit weights in their natural order: a dot product is the same sum in any order, as
    // long as the activations are permuted alike. "Split order" stores each block of 2L elements as its L even
    // elements followed by its L odd elements, which is what one int-vector load of 2L 16-bit values yields with
    // a shift and a mask (no cross-lane shuffle, no widening). Elements past the last full block keep their place.

    /** Converts {@code count} 16-bit elements to f32 in split order. */
    static void toF32Split(MemorySegment src, long srcByte, ElementType type, MemorySegment dst, long dstByte, long count) {
        long block = 2L * L;
        long upper = count - count % block;
        long i = 0;
        if (type == ElementType.BF16) {
            for (; i < upper; i += block) {
                IntVector v = IntVector.fromMemorySegment(IS, src, srcByte + 2 * i, LE);
                v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, dstByte + 4 * i, LE);
                v.and(0xffff_0000).reinterpretAsFloats().intoMemorySegment(dst, dstByte + 4 * (i + L), LE);
            }
        } else if (type == ElementType.F16) {
            for (; i < upper; i += block) {
                IntVector v = IntVector.fromMemorySegment(IS, src, srcByte + 2 * i, LE);
                f16ToFloat(v).intoMemorySegment(dst, dstByte + 4 * i, LE);
                f16ToFloat(v.lanewise(VectorOperators.LSHR, 16)).intoMemorySegment(dst, dstByte + 4 * (i + L), LE);
            }
        } else {
            throw new IllegalArgumentException("split order is for 16-bit types, not " + type);
        }
        toF32(src, srcByte + 2 * i, type, dst, dstByte + 4 * i, count - i);
    }

    /**
     * Widens 4 rows of {@code count} 16-bit elements (row r at {@code srcByte + r * srcRowBytes}) to f32 in split
     * order (row r at {@code dstByte + r * dstRowBytes}), reading the four rows side by side: four DRAM streams in
     * flight instead of one, which measured ~2x faster than widening the rows one after another. f16 goes two rows
     * at a time so the loop body stays within C2's inlining budget.
     */
    static void toF32Split4(MemorySegment src, long srcByte, long srcRowBytes, ElementType type,
                            MemorySegment dst, long dstByte, long dstRowBytes, int count) {
        int block = 2 * L;
        int upper = count - count % block;
        if (type == ElementType.BF16) {
            for (int i = 0; i < upper; i += block) {
                long so = srcByte + 2L * i;
                long d = dstByte + 4L * i;
                IntVector v0 = IntVector.fromMemorySegment(IS, src, so, LE);
                IntVector v1 = IntVector.fromMemorySegment(IS, src, so + srcRowBytes, LE);
                IntVector v2 = IntVector.fromMemorySegment(IS, src, so + 2 * srcRowBytes, LE);
                IntVector v3 = IntVector.fromMemorySegment(IS, src, so + 3 * srcRowBytes, LE);
                v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, d, LE);
                v0.and(0xffff_0000).reinterpretAsFloats().intoMemorySegment(dst, d + 4L * L, LE);
                v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, d + dstRowBytes, LE);
                v1.and(0xffff_0000).reinterpretAsFloats().intoMemorySegment(dst, d + dstRowBytes + 4L * L, LE);
                v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, d + 2 * dstRowBytes, LE);
                v2.and(0xffff_0000).reinterpretAsFloats().intoMemorySegment(dst, d + 2 * dstRowBytes + 4L * L, LE);
                v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, d + 3 * dstRowBytes, LE);
                v3.and(0xffff_0000).reinterpretAsFloats().intoMemorySegment(dst, d + 3 * dstRowBytes + 4L * L, LE);
            }
        } else if (type == ElementType.F16) {
            for (int pair = 0; pair < 4; pair += 2) {
                long sp = srcByte + pair * srcRowBytes;
                long dp = dstByte + pair * dstRowBytes;
                for (int i = 0; i < upper; i += block) {
                    long so = sp + 2L * i;
                    long d = dp + 4L * i;
                    IntVector v0 = IntVector.fromMemorySegment(IS, src, so, LE);
                    IntVector v1 = IntVector.fromMemorySegment(IS, src, so + srcRowBytes, LE);
                    f16ToFloat(v0).intoMemorySegment(dst, d, LE);
                    f16ToFloat(v0.lanewise(VectorOperators.LSHR, 16)).intoMemorySegment(dst, d + 4L * L, LE);
                    f16ToFloat(v1).intoMemorySegment(dst, d + dstRowBytes, LE);
                    f16ToFloat(v1.lanewise(VectorOperators.LSHR, 16)).intoMemorySegment(dst, d + dstRowBytes + 4L * L, LE);
                }
            }
        } else {
            throw new IllegalArgumentException("split order is for 16-bit types, not " + type);
        }
        for (int r = 0; r < 4; r++) {
            toF32(src, srcByte + r * srcRowBytes + 2L * upper, type, dst, dstByte + r * dstRowBytes + 4L * upper, count - upper);
        }
    }

    /** Copies {@code count} f32 values into split order (the activation side of a split-order dot product). */
    static void permuteSplit(MemorySegment src, long srcByte, MemorySegment dst, long dstByte, int count) {
        int block = 2 * L;
        int upper = count - count % block;
        for (int b = 0; b < upper; b += block) {
            for (int i = 0; i < L; i++) {
                dst.set(Elements.F32, dstByte + 4L * (b + i), src.get(Elements.F32, srcByte + 4L * (b + 2 * i)));
                dst.set(Elements.F32, dstByte + 4L * (b + L + i), src.get(Elements.F32, srcByte + 4L * (b + 2 * i + 1)));
            }
        }
        MemorySegment.copy(src, srcByte + 4L * upper, dst, dstByte + 4L * upper, 4L * (count - upper));
    }

    /** f32 -> bf16 bits in int lanes; see {@link Elements#floatToBf16}. */
    static IntVector floatToBf16(FloatVector f) {
        IntVector bits = f.reinterpretAsInts();
        IntVector upper = bits.lanewise(VectorOperators.LSHR, 16);
        IntVector rounded = bits.add(0x7fff).add(upper.and(1)).lanewise(VectorOperators.LSHR, 16);
        IntVector nan = upper.and(0x8000).or(0x7fc0);
        VectorMask<Integer> isNan = f.test(VectorOperators.IS_NAN).cast(IS);
        return rounded.blend(nan, isNan);
    }

    /**
     * f32 -> binary16 bits in int lanes, round to nearest even, matching {@link Float#floatToFloat16}:
     * <ul>
     *   <li>normal range: re-bias the exponent and add {@code 0xfff + lsb} before dropping 13 bits (ties to even;
     *       a carry out of the significand correctly bumps the exponent, up to infinity);</li>
     *   <li>below 2^-14: adding 0.5f makes the FPU round the value to a multiple of 2^-24 (the f16 subnormal
     *       step), and the low bits of the sum are the f16 significand;</li>
     *   <li>from 65536 up: infinity; NaN: the JDK's payload-folding rule.</li>
     * </ul>
     */
    static IntVector floatToF16(FloatVector f) {
        IntVector bits = f.reinterpretAsInts();
        IntVector sign = bits.lanewise(VectorOperators.LSHR, 16).and(0x8000);
        IntVector a = bits.and(0x7fff_ffff);
        IntVector normal = a.add(0xc800_0fff).add(a.lanewise(VectorOperators.LSHR, 13).and(1))
                .lanewise(VectorOperators.LSHR, 13);
        IntVector subnormal = a.reinterpretAsFloats().add(0.5f).reinterpretAsInts().sub(0x3f00_0000);
        IntVector nan = a.and(0x007f_e000).lanewise(VectorOperators.LSHR, 13)
                .or(a.and(0x0000_1ff0).lanewise(VectorOperators.LSHR, 4))
                .or(a.and(0xf))
                .or(0x7c00);
        IntVector h = normal.blend(subnormal, a.lt(0x3880_0000))
                .blend(IntVector.broadcast(IS, 0x7c00), a.compare(VectorOperators.GE, 0x4780_0000))
                .blend(nan, a.compare(VectorOperators.GT, 0x7f80_0000));
        return h.or(sign);
    }

    /** Stores the low 16 bits of each int lane. */
    static void store16(IntVector h, MemorySegment dst, long byteOffset) {
        ((ShortVector) h.convertShape(VectorOperators.I2S, SS, 0)).intoMemorySegment(dst, byteOffset, LE);
    }

    /** Converts {@code count} elements of {@code type} at {@code src[srcByte..]} to f32 at {@code dst[dstByte..]}. */
    static void toF32(MemorySegment src, long srcByte, ElementType type, MemorySegment dst, long dstByte, long count) {
        long upper = count - count % L;
        long i = 0;
        switch (type) {
            case F32 -> {
                MemorySegment.copy(src, srcByte, dst, dstByte, count * 4);
                return;
            }
            case BF16 -> {
                for (; i < upper; i += L) {
                    bf16ToFloat(load16(src, srcByte + 2 * i)).intoMemorySegment(dst, dstByte + 4 * i, LE);
                }
            }
            case F16 -> {
                for (; i < upper; i += L) {
                    f16ToFloat(load16(src, srcByte + 2 * i)).intoMemorySegment(dst, dstByte + 4 * i, LE);
                }
            }
        }
        for (; i < count; i++) {
            float v = type == ElementType.BF16
                    ? Elements.bf16ToFloat(src.get(Elements.U16, srcByte + 2 * i))
                    : Float.float16ToFloat(src.get(Elements.U16, srcByte + 2 * i));
            dst.set(Elements.F32, dstByte + 4 * i, v);
        }
    }

    /** Same as {@link #toF32(MemorySegment, long, ElementType, MemorySegment, long, long)} into a float array. */
    static void toF32(MemorySegment src, long srcByte, ElementType type, float[] dst, int dstIndex, int count) {
        int upper = count - count % L;
        int i = 0;
        switch (type) {
            case F32 -> {
                MemorySegment.copy(src, Elements.F32, srcByte, dst, dstIndex, count);
                return;
            }
            case BF16 -> {
                for (; i < upper; i += L) {
                    bf16ToFloat(load16(src, srcByte + 2L * i)).intoArray(dst, dstIndex + i);
                }
            }
            case F16 -> {
                for (; i < upper; i += L) {
                    f16ToFloat(load16(src, srcByte + 2L * i)).intoArray(dst, dstIndex + i);
                }
            }
        }
        for (; i < count; i++) {
            short h = src.get(Elements.U16, srcByte + 2L * i);
            dst[dstIndex + i] = type == ElementType.BF16 ? Elements.bf16ToFloat(h) : Float.float16ToFloat(h);
        }
    }

    /** Converts {@code count} f32 values at {@code src[srcByte..]} to {@code type} at {@code dst[dstByte..]}. */
    static void fromF32(MemorySegment src, long srcByte, MemorySegment dst, long dstByte, ElementType type, long count) {
        long upper = count - count % L;
        long i = 0;
        switch (type) {
            case F32 -> {
                MemorySegment.copy(src, srcByte, dst, dstByte, count * 4);
                return;
            }
            case BF16 -> {
                for (; i < upper; i += L) {
                    store16(floatToBf16(FloatVector.fromMemorySegment(FS, src, srcByte + 4 * i, LE)), dst, dstByte + 2 * i);
                }
            }
            case F16 -> {
                for (; i < upper; i += L) {
                    store16(floatToF16(FloatVector.fromMemorySegment(FS, src, srcByte + 4 * i, LE)), dst, dstByte + 2 * i);
                }
            }
        }
        for (; i < count; i++) {
            float v = src.get(Elements.F32, srcByte + 4 * i);
            short h = type == ElementType.BF16 ? Elements.floatToBf16(v) : Float.floatToFloat16(v);
            dst.set(Elements.U16, dstByte + 2 * i, h);
        }
    }
}
