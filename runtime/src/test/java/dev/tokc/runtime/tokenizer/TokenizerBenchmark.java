package dev.tokc.runtime.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Load and encode timings for the big vocabularies; a program, not a test (speed is never asserted in tests).
 *
 * <p>Run from the repository root after {@code ./mvnw -pl runtime test-compile}:
 * {@code java -cp runtime/target/classes:runtime/target/test-classes:<deps> dev.tokc.runtime.tokenizer.TokenizerBenchmark
 * ../shared/tokenizers/llama3 ../shared/corpus/tinyshakespeare.txt}. Each run reports the first load in a fresh JVM,
 * (wall time, process CPU time and the loading thread's CPU time, since a shared host inflates wall time), the first
 * encode of the corpus (cold word cache) and the best of five later encodes and decodes.
 */
public final class TokenizerBenchmark {
    private TokenizerBenchmark() {}

    /** CPU time of the whole process (all threads, JIT and GC included): less skewed than wall time on a busy host. */
    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) throws IOException {
        String text = Files.readString(Path.of(args[args.length - 1]), StandardCharsets.UTF_8);
        double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
        for (int i = 0; i < args.length - 1; i++) {
            long th0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            Tokenizer tokenizer = Tokenizers.load(Path.of(args[i]));
            long t1 = System.nanoTime();
            long c1 = cpuNanos();
            long loadThreadNanos = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - th0;
            long th1 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            int[] ids = tokenizer.encode(text, false);
            long t2 = System.nanoTime();
            long firstEncodeThreadNanos =
                    java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - th1;
            long bestEncode = Long.MAX_VALUE;
            long bestDecode = Long.MAX_VALUE;
            for (int r = 0; r < 5; r++) {
                long s = System.nanoTime();
                ids = tokenizer.encode(text, false);
                long e = System.nanoTime();
                String back = tokenizer.decode(ids);
                long d = System.nanoTime();
                bestEncode = Math.min(bestEncode, e - s);
                bestDecode = Math.min(bestDecode, d - e);
                if (back.length() == 0) {
                    throw new AssertionError("empty decode");
                }
            }
            System.out.printf("%s: load %.0f ms (process CPU %.0f ms, this thread %.0f ms), %d tokens; "
                    + "first encode %.2f MB/s (%.2f MB/s of thread CPU), warm encode %.2f MB/s, decode %.2f MB/s%n",
                    args[i], (t1 - t0) / 1e6, (c1 - c0) / 1e6, loadThreadNanos / 1e6, ids.length,
                    mb / ((t2 - t1) / 1e9), mb / (firstEncodeThreadNanos / 1e9), mb / (bestEncode / 1e9),
                    mb / (bestDecode / 1e9));
        }
    }
}
