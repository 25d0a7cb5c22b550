package dev.tokc.runtime.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Paged decode attention as one decode step runs it: one query row against a bf16 cache of {@code context} tokens,
 * for each of 22 layers (separate caches, so that a step's KV is read from memory as in an engine), TinyLlama's head
 * geometry by default (32 query heads, 4 KV heads, head dim 64; {@code -Dqh -Dkvh -Dhd}), {@code -Dthreads=N}.
 * Prints per context length (arguments, default 64 512 2048) the best and median time per step and the KV bytes it
 * read per second. {@code -Dflush=true} reads 64 MB before each layer's call (not timed), as a decode step's weight
 * matrices evict the cache between two layers' attention (the worker thread then parks during the flush, so with
 * two threads each call also pays a wake-up: compare {@code -Dthreads=1}); 40 steps then instead of 300.
 * docs/benchmarks.md, "Decode attention".
 */
public final class AttnLab {
    public static void main(String[] args) {
        AttentionHeads heads = new AttentionHeads(Integer.getInteger("qh", 32), Integer.getInteger("kvh", 4), Integer.getInteger("hd", 64));
        int threads = Integer.getInteger("threads", 2);
        int block = 16;
        int layers = 22;
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            VectorKernels kernels = new VectorKernels(pool);
            Random r = new Random(3);
            for (String cs : (args.length > 0 ? args : new String[] {"64", "512", "2048"})) {
                int context = Integer.parseInt(cs);
                int blocksPerSeq = (context + block - 1) / block;
                int numBlocks = blocksPerSeq + 1;
                long cacheCount = (long) numBlocks * block * heads.kvHeads() * heads.headDim();
                PagedKvCache[] caches = new PagedKvCache[layers];
                for (int l = 0; l < layers; l++) {
                    MemorySegment kk = arena.allocate(cacheCount * 2, 64), vv = arena.allocate(cacheCount * 2, 64);
                    for (long i = 0; i < cacheCount; i++) { Elements.write(kk, ElementType.BF16, i, (float) r.nextGaussian()); Elements.write(vv, ElementType.BF16, i, (float) r.nextGaussian()); }
                    caches[l] = new PagedKvCache(kk, vv, ElementType.BF16, numBlocks, block, heads.kvHeads(), heads.headDim());
                }
                String kv = System.getProperty("kv", "bf16");
                dev.tokc.runtime.kernels.quant.QuantKvCache[] qcaches = new dev.tokc.runtime.kernels.quant.QuantKvCache[layers];
                dev.tokc.runtime.kernels.quant.VectorQuantKernels qk = new dev.tokc.runtime.kernels.quant.VectorQuantKernels(pool);
                if (!kv.equals("bf16")) { // the same values, quantized on write
                    dev.tokc.runtime.kernels.quant.KvQuantFormat f = dev.tokc.runtime.kernels.quant.KvQuantFormat.valueOf(kv.toUpperCase());
                    long bytes = dev.tokc.runtime.kernels.quant.QuantKvCache.segmentBytes(numBlocks, block, heads.kvHeads(), heads.headDim(), f);
                    int width = heads.kvHeads() * heads.headDim();
                    MemorySegment kf = arena.allocate(4L * width, 64), vf = arena.allocate(4L * width, 64);
                    for (int l = 0; l < layers; l++) {
                        qcaches[l] = new dev.tokc.runtime.kernels.quant.QuantKvCache(arena.allocate(bytes, 64), arena.allocate(bytes, 64),
                                f, numBlocks, block, heads.kvHeads(), heads.headDim());
                        for (int slot = block; slot < numBlocks * block; slot++) {
                            for (int i = 0; i < width; i++) {
                                kf.setAtIndex(Elements.F32, i, Elements.read(caches[l].keys(), ElementType.BF16, (long) slot * width + i));
                                vf.setAtIndex(Elements.F32, i, Elements.read(caches[l].values(), ElementType.BF16, (long) slot * width + i));
                            }
                            qk.kvWrite(kf, vf, 1, new int[] {slot}, qcaches[l]);
                        }
                    }
                }
                int[][] tables = new int[1][blocksPerSeq];
                for (int b = 0; b < blocksPerSeq; b++) tables[0][b] = 1 + b;
                int[] lens = {context};
                MemorySegment q = arena.allocate(4L * heads.qHeads() * heads.headDim(), 64);
                for (int i = 0; i < heads.qHeads() * heads.headDim(); i++) q.setAtIndex(Elements.F32, i, (float) r.nextGaussian());
                MemorySegment out = arena.allocate(q.byteSize(), 64);
                boolean flush = Boolean.getBoolean("flush");
                int steps = flush ? 40 : 300;
                long[] all = new long[steps];
                MemorySegment junk = flush ? arena.allocate(64L << 20, 64) : null;
                long sink = 0;
                for (int it = 0; it < steps; it++) {
                    long el = 0;
                    for (int l = 0; l < layers; l++) {
                        if (flush) {
                            for (long b = 0; b < junk.byteSize(); b += 64) {
                                sink += junk.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b);
                            }
                        }
                        long t0 = System.nanoTime();
                        if (qcaches[l] != null) {
                            qk.pagedAttention(q, 1, qcaches[l], tables, lens, heads, 0.125f, out);
                        } else {
                            kernels.pagedAttention(q, 1, caches[l], tables, lens, heads, 0.125f, out);
                        }
                        el += System.nanoTime() - t0;
                    }
                    all[it] = el;
                }
                if (sink == 42) {
                    System.out.print(""); // keeps the flush's loads
                }
                java.util.Arrays.sort(all);
                long kvBytes = 2L * layers * context * heads.kvHeads() * heads.headDim() * 2;
                System.out.printf("ctx %5d: 22 layers best %.3f ms median %.3f ms per token (%.1f us/layer), KV %.1f MB -> %.1f GB/s%n",
                        context, all[0] / 1e6, all[steps / 2] / 1e6, all[steps / 2] / 1e3 / layers, kvBytes / 1e6, kvBytes / (double) all[steps / 2]);
            }
        }
    }
}
