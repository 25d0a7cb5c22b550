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
     * binary16 -> binary32 by cases on the magnitude bits {@code em}: normal numbers re-bias the exponent
     * ({@code (em << 13) + (112 << 23)}), subnormals are {@code em * 2^-24} computed exactly in float (em < 1024),
     * and infinity/NaN keep their significand under an all-ones exponent.
     */
    static FloatVector f16ToFloat(IntVector h) {
        IntVector em = h.and(0x7fff);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector shifted = em.lanewise(VectorOperators.LSHL, 13);
        IntVector normal = shifted.add(0x3800_0000);
        IntVector subnormal = ((FloatVector) em.convert(VectorOperators.I2F, 0)).mul(0x1p-24f).reinterpretAsInts();
        IntVector special = shifted.or(0x7f80_0000);
        IntVector bits = normal.blend(subnormal, em.lt(0x400)).blend(special, em.compare(VectorOperators.GE, 0x7c00));
        return bits.or(sign).reinterpretAsFloats();
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
