package dev.tokc.runtime.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collection;
import java.util.Random;

import dev.tokc.runtime.kernels.MemoryBandwidth;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link QuantGemvBench} (JMH command-line options pass through, e.g. {@code -p type=int8}) and prints each
 * result as GB/s of packed weight bytes (scales and zero points included) and as weights per nanosecond, then,
 * with {@code -Dtokc.bench.bandwidth=true}, the read-bandwidth probe for 1 and 2 threads (the roofline).
 */
public final class QuantBenchMain {
    private QuantBenchMain() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        Options options = new OptionsBuilder().parent(new CommandLineOptions(args))
                .include(QuantGemvBench.class.getSimpleName())
                .jvmArgsAppend("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED")
                .build();
        Collection<RunResult> results = new Runner(options).run();
        System.out.println();
        System.out.printf("%-10s %-10s %4s %8s %12s %10s %10s%n", "type", "k x n", "m", "threads", "us/op", "GB/s", "Gweight/s");
        for (RunResult r : results) {
            String type = r.getParams().getParam("type");
            String shape = r.getParams().getParam("shape");
            String[] kn = shape.split("x");
            long k = Long.parseLong(kn[0]);
            long n = Long.parseLong(kn[1]);
            double us = r.getPrimaryResult().getScore();
            double bytes = QuantType.parse(type).packedBytes(n, k);
            System.out.printf("%-10s %-10s %4s %8s %12.1f %10.1f %10.1f%n", type, shape, r.getParams().getParam("m"),
                    r.getParams().getParam("threads"), us, bytes / us / 1e3, n * k / us / 1e3);
        }
        if (Boolean.getBoolean("tokc.bench.bandwidth")) {
            for (int threads = 1; threads <= 2; threads++) {
                System.out.println(MemoryBandwidth.measure(threads));
            }
        }
    }

    /**
     * Enough copies of one quantized N(0, 0.02^2) matrix that together they exceed L3 by far (>= 256 MiB), so
     * every GEMV streams its weights from DRAM.
     */
    static QuantizedMatrix[] weightCopies(Arena arena, QuantType t, int n, int k, Random random) {
        return weightCopies(arena, t, n, k, random, 256L << 20);
    }

    /** As {@link #weightCopies(Arena, QuantType, int, int, Random)} with {@code total} bytes (1: a single copy). */
    static QuantizedMatrix[] weightCopies(Arena arena, QuantType t, int n, int k, Random random, long total) {
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * 0.02);
        }
        QuantizedMatrix first = Quantizer.quantize(t, w, n, k, arena);
        long bytes = first.packedBytes();
        int copies = (int) Math.max(1, Math.min(256, total / bytes));
        QuantizedMatrix[] out = new QuantizedMatrix[copies];
        out[0] = first;
        for (int c = 1; c < copies; c++) {
            MemorySegment d = arena.allocate(bytes, 64).copyFrom(first.data().asSlice(0, bytes));
            out[c] = new QuantizedMatrix(d, t, n, k);
        }
        return out;
    }
}
