package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import dev.tokc.runtime.kernels.Elements;
import dev.tokc.runtime.kernels.WorkerPool;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Prototype, not a product kernel: the integer formulation of the batch-1 int4 g32 GEMV, measured against
 * {@link VectorQuantKernels} on the same weights (docs/benchmarks.md, issue 7's next step).
 *
 * <p>Layout ("row-interleaved"): output rows in blocks of 32 (one 16-bit lane each in a 512-bit vector). For each
 * pair of reduction indices (k, k+1), 32 bytes: byte r holds row r's code for k in its low nibble and for k+1 in
 * its high nibble, codes stored as {@code q - 8} (signed, -8..7). Per (block, group of 32): 32 f32 scales s and 32
 * f32 zero terms {@code (z - 8) s}, kept apart from the codes.
 *
 * <p>Activations are quantized per group of 32 to int8 ({@code d = max|x| / 127}). Per k pair: one 32-byte load
 * widened to 32 shorts, two nibble extractions, two 16-bit multiplies by the broadcast activations and two adds; a
 * group's 16 pairs sum in 16-bit lanes ({@code 8 * 127 * 32 < 2^15}) and are then widened, converted and scaled
 * once per group: sum_g d_g (s (sum (q-8) xq) - (z-8) s sum xq).
 *
 * <p>Measured (docs/benchmarks.md): 1.9x the product kernel from cache, 1.1-1.55x from DRAM; a variant walking two
 * distant blocks at once (as the product kernels' row pairs) was slower (27-32 G weights/s median), not kept.
 * {@code -Dcached=true} runs one weight copy (from cache), {@code -Dthreads=N}.
 */
public final class Int4IntLab {
    static final VectorSpecies<Short> SS = ShortVector.SPECIES_512;
    static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final int R = 32;
    static final int G = 32;

    /** One matrix in the row-interleaved layout. */
    record Packed(MemorySegment codes, float[] scales, float[] zeroTerms, int n, int k) {
        long blockBytes() {
            return (long) k / 2 * R;
        }
    }

    public static void main(String[] args) {
        int threads = Integer.getInteger("threads", 2);
        String[] shapes = args.length > 0 ? args : new String[] {"5632x2048", "2048x11264"};
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            VectorQuantKernels baseline = new VectorQuantKernels(pool);
            for (String shape : shapes) {
                String[] kn = shape.split("x");
                int k = Integer.parseInt(kn[0]);
                int n = Integer.parseInt(kn[1]);
                Random random = new Random(1);
                float[] w = new float[n * k];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (random.nextGaussian() * 0.02);
                }
                QuantizedMatrix q = Quantizer.quantize(QuantType.int4(32), w, n, k, arena);
                long bytes = q.packedBytes();
                int copies = Boolean.getBoolean("cached") ? 1 : (int) Math.max(1, Math.min(64, (512L << 20) / bytes));
                QuantizedMatrix[] qs = new QuantizedMatrix[copies];
                Packed[] ps = new Packed[copies];
                for (int c = 0; c < copies; c++) {
                    qs[c] = c == 0 ? q : new QuantizedMatrix(arena.allocate(bytes, 64).copyFrom(q.data().asSlice(0, bytes)),
                            q.type(), n, k);
                    ps[c] = pack(qs[c], arena);
                }
                MemorySegment x = arena.allocate(4L * k, 64);
                float[] xa = new float[k];
                for (int i = 0; i < k; i++) {
                    xa[i] = (float) random.nextGaussian();
                    x.setAtIndex(Elements.F32, i, xa[i]);
                }
                MemorySegment ref = arena.allocate(4L * n, 64);
                MemorySegment y = arena.allocate(4L * n, 64);
                baseline.gemv(x, q, null, ref);
                byte[] xq = new byte[k];
                float[] d = new float[k / G];
                float[] xsum = new float[k / G];
                gemv(pool, xa, xq, d, xsum, ps[0], y);
                double maxErr = 0;
                double maxRef = 0;
                for (int j = 0; j < n; j++) {
                    maxErr = Math.max(maxErr, Math.abs(y.getAtIndex(Elements.F32, j) - ref.getAtIndex(Elements.F32, j)));
                    maxRef = Math.max(maxRef, Math.abs(ref.getAtIndex(Elements.F32, j)));
                }
                System.out.printf("%s: max |integer - f32 kernel| = %.3e (max |y| %.3e, activations quantized to int8)%n",
                        shape, maxErr, maxRef);
                long[][] times = new long[2][0];
                for (int round = 0; round < 6; round++) {
                    for (int v = 0; v < 2; v++) {
                        long[] t = new long[400];
                        int c = 0;
                        int calls = 0;
                        long start = System.nanoTime();
                        while (System.nanoTime() - start < 300_000_000L) {
                            int i = calls % copies;
                            long t0 = System.nanoTime();
                            if (v == 0) {
                                baseline.gemv(x, qs[i], null, ref);
                            } else {
                                gemv(pool, xa, xq, d, xsum, ps[i], y);
                            }
                            long dt = System.nanoTime() - t0;
                            if (round > 0 && c < t.length) {
                                t[c++] = dt;
                            }
                            calls++;
                        }
                        long[] all = Arrays.copyOf(times[v], times[v].length + c);
                        System.arraycopy(t, 0, all, times[v].length, c);
                        times[v] = all;
                    }
                }
                String[] names = {"packed (product)", "row-interleaved integer"};
                for (int v = 0; v < 2; v++) {
                    long[] t = times[v];
                    Arrays.sort(t);
                    double weights = (double) n * k;
                    System.out.printf("%-24s %s thr=%d best %.1f us = %.1f G weights/s, median %.1f G weights/s%n",
                            names[v], shape, threads, t[0] / 1e3, weights / t[0], weights / t[t.length / 2]);
                }
            }
        }
    }

    /** The row-interleaved copy of a packed int4 g32 matrix (n a multiple of 32). */
    static Packed pack(QuantizedMatrix q, Arena arena) {
        int n = q.rows();
        int k = q.cols();
        int groups = k / G;
        MemorySegment codes = arena.allocate((long) n * k / 2, 64);
        float[] scales = new float[n * groups];
        float[] zeroTerms = new float[n * groups];
        MemorySegment src = q.data();
        for (int j = 0; j < n; j++) {
            long row = q.rowOffset(j);
            int block = j / R;
            int lane = j % R;
            for (int c = 0; c < groups; c++) {
                long at = row + c * (4L + G / 2);
                float s = Float.float16ToFloat(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
                float z = Float.float16ToFloat(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2));
                int slot = (block * groups + c) * R + lane;
                scales[slot] = s;
                zeroTerms[slot] = (z - 8) * s;
                for (int e = 0; e < G; e += 2) {
                    int b = src.get(ValueLayout.JAVA_BYTE, at + 4 + e / 2) & 0xff;
                    int q0 = (b & 0xf) - 8;
                    int q1 = (b >> 4) - 8;
                    long pair = ((long) c * G + e) / 2;
                    codes.set(ValueLayout.JAVA_BYTE, (long) block * k / 2 * R + pair * R + lane,
                            (byte) ((q0 & 0xf) | (q1 << 4)));
                }
            }
        }
        return new Packed(codes, scales, zeroTerms, n, k);
    }

    static void gemv(WorkerPool pool, float[] x, byte[] xq, float[] d, float[] xsum, Packed p, MemorySegment y) {
        int k = p.k();
        for (int c = 0; c < k / G; c++) {
            float max = 0;
            for (int e = 0; e < G; e++) {
                max = Math.max(max, Math.abs(x[c * G + e]));
            }
            float scale = max / 127;
            float inv = max == 0 ? 0 : 1 / scale;
            int sum = 0;
            for (int e = 0; e < G; e++) {
                int v = Math.round(x[c * G + e] * inv);
                xq[c * G + e] = (byte) v;
                sum += v;
            }
            d[c] = scale;
            xsum[c] = sum;
        }
        pool.parallelFor(p.n() / R, 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                block(p, b, xq, d, xsum, y);
            }
        });
    }

    static void block(Packed p, int b, byte[] xq, float[] d, float[] xsum, MemorySegment y) {
        int k = p.k();
        int groups = k / G;
        MemorySegment w = p.codes();
        long base = (long) b * k / 2 * R;
        FloatVector acc0 = FloatVector.zero(FS), acc1 = FloatVector.zero(FS);
        for (int c = 0; c < groups; c++) {
            ShortVector s16 = ShortVector.zero(SS);
            long g0 = base + (long) c * G / 2 * R;
            for (int e = 0; e < G; e += 2) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B32, w, g0 + (long) e / 2 * R, LE)
                        .convertShape(VectorOperators.B2S, SS, 0);
                ShortVector lo = v.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 12);
                ShortVector hi = v.lanewise(VectorOperators.ASHR, 4);
                s16 = s16.add(lo.mul(xq[c * G + e])).add(hi.mul(xq[c * G + e + 1]));
            }
            IntVector i0 = (IntVector) s16.convertShape(VectorOperators.S2I, IS, 0);
            IntVector i1 = (IntVector) s16.convertShape(VectorOperators.S2I, IS, 1);
            int slot = (b * groups + c) * R;
            FloatVector sc0 = FloatVector.fromArray(FS, p.scales(), slot);
            FloatVector sc1 = FloatVector.fromArray(FS, p.scales(), slot + 16);
            FloatVector zt0 = FloatVector.fromArray(FS, p.zeroTerms(), slot);
            FloatVector zt1 = FloatVector.fromArray(FS, p.zeroTerms(), slot + 16);
            float dg = d[c];
            float zs = -xsum[c];
            // d_g (s * sum - (z - 8) s * sum xq)
            FloatVector f0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).mul(sc0).add(zt0.mul(zs));
            FloatVector f1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).mul(sc1).add(zt1.mul(zs));
            FloatVector dv = FloatVector.broadcast(FS, dg);
            acc0 = f0.fma(dv, acc0);
            acc1 = f1.fma(dv, acc1);
        }
        acc0.intoMemorySegment(y, 4L * b * R, LE);
        acc1.intoMemorySegment(y, 4L * b * R + 64, LE);
    }
}
