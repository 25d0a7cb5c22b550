package dev.tokc.frontend.synth;

import java.nio.charset.StandardCharsets;

/**
 * Deterministic pseudo-random weight values, counter-based: element {@code i} of a tensor is a pure function of
 * (seed, tensor name, i). So the bytes do not depend on how the work is split into chunks or threads, and any
 * chunk can be generated without generating those before it.
 *
 * <p>Each element hashes its counter with SplitMix64's finaliser and sums the four 16-bit quarters of the result:
 * an Irwin-Hall(4) variate, which is close to normal (bounded at about +-3.5 sigma, which is harmless for weights)
 * and costs one hash per element, far cheaper than Box-Muller.
 */
final class RandomWeights {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    /** Mean and standard deviation of the sum of four independent uniform integers in [0, 65535]. */
    private static final double SUM_MEAN = 4 * 65535 / 2.0;
    private static final double SUM_STD = Math.sqrt(4 * (65536.0 * 65536.0 - 1) / 12);

    private RandomWeights() {}

    /** The stream seed for tensor {@code name} under the user's {@code seed}. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 of the name, so different tensors get unrelated streams
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return mix(seed ^ mix(h));
    }

    /** SplitMix64's output function: a bijective 64-bit mixer. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /**
     * Writes elements {@code first .. first + count - 1} of the stream into {@code out[0 .. count)}, as floats with
     * the given mean and standard deviation.
     */
    static void fill(long tensorSeed, long first, float mean, float std, float[] out, int count) {
        float scale = (float) (std / SUM_STD);
        float shift = (float) (mean - SUM_MEAN * std / SUM_STD);
        for (int i = 0; i < count; i++) {
            long x = mix(tensorSeed + (first + i) * GOLDEN);
            int sum = (int) (x & 0xFFFF) + (int) ((x >>> 16) & 0xFFFF) + (int) ((x >>> 32) & 0xFFFF) + (int) (x >>> 48);
            out[i] = sum * scale + shift;
        }
    }
}
