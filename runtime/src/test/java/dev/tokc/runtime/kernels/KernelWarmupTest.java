package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import dev.tokc.runtime.kernels.quant.QuantType;
import dev.tokc.runtime.kernels.quant.QuantizedMatrix;
import dev.tokc.runtime.kernels.quant.Quantizer;
import dev.tokc.runtime.kernels.quant.VectorQuantKernels;
import org.junit.jupiter.api.Test;

class KernelWarmupTest {

    /** Every vectorized format runs its warm-up calls over a sample of whole packed rows; a short sample is skipped. */
    @Test
    void quantizedWarmUpRunsOnWholeRowsAndSkipsShortSamples() {
        int cols = 256;
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(2)) {
            VectorQuantKernels kernels = new VectorQuantKernels(pool);
            Random random = new Random(1);
            for (String name : new String[] {"int8", "fp8", "int4g32", "nf4g64"}) {
                QuantType t = QuantType.parse(name);
                float[] w = new float[64 * cols];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) random.nextGaussian();
                }
                QuantizedMatrix m = Quantizer.quantize(t, w, 64, cols, arena);
                assertEquals(KernelWarmup.quantSampleBytes(t, cols), m.packedBytes(), name);
                assertTrue(KernelWarmup.runQuantized(kernels, m.data(), t, cols, 20_000_000L) > 0, name);
                assertEquals(0, KernelWarmup.runQuantized(kernels, m.data().asSlice(0, m.packedBytes() - 1), t, cols,
                        20_000_000L), name + ": a sample shorter than 64 rows is not used");
            }
            // W4A8 warms up on its whole matrix (64 rows here, two blocks); less than one block of 32 is not used.
            QuantType t = QuantType.parse("w4a8g32");
            float[] w = new float[64 * cols];
            Arrays.fill(w, 0.25f);
            QuantizedMatrix m = Quantizer.quantize(t, w, 64, cols, arena);
            assertEquals(m.packedBytes() / 2, KernelWarmup.quantSampleBytes(t, cols));
            assertTrue(KernelWarmup.runQuantized(kernels, m.data(), t, cols, 20_000_000L) > 0, "w4a8");
            assertEquals(0, KernelWarmup.runQuantized(kernels, m.data().asSlice(0, m.packedBytes() / 2 - 1), t, cols,
                    20_000_000L), "w4a8: less than a block");
        }
    }
}
