package dev.tokc.runtime.kernels.quant;

import static dev.tokc.runtime.kernels.Elements.F32;

import java.lang.foreign.MemorySegment;

/**
 * The obviously correct {@link QuantKernels}: each weight row is dequantized to float64 by
 * {@link Quantizer#dequantizeRow} and dotted with each activation row in float64, on the calling thread (W4A8: with
 * the int8 activations its product defines, {@link W4A8#quantizeActivations}). Slow; the yardstick for
 * {@link VectorQuantKernels}.
 */
public final class ReferenceQuantKernels implements QuantKernels {

    @Override
    public void gemm(MemorySegment x, int m, QuantizedMatrix w, MemorySegment bias, MemorySegment y) {
        QuantKernels.checkGemm(x, m, w, bias, y);
        int n = w.rows();
        int k = w.cols();
        double[] xd = activations(x, m, k, w.type());
        double[] row = new double[k];
        for (int j = 0; j < n; j++) {
            Quantizer.dequantizeRow(w, j, row);
            double b = bias == null ? 0 : bias.getAtIndex(F32, j);
            for (int i = 0; i < m; i++) {
                double s = b;
                int x0 = i * k;
                for (int c = 0; c < k; c++) {
                    s += xd[x0 + c] * row[c];
                }
                y.setAtIndex(F32, (long) i * n + j, (float) s);
            }
        }
    }

    /** The activations the product reads: x itself, or for W4A8 its int8 blocks read back ({@code a * d}). */
    private static double[] activations(MemorySegment x, int m, int k, QuantType t) {
        double[] xd = new double[m * k];
        if (t.format() != QuantFormat.W4A8) {
            for (int i = 0; i < xd.length; i++) {
                xd[i] = x.getAtIndex(F32, i);
            }
            return xd;
        }
        byte[] codes = new byte[m * k];
        float[] scales = new float[m * k / W4A8.BLOCK];
        W4A8.quantizeActivations(x, k, 0, m, codes, scales, new int[scales.length]);
        for (int i = 0; i < xd.length; i++) {
            xd[i] = codes[i] * (double) scales[i / W4A8.BLOCK];
        }
        return xd;
    }

    /** Dequantize each cached vector, then softmax attention in float64. */
    @Override
    public void pagedAttention(MemorySegment q, int rows, QuantKvCache cache, int[][] blockTables, int[] contextLens,
            dev.tokc.runtime.kernels.AttentionHeads heads, float scale, MemorySegment out) {
        int hd = heads.headDim();
        int bs = cache.blockSize();
        float[] kv = new float[hd];
        for (int r = 0; r < rows; r++) {
            int n = contextLens[r];
            for (int h = 0; h < heads.qHeads(); h++) {
                int g = h / (heads.qHeads() / heads.kvHeads());
                long qBase = ((long) r * heads.qHeads() + h) * hd * 4;
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < n; t++) {
                    long slot = (long) blockTables[r][t / bs] * bs + t % bs;
                    QuantKv.dequantize(cache.format(), cache.keys(), cache.offset(slot, g), hd, kv, 0);
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += (double) q.get(QuantKv.F32, qBase + 4L * d) * kv[d];
                    }
                    s[t] = dot * scale;
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                for (int t = 0; t < n; t++) {
                    s[t] = Math.exp(s[t] - max);
                    sum += s[t];
                }
                double[] acc = new double[hd];
                for (int t = 0; t < n; t++) {
                    long slot = (long) blockTables[r][t / bs] * bs + t % bs;
                    QuantKv.dequantize(cache.format(), cache.values(), cache.offset(slot, g), hd, kv, 0);
                    for (int d = 0; d < hd; d++) {
                        acc[d] += s[t] / sum * kv[d];
                    }
                }
                for (int d = 0; d < hd; d++) {
                    out.set(QuantKv.F32, qBase + 4L * d, (float) acc[d]);
                }
            }
        }
    }
}
