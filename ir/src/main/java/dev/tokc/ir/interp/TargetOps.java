package dev.tokc.ir.interp;

import dev.tokc.ir.DType;
import dev.tokc.ir.ElementwiseExpr;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TargetOp;
import java.util.Arrays;

/**
 * Target-level ops as their unfused meaning: FusedLinear is Linear followed by its epilogue (kept in double between
 * the two, as a fused kernel keeps its accumulators), FlashAttention is causal Attention, QuantizedLinear is Linear
 * over the dequantized weight ({@link QuantizedBlocks}), KvWrite and PagedAttention go through the
 * {@link ReferenceKvCache} of the {@link ExecutionContext}. Collectives exist only for a world of one rank.
 */
final class TargetOps {
    private TargetOps() {}

    static Tensor fusedLinear(TargetOp.FusedLinear op, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        long out = ModelOps.checkWeight(x, w, op.transposeWeight());
        double[] y = LinearAlgebraOps.linear(x, w.doubles(), out, op.transposeWeight(), bias);
        Epilogue e = op.epilogue();
        if (e == Epilogue.SILU_MUL || e == Epilogue.GELU_MUL) {
            if (out % 2 != 0) {
                throw new IllegalArgumentException("gated epilogue needs an even out-features, got " + out);
            }
            int ff = (int) out / 2;
            int rows = (int) (y.length / Math.max(out, 1));
            double[] g = new double[rows * ff];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < ff; i++) {
                    double gate = y[r * 2 * ff + i];
                    double up = y[r * 2 * ff + ff + i];
                    g[r * ff + i] = (e == Epilogue.SILU_MUL ? ScalarMath.silu(gate) : ScalarMath.gelu(gate)) * up;
                }
            }
            return Tensor.ofDoubles(x.dtype(), ModelOps.withLast(x.shape(), ff), g);
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = switch (e) {
                case GELU -> ScalarMath.gelu(y[i]);
                case GELU_TANH -> ScalarMath.geluTanh(y[i]);
                case RESIDUAL_ADD -> y[i] + residual.getDouble(i);
                default -> y[i];
            };
        }
        long[] shape = ModelOps.withLast(x.shape(), out);
        if (residual != null && !Arrays.equals(residual.shape(), shape)) {
            throw new IllegalArgumentException("residual " + Arrays.toString(residual.shape()) + " does not match the result "
                    + Arrays.toString(shape));
        }
        return Tensor.ofDoubles(x.dtype(), shape, y);
    }

    static Tensor flashAttention(TargetOp.FlashAttention op, Tensor q, Tensor k, Tensor v) {
        return ModelOps.attention(op.numHeads(), op.numKvHeads(), true, op.scale(), op.softcap(), op.slidingWindow(),
                q, k, v, null);
    }

    /** Linear over a packed weight [out, in] whose shape comes from the node's declared weight type, then the epilogue. */
    static Tensor quantizedLinear(TargetOp.QuantizedLinear op, QuantType type, long outFeatures, Tensor x, Tensor packed,
            Tensor bias, Tensor residual) {
        long in = x.dim(x.rank() - 1);
        if (type.format() == dev.tokc.ir.QuantFormat.W4A8) {
            x = quantizeActivationBlocks(x);
        }
        double[] w = QuantizedBlocks.dequantize(type, QuantizedBlocks.bytesOf(packed), (int) outFeatures, (int) in);
        Tensor dense = Tensor.ofDoubles(DType.F64, new long[] {outFeatures, in}, w);
        return fusedLinear(new TargetOp.FusedLinear(op.epilogue(), bias != null, false), x, dense, bias, residual);
    }

    /** The activations a {@code w4a8} product reads ({@link QuantizedBlocks#quantizeActivationBlocks}). */
    static Tensor quantizeActivationBlocks(Tensor x) {
        double[] v = QuantizedBlocks.quantizeActivationBlocks(x.toDoubleArray(), (int) x.dim(x.rank() - 1));
        return Tensor.ofDoubles(x.dtype(), x.shape(), v);
    }

    /** Per-row symmetric fake quantization to {@code bits}-bit integers with an f32 scale per row. */
    static Tensor quantizeActivations(int bits, Tensor x) {
        long qmax = (1L << (bits - 1)) - 1;
        int in = (int) x.dim(x.rank() - 1);
        double[] v = x.toDoubleArray();
        double[] out = new double[v.length];
        for (int r = 0; in > 0 && r < v.length / in; r++) {
            double m = 0;
            for (int c = 0; c < in; c++) {
                m = Math.max(m, Math.abs(v[r * in + c]));
            }
            float scale = (float) (m / qmax);
            for (int c = 0; c < in; c++) {
                long q = scale == 0 ? 0 : Math.clamp(Math.round(v[r * in + c] / scale), -qmax, qmax);
                out[r * in + c] = q * (double) scale;
            }
        }
        return Tensor.ofDoubles(x.dtype(), x.shape(), out);
    }

    /** The packed bytes of a float matrix [out, in] in {@code type}'s layout (a u8 tensor). */
    static Tensor quantizeWeight(QuantType type, Tensor w) {
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        return QuantizedBlocks.asTensor(QuantizedBlocks.quantize(type, w.toDoubleArray(), rows, cols));
    }

    /**
     * Writes k and v [tokens, kv_heads, head_dim] at flat slots. A negative slot marks a padding token that is not
     * written (the runtime's convention for padded batches); a slot past the cache is an error.
     */
    static Tensor kvWrite(TargetOp.KvWrite op, ReferenceKvCache cache, Tensor k, Tensor v, Tensor slots) {
        KvCacheSpec spec = checkCache(op.spec(), cache);
        int tokens = (int) k.dim(0);
        if (v.dim(0) != tokens || slots.size() != tokens) {
            throw new IllegalArgumentException("k, v and slots disagree on tokens: " + tokens + ", " + v.dim(0) + ", "
                    + slots.size());
        }
        int width = spec.kvHeads() * spec.headDim();
        for (int t = 0; t < tokens; t++) {
            long slot = slots.getLong(t);
            if (slot >= 0) {
                cache.write(op.layer(), slot, k.doubles(), t * width, v.doubles(), t * width);
            }
        }
        return Tensor.scalar(DType.I64, 0);
    }

    /** rope(k) at each token's position (as {@link ModelOp.Rope} over [1, tokens, ...]), then {@link #kvWrite}. */
    static Tensor kvWriteRope(TargetOp.KvWriteRope op, ReferenceKvCache cache, java.util.List<Tensor> in) {
        Tensor k = in.get(0);
        Tensor positions = in.get(3);
        long tokens = k.dim(0);
        if (positions.size() != tokens) {
            throw new IllegalArgumentException("positions has " + positions.size() + " entries for " + tokens + " tokens");
        }
        Tensor k4 = k.reshape(1, tokens, k.dim(1), k.dim(2));
        Tensor p2 = positions.reshape(1, tokens);
        ModelOp.Rope rope = new ModelOp.Rope(op.interleaved());
        Tensor rotated = in.size() == 5 ? ModelOps.rope(rope, k4, p2, in.get(4)) : ModelOps.rope(rope, k4, p2, in.get(4), in.get(5));
        return kvWrite(new TargetOp.KvWrite(op.spec(), op.layer()), cache, rotated.reshape(k.shape()), in.get(1), in.get(2));
    }

    /** rms_norm(a + b): the sum rounded to the dtype first, as the unfused add does. */
    static Tensor addRmsNorm(TargetOp.AddRmsNorm op, Tensor a, Tensor b, Tensor weight) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("a " + Arrays.toString(a.shape()) + " and b " + Arrays.toString(b.shape())
                    + " differ");
        }
        double[] x = a.doubles();
        double[] y = b.doubles();
        double[] sum = new double[x.length];
        for (int i = 0; i < sum.length; i++) {
            sum[i] = x[i] + y[i];
        }
        return ModelOps.rmsNorm(new ModelOp.RmsNorm(op.eps(), op.weightOffset()), Tensor.ofDoubles(a.dtype(), a.shape(), sum),
                weight);
    }

    /** The expression per element over the broadcast inputs, each function rounded to {@code dtype}. */
    static Tensor elementwise(TargetOp.Elementwise op, DType dtype, java.util.List<Tensor> in) {
        ElementwiseExpr e = op.expression();
        long[][] shapes = new long[in.size()][];
        for (int i = 0; i < shapes.length; i++) {
            shapes[i] = in.get(i).shape();
        }
        long[] shape = Tensors.broadcastShape(shapes);
        int[][] index = new int[in.size()][];
        double[][] data = new double[in.size()][];
        for (int i = 0; i < index.length; i++) {
            index[i] = Tensors.broadcastIndex(shape, in.get(i).shape());
            data[i] = in.get(i).doubles();
        }
        int n = Tensors.count(shape);
        double[] out = new double[n];
        double[] args = new double[in.size()];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < args.length; i++) {
                args[i] = data[i][index[i][j]];
            }
            out[j] = e.evaluate(args, dtype);
        }
        return Tensor.ofDoubles(dtype, shape, out);
    }

    /**
     * Paged attention over ragged sequences: sequence i owns queries [query_starts[i], query_starts[i+1]); its query
     * j (of n) is at position context_lens[i] - n + j and sees cached positions up to it, position p living in block
     * block_tables[i][p / block_size] at offset p % block_size.
     */
    static Tensor pagedAttention(TargetOp.PagedAttention op, ReferenceKvCache cache, Tensor q, Tensor blockTables,
            Tensor contextLens, Tensor queryStarts) {
        KvCacheSpec spec = checkCache(op.spec(), cache);
        int tokens = (int) q.dim(0);
        int heads = op.numHeads();
        int hd = spec.headDim();
        int bs = spec.blockSize();
        int seqs = contextLens.size();
        int maxBlocks = blockTables.rank() == 2 ? (int) blockTables.dim(1) : 0;
        if (queryStarts.size() != seqs + 1 || blockTables.rank() != 2 || blockTables.dim(0) != seqs) {
            throw new IllegalArgumentException("block_tables " + Arrays.toString(blockTables.shape()) + ", context_lens ["
                    + seqs + "] and query_starts [" + queryStarts.size() + "] do not describe one batch of sequences");
        }
        if (queryStarts.getLong(0) != 0 || queryStarts.getLong(seqs) != tokens) {
            throw new IllegalArgumentException("query_starts must run from 0 to the " + tokens + " tokens, got "
                    + queryStarts.getLong(0) + " .. " + queryStarts.getLong(seqs));
        }
        int group = heads / spec.kvHeads();
        double[] qd = q.doubles();
        double[] out = new double[qd.length];
        for (int i = 0; i < seqs; i++) {
            int start = (int) queryStarts.getLong(i);
            int n = (int) (queryStarts.getLong(i + 1) - start);
            int ctx = (int) contextLens.getLong(i);
            if (n < 0 || ctx < n || Math.ceilDiv(ctx, bs) > maxBlocks) {
                throw new IllegalArgumentException("sequence " + i + " has " + n + " queries and context length " + ctx
                        + ", which " + maxBlocks + " blocks of " + bs + " cannot hold");
            }
            int seq = i;
            for (int h = 0; h < heads; h++) {
                int kvh = h / group;
                AttentionMath.KeyValues kv = new AttentionMath.KeyValues() {
                    @Override
                    public double key(int p, int d) {
                        return cache.key(op.layer(), block(p), p % bs, kvh, d);
                    }

                    @Override
                    public double value(int p, int d) {
                        return cache.value(op.layer(), block(p), p % bs, kvh, d);
                    }

                    private int block(int p) {
                        return (int) blockTables.getLong(seq * maxBlocks + p / bs);
                    }
                };
                for (int j = 0; j < n; j++) {
                    int row = ((start + j) * heads + h) * hd;
                    AttentionMath.attendRow(qd, row, hd, hd, ctx, kv, op.scale(), op.softcap(), true, ctx - n + j,
                            op.slidingWindow(), null, out, row);
                }
            }
        }
        return Tensor.ofDoubles(q.dtype(), q.shape(), out);
    }

    private static KvCacheSpec checkCache(KvCacheSpec spec, ReferenceKvCache cache) {
        if (cache == null) {
            throw new IllegalArgumentException("needs a kv cache: pass one in the ExecutionContext");
        }
        if (!cache.spec().equals(spec)) {
            throw new IllegalArgumentException("the op's kv cache spec " + spec + " differs from the context's cache "
                    + cache.spec());
        }
        return spec;
    }

    static Tensor allReduce(TargetOp.AllReduce op, Tensor x) {
        requireSingleRank(op.worldSize());
        return x;
    }

    static Tensor allGather(TargetOp.AllGather op, Tensor x) {
        requireSingleRank(op.worldSize());
        Tensors.axis(op.axis(), x.rank());
        return x;
    }

    private static void requireSingleRank(int worldSize) {
        if (worldSize != 1) {
            throw new IllegalArgumentException("world size " + worldSize
                    + " needs a collective runtime; the reference interpreter runs one rank only");
        }
    }
}
