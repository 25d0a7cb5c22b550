package dev.tokc.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokc.ir.DType;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.interp.QuantizedKv;
import dev.tokc.runtime.kernels.quant.KvQuantFormat;
import dev.tokc.runtime.kernels.quant.QuantKv;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The runtime's quantized KV vectors ({@link QuantKv}) read back what the compiler's meaning of a quantized cache
 * ({@link QuantizedKv}, used by the reference interpreter) says, for every format and some head dims, including
 * vectors with outliers and constant vectors; and both agree on the bytes a vector takes.
 */
class QuantKvCrossCheckTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void runtimeVectorsDequantizeToTheIrMeaning() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (KvQuantFormat f : KvQuantFormat.values()) {
            DType d = DType.byName(f.dtype());
            for (int hd : new int[] {1, 5, 32, 64, 128}) {
                assertEquals(KvCacheSpec.vectorBytes(d, hd), f.vectorBytes(hd), f + " " + hd);
                for (int trial = 0; trial < 20; trial++) {
                    double[] x = new double[hd];
                    for (int i = 0; i < hd; i++) {
                        x[i] = (float) (trial == 0 ? 1.5 : rnd.nextGaussian() * (trial % 3 == 0 && i == 0 ? 40 : 1));
                    }
                    double[] want = new double[hd];
                    QuantizedKv.roundTrip(d, x, 0, hd, want, 0);
                    float[] got = new float[hd];
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment src = a.allocate(4L * hd);
                        for (int i = 0; i < hd; i++) {
                            src.setAtIndex(F32, i, (float) x[i]);
                        }
                        MemorySegment v = a.allocate(f.vectorBytes(hd));
                        QuantKv.quantize(f, src, 0, hd, v, 0);
                        QuantKv.dequantize(f, v, 0, hd, got, 0);
                    }
                    double absmax = 0;
                    for (double xi : x) {
                        absmax = Math.max(absmax, Math.abs(xi));
                    }
                    for (int i = 0; i < hd; i++) {
                        assertEquals(want[i], got[i], 1e-6 * absmax, f + " hd " + hd + " trial " + trial + " element " + i);
                    }
                }
            }
        }
    }
}
