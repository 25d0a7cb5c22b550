package dev.tokc.runtime.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The naive implementation of {@link Kernels}: one thread, scalar loops written as the formulas read, every sum
 * accumulated in float64, every intermediate kept in float64 until the final store. It is slow on purpose; it is
 * what {@link VectorKernels} (and later generated and CUDA kernels) are compared against.
 */
public final class ReferenceKernels implements Kernels {

    private static float f(MemorySegment s, long i) {
        return s.getAtIndex(Elements.F32, i);
    }

    private static void set(MemorySegment s, long i, double value) {
        s.setAtIndex(Elements.F32, i, (float) value);
    }

    @Override
    public void toF32(MemorySegment src, ElementType type, MemorySegment dst, long count) {
        for (long i = 0; i < count; i++) {
            dst.setAtIndex(Elements.F32, i, Elements.read(src, type, i));
        }
    }

    @Override
    public void fromF32(MemorySegment src, MemorySegment dst, ElementType type, long count) {
        for (long i = 0; i < count; i++) {
            Elements.write(dst, type, i, f(src, i));
        }
    }

    @Override
    public void gemm(MemorySegment x, int m, WeightMatrix w, MemorySegment bias, MemorySegment y) {
        int n = w.rows();
        int k = w.cols();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = bias == null ? 0 : f(bias, j);
                for (int l = 0; l < k; l++) {
                    sum += (double) f(x, (long) i * k + l) * Elements.read(w.data(), w.type(), (long) j * k + l);
                }
                set(y, (long) i * n + j, sum);
            }
        }
    }

    @Override
    public void rmsNorm(MemorySegment x, MemorySegment weight, float eps, int rows, int dim, MemorySegment y) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * dim;
            double squares = 0;
            for (int i = 0; i < dim; i++) {
                double v = f(x, base + i);
                squares += v * v;
            }
            double inv = 1 / Math.sqrt(squares / dim + eps);
            for (int i = 0; i < dim; i++) {
                set(y, base + i, f(x, base + i) * inv * f(weight, i));
            }
        }
    }

    @Override
    public void layerNorm(MemorySegment x, MemorySegment weight, MemorySegment bias, float eps, int rows, int dim,
                          MemorySegment y) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * dim;
            double sum = 0;
            for (int i = 0; i < dim; i++) {
                sum += f(x, base + i);
            }
            double mean = sum / dim;
            double var = 0;
            for (int i = 0; i < dim; i++) {
                double d = f(x, base + i) - mean;
                var += d * d;
            }
            double inv = 1 / Math.sqrt(var / dim + eps);
            for (int i = 0; i < dim; i++) {
                double b = bias == null ? 0 : f(bias, i);
                set(y, base + i, (f(x, base + i) - mean) * inv * f(weight, i) + b);
            }
        }
    }

    /** The rotation angle exactly as {@link Kernels#rope} defines it: an f32 product, shared with the fast path. */
    static float ropeAngle(int position, float invFreq) {
        return (float) position * invFreq;
    }

    @Override
    public void rope(MemorySegment x, int tokens, int heads, int headDim, int[] positions, float[] invFreq,
                     RopeLayout layout) {
        int half = invFreq.length;
        checkRope(headDim, half);
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                long base = ((long) t * heads + h) * headDim;
                for (int p = 0; p < half; p++) {
                    double angle = ropeAngle(positions[t], invFreq[p]);
                    double cos = (float) Math.cos(angle);
                    double sin = (float) Math.sin(angle);
                    long ia = layout == RopeLayout.NEOX ? base + p : base + 2L * p;
                    long ib = layout == RopeLayout.NEOX ? base + p + half : base + 2L * p + 1;
                    double a = f(x, ia);
                    double b = f(x, ib);
                    set(x, ia, a * cos - b * sin);
                    set(x, ib, b * cos + a * sin);
                }
            }
        }
    }

    static void checkRope(int headDim, int half) {
        if (2 * half > headDim) {
            throw new IllegalArgumentException("rotary dim " + 2 * half + " exceeds head dim " + headDim);
        }
    }

    @Override
    public void swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, int count) {
        for (int i = 0; i < count; i++) {
            double g = f(gate, i);
            set(out, i, g / (1 + Math.exp(-g)) * f(up, i));
        }
    }

    @Override
    public void gelu(MemorySegment x, MemorySegment out, int count, GeluForm form) {
        for (int i = 0; i < count; i++) {
            double v = f(x, i);
            double g = switch (form) {
                case ERF -> 0.5 * v * (1 + erf(v / Math.sqrt(2)));
                case TANH -> 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            };
            set(out, i, g);
        }
    }

    /**
     * The error function in float64, since {@link Math} has none: the Maclaurin series
     * {@code 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))} below |x| = 2.5 (largest term ~500, so cancellation costs
     * under three of the 16 digits), and above it the classic continued fraction
     * {@code erfc(x) = exp(-x^2)/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + 2 / ...))))}, evaluated bottom-up.
     */
    public static double erf(double x) {
        double a = Math.abs(x);
        double result;
        if (a < 2.5) {
            double term = a;
            double sum = a;
            for (int n = 1; n < 100 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
                term *= -a * a / n;
                sum += term / (2 * n + 1);
            }
            result = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double frac = a;
            for (int n = 120; n >= 1; n--) {
                frac = a + (n / 2.0) / frac;
            }
            result = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / frac;
        }
        return x < 0 ? -result : result;
    }

    @Override
    public void softmax(MemorySegment x, int rows, int cols, MemorySegment y) {
        double[] row = new double[cols];
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < cols; i++) {
                row[i] = f(x, base + i);
                max = Math.max(max, row[i]);
            }
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                row[i] = Math.exp(row[i] - max);
                sum += row[i];
            }
            for (int i = 0; i < cols; i++) {
                set(y, base + i, row[i] / sum);
            }
        }
    }

    @Override
    public void add(MemorySegment a, MemorySegment b, MemorySegment out, int count) {
        for (int i = 0; i < count; i++) {
            set(out, i, (double) f(a, i) + f(b, i));
        }
    }

    /**
     * Plain attention for one query vector against {@code n} keys: scores, softmax over all of them in float64,
     * weighted sum of the values. {@code keyAt(j)}/{@code valueAt(j)} give element offsets of key/value j.
     */
    private static void attendOne(MemorySegment q, long qBase, int headDim, float scale, int n,
                                  MemorySegment ks, java.util.function.IntToLongFunction keyAt, ElementType kType,
                                  MemorySegment vs, java.util.function.IntToLongFunction valueAt,
                                  MemorySegment out, long outBase) {
        if (n == 0) {
            for (int d = 0; d < headDim; d++) {
                set(out, outBase + d, 0);
            }
            return;
        }
        double[] scores = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double s = 0;
            long kb = keyAt.applyAsLong(j);
            for (int d = 0; d < headDim; d++) {
                s += (double) f(q, qBase + d) * Elements.read(ks, kType, kb + d);
            }
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        for (int d = 0; d < headDim; d++) {
            double acc = 0;
            for (int j = 0; j < n; j++) {
                acc += scores[j] * Elements.read(vs, kType, valueAt.applyAsLong(j) + d);
            }
            set(out, outBase + d, acc / sum);
        }
    }

    @Override
    public void flashAttention(MemorySegment q, int queries, MemorySegment k, MemorySegment v, int keys,
                               AttentionHeads heads, float scale, MemorySegment out) {
        checkFlash(queries, keys);
        int hd = heads.headDim();
        for (int i = 0; i < queries; i++) {
            int visible = keys - queries + i + 1;
            for (int h = 0; h < heads.qHeads(); h++) {
                int kvHead = h / heads.groupSize();
                long qBase = ((long) i * heads.qHeads() + h) * hd;
                java.util.function.IntToLongFunction at = j -> ((long) j * heads.kvHeads() + kvHead) * hd;
                attendOne(q, qBase, hd, scale, visible, k, at, ElementType.F32, v, at, out, qBase);
            }
        }
    }

    static void checkFlash(int queries, int keys) {
        if (queries < 0 || keys < queries) {
            throw new IllegalArgumentException("flash attention needs keys >= queries, got " + keys + " < " + queries);
        }
    }

    static void checkPaged(PagedKvCache cache, AttentionHeads heads) {
        if (cache.kvHeads() != heads.kvHeads() || cache.headDim() != heads.headDim()) {
            throw new IllegalArgumentException("cache geometry " + cache.kvHeads() + "x" + cache.headDim()
                    + " does not match heads " + heads);
        }
    }

    @Override
    public void pagedAttention(MemorySegment q, int seqs, PagedKvCache cache, int[][] blockTables, int[] contextLens,
                               AttentionHeads heads, float scale, MemorySegment out) {
        checkPaged(cache, heads);
        int hd = heads.headDim();
        int bs = cache.blockSize();
        for (int s = 0; s < seqs; s++) {
            int[] table = blockTables[s];
            for (int h = 0; h < heads.qHeads(); h++) {
                int kvHead = h / heads.groupSize();
                long qBase = ((long) s * heads.qHeads() + h) * hd;
                java.util.function.IntToLongFunction at =
                        t -> (((long) table[t / bs] * bs + t % bs) * cache.kvHeads() + kvHead) * hd;
                attendOne(q, qBase, hd, scale, contextLens[s], cache.keys(), at, cache.type(),
                        cache.values(), at, out, qBase);
            }
        }
    }

    @Override
    public void kvWrite(MemorySegment k, MemorySegment v, int tokens, int[] slots, PagedKvCache cache) {
        int width = cache.kvHeads() * cache.headDim();
        for (int t = 0; t < tokens; t++) {
            if (slots[t] < 0) {
                continue;
            }
            for (int i = 0; i < width; i++) {
                long dst = (long) slots[t] * width + i;
                Elements.write(cache.keys(), cache.type(), dst, f(k, (long) t * width + i));
                Elements.write(cache.values(), cache.type(), dst, f(v, (long) t * width + i));
            }
        }
    }
}
