package dev.tokc.ir.interp;

import dev.tokc.ir.FloatFormats;
import dev.tokc.ir.KvCacheSpec;

/**
 * A plain-array paged KV cache for the reference interpreter: per layer one K and one V array laid out
 * {@code [blocks, block_size, kv_heads, head_dim]} as {@link KvCacheSpec} fixes. Values are rounded to the spec's
 * dtype when written (so a bf16 cache loses what a real one would); the quantized cache dtypes ({@code fp8e4m3},
 * {@code i8}, {@code i4}) quantize each (token, head) vector with its own scale ({@link QuantizedKv}). Block tables are not kept here: they are
 * graph inputs owned by whoever drives the run, exactly as in the runtime. Not thread-safe.
 */
public final class ReferenceKvCache {
    private final KvCacheSpec spec;
    private final int numBlocks;
    private final double[][] keys;
    private final double[][] values;

    public ReferenceKvCache(KvCacheSpec spec, int numBlocks) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("a kv cache needs at least one block, got " + numBlocks);
        }
        if (!spec.dtype().isFloat() && !QuantizedKv.isQuantized(spec.dtype())) {
            throw new IllegalArgumentException("the reference kv cache holds float or quantized (i8, i4) dtypes only, got "
                    + spec.dtype());
        }
        this.spec = spec;
        this.numBlocks = numBlocks;
        int perLayer = Math.toIntExact((long) numBlocks * spec.blockSize() * spec.kvHeads() * spec.headDim());
        this.keys = new double[spec.layers()][perLayer];
        this.values = new double[spec.layers()][perLayer];
    }

    public KvCacheSpec spec() {
        return spec;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Number of flat slots ({@code blocks * block_size}). */
    public long numSlots() {
        return (long) numBlocks * spec.blockSize();
    }

    /**
     * Stores one token's K and V ({@code [kv_heads * head_dim]} each, read from the given offsets) at flat slot
     * {@code block * block_size + offset}. KvWrite goes through this; tests of other caches may fill this one directly.
     */
    public void write(int layer, long slot, double[] k, int kOffset, double[] v, int vOffset) {
        checkSlot(slot);
        int width = spec.kvHeads() * spec.headDim();
        int base = Math.toIntExact(slot * width);
        if (QuantizedKv.isQuantized(spec.dtype())) {
            // Quantized caches: one scale per (token, head) vector (QuantizedKv).
            for (int h = 0; h < spec.kvHeads(); h++) {
                int hd = spec.headDim();
                QuantizedKv.roundTrip(spec.dtype(), k, kOffset + h * hd, hd, keys[layer], base + h * hd);
                QuantizedKv.roundTrip(spec.dtype(), v, vOffset + h * hd, hd, values[layer], base + h * hd);
            }
            return;
        }
        for (int i = 0; i < width; i++) {
            keys[layer][base + i] = FloatFormats.round(spec.dtype(), k[kOffset + i]);
            values[layer][base + i] = FloatFormats.round(spec.dtype(), v[vOffset + i]);
        }
    }

    /** K[layer][block][offset][head][d]. */
    public double key(int layer, int block, int offset, int head, int d) {
        return keys[layer][index(block, offset, head, d)];
    }

    /** V[layer][block][offset][head][d]. */
    public double value(int layer, int block, int offset, int head, int d) {
        return values[layer][index(block, offset, head, d)];
    }

    private int index(int block, int offset, int head, int d) {
        if (block < 0 || block >= numBlocks) {
            throw new IllegalArgumentException("block " + block + " is outside the cache's " + numBlocks + " blocks");
        }
        return ((block * spec.blockSize() + offset) * spec.kvHeads() + head) * spec.headDim() + d;
    }

    private void checkSlot(long slot) {
        if (slot < 0 || slot >= numSlots()) {
            throw new IllegalArgumentException("slot " + slot + " is outside the cache's " + numSlots() + " slots");
        }
    }
}
