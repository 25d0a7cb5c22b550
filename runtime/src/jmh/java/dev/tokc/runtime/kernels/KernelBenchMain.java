package dev.tokc.runtime.kernels;

import java.util.Collection;
import java.util.Map;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the kernel benchmarks (JMH command-line options pass through, e.g. a benchmark regex, {@code -p m=1})
 * and prints each result as GB/s and GFLOP/s next to the time per op, then the read-bandwidth probe for 1 and 2
 * threads, so the GEMV figures can be read as a fraction of what the memory system delivers.
 */
public final class KernelBenchMain {
    private KernelBenchMain() {
    }

    public static void main(String[] args) throws RunnerException, org.openjdk.jmh.runner.options.CommandLineOptionException {
        Options options = new OptionsBuilder().parent(new CommandLineOptions(args))
                .jvmArgsAppend("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED")
                .build();
        Collection<RunResult> results = new Runner(options).run();
        System.out.println();
        System.out.printf("%-40s %-40s %12s %10s %10s%n", "benchmark", "params", "us/op", "GB/s", "GFLOP/s");
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            Map<String, String> p = new java.util.TreeMap<>();
            for (String key : r.getParams().getParamsKeys()) {
                p.put(key, r.getParams().getParam(key));
            }
            double us = r.getPrimaryResult().getScore();
            double[] bytesFlops = traffic(name, p);
            System.out.printf("%-40s %-40s %12.1f %10.1f %10.1f%n", name, p, us,
                    bytesFlops[0] / us / 1e3, bytesFlops[1] / us / 1e3);
        }
        if (Boolean.getBoolean("tokc.bench.bandwidth")) {
            for (int threads = 1; threads <= 2; threads++) {
                System.out.println(MemoryBandwidth.measure(threads));
            }
        }
    }

    /** Bytes moved and floating-point operations of one op, from its benchmark parameters. */
    static double[] traffic(String benchmark, Map<String, String> p) {
        switch (benchmark) {
            case "gemm" -> {
                String[] kn = p.get("shape").split("x");
                double k = Double.parseDouble(kn[0]);
                double n = Double.parseDouble(kn[1]);
                double m = Double.parseDouble(p.get("m"));
                double w = switch (ElementType.valueOf(p.get("type"))) {
                    case F32 -> 4;
                    case BF16, F16 -> 2;
                };
                return new double[] {n * k * w + m * k * 4 + m * n * 4, 2 * m * n * k};
            }
            case "pagedDecode" -> {
                double seqs = Double.parseDouble(p.get("seqs"));
                double ctx = Double.parseDouble(p.get("context"));
                AttentionHeads h = AttentionBench.HEADS;
                double kv = 2 * seqs * ctx * h.kvHeads() * h.headDim() * 2; // bf16 K and V
                return new double[] {kv, 4 * seqs * ctx * h.qHeads() * h.headDim()};
            }
            case "flashPrefill" -> {
                double ctx = Double.parseDouble(p.get("context"));
                AttentionHeads h = AttentionBench.HEADS;
                double qkvo = ctx * (2 * h.qHeads() + 2 * h.kvHeads()) * h.headDim() * 4;
                return new double[] {qkvo, 4 * ctx * ctx / 2 * h.qHeads() * h.headDim()};
            }
            default -> {
                return new double[] {Double.NaN, Double.NaN};
            }
        }
    }
}
