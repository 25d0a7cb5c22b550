package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;

import java.lang.foreign.MemorySegment;

/**
 * The obviously correct {@link QuantKernels}: each weight row is dequantized to float64 by
 * {@link Quantizer#dequantizeRow} and dotted with each activation row in float64, on the calling thread. Slow; the
 * yardstick for {@link VectorQuantKernels}.
 */
public final class ReferenceQuantKernels implements QuantKernels {

    @Override
    public void gemm(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        QuantKernels.checkGemm(x, m, w, bias, y);
        int n = w.rows();
        int k = w.cols();
        double[] row = new double[k];
        for (int j = 0; j < n; j++) {
            Quantizer.dequantizeRow(w, j, row);
            double b = bias == null ? 0 : bias.getAtIndex(F32, j);
            for (int i = 0; i < m; i++) {
                double s = b;
                long x0 = (long) i * k;
                for (int c = 0; c < k; c++) {
                    s += x.getAtIndex(F32, x0 + c) * row[c];
                }
                y.setAtIndex(F32, (long) i * n + j, (float) s);
            }
        }
    }
}
