package dev.tokc.runtime.server;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where a server's memory goes, decided before the first request: the mapped weights, the activation arena
 * (measured by a warm-up step of the full token budget), and the KV pool of whole blocks. Printed at start;
 * {@link #problem()} names why it cannot work, so the server refuses to start instead of failing under load.
 *
 * <pre>
 *   weights 10.2 MB + activations 6.1 MB + KV 21846 blocks x 48.0 KiB = 1.00 GiB (349520 tokens)
 *   = 1.02 GiB of 17.3 GiB available
 * </pre>
 *
 * @param weightsBytes     bytes of the engine's weights files (memory-mapped)
 * @param activationBytes  bytes of the activation arena; 0 before the warm-up measured it
 * @param kvBlocks         blocks in the pool, the null block included
 * @param kvBytesPerBlock  bytes of one block over all layers, K and V
 * @param blockSize        tokens per block
 * @param maxModelLen      prompt plus output of one request at most
 * @param availableBytes   memory the OS says is available (Linux MemAvailable), when known
 */
public record MemoryPlan(long weightsBytes, long activationBytes, long kvBlocks, long kvBytesPerBlock, int blockSize,
                         int maxModelLen, OptionalLong availableBytes) {

    /** Blocks (null block included) that {@code options} asks for, given the engine's bytes per block. */
    public static long requestedBlocks(ServeOptions options, long kvBytesPerBlock) {
        return options.kvBlocks().isPresent() ? options.kvBlocks().getAsInt()
                : options.kvCacheMemoryBytes() / kvBytesPerBlock;
    }

    public long kvBytes() {
        return kvBlocks * kvBytesPerBlock;
    }

    /** Tokens the pool holds at once, over all sequences (the null block excluded). */
    public long tokensThatFit() {
        return (kvBlocks - 1) * blockSize;
    }

    public long totalBytes() {
        return weightsBytes + activationBytes + kvBytes();
    }

    /** This plan with the measured arena. */
    public MemoryPlan withActivationBytes(long bytes) {
        return new MemoryPlan(weightsBytes, bytes, kvBlocks, kvBytesPerBlock, blockSize, maxModelLen, availableBytes);
    }

    /** Why this plan cannot serve, or empty when it can. */
    public Optional<String> problem() {
        if (kvBlocks < 2) {
            return Optional.of("the KV pool would hold " + kvBlocks + " block(s) of " + bytes(kvBytesPerBlock)
                    + "; it needs at least 2 (block 0 is reserved): raise --kv-cache-memory or --kv-blocks");
        }
        if (tokensThatFit() < maxModelLen) {
            return Optional.of("the KV pool holds " + tokensThatFit() + " tokens (" + (kvBlocks - 1) + " blocks x "
                    + blockSize + "), less than one request of the model's context (" + maxModelLen
                    + " tokens): raise --kv-cache-memory / --kv-blocks or lower --max-model-len");
        }
        if (availableBytes.isPresent() && totalBytes() > availableBytes.getAsLong()) {
            return Optional.of("the memory plan needs " + bytes(totalBytes()) + " but only "
                    + bytes(availableBytes.getAsLong()) + " is available: lower --kv-cache-memory / --kv-blocks");
        }
        if (kvBlocks > Integer.MAX_VALUE / 2) {
            return Optional.of("the KV pool of " + kvBlocks + " blocks is more than one process can index: lower "
                    + "--kv-cache-memory / --kv-blocks");
        }
        return Optional.empty();
    }

    /** The plan as the server prints it at start, one item per line. */
    public String describe() {
        StringBuilder s = new StringBuilder("memory plan:\n");
        s.append(String.format(Locale.ROOT, "  weights      %12s (memory-mapped)%n", bytes(weightsBytes)));
        s.append(String.format(Locale.ROOT, "  activations  %12s (arena after a warm-up step of the full token budget)%n",
                activationBytes == 0 ? "not measured" : bytes(activationBytes)));
        s.append(String.format(Locale.ROOT, "  KV cache     %12s = %d blocks x %s (%d tokens per block; block 0 reserved)%n",
                bytes(kvBytes()), kvBlocks, bytes(kvBytesPerBlock), blockSize));
        s.append(String.format(Locale.ROOT, "  tokens that fit: %d (%.1f requests of the full context %d)%n",
                tokensThatFit(), (double) tokensThatFit() / maxModelLen, maxModelLen));
        s.append(String.format(Locale.ROOT, "  total        %12s of %s available", bytes(totalBytes()),
                availableBytes.isPresent() ? bytes(availableBytes.getAsLong()) : "unknown"));
        return s.toString();
    }

    /** Memory available to a new allocation: Linux's MemAvailable, else the JVM's view of free physical memory. */
    public static OptionalLong availableMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] f = line.trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(f[1]) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return OptionalLong.of(os.getFreeMemorySize());
        }
        return OptionalLong.empty();
    }

    /** Bytes in binary units, e.g. {@code 48.0 KiB}, {@code 1.00 GiB}. */
    public static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
    }

    /**
     * Parses a size such as {@code 2GiB}, {@code 512MiB}, {@code 1.5G}, {@code 1000000}: binary units
     * (K/M/G/T, with or without {@code iB}/{@code B}); a bare number is bytes.
     */
    public static long parseBytes(String text) {
        String t = text.trim();
        String num = t.replaceAll("(?i)\\s*([kmgt]i?b?|b)$", "");
        String unit = t.substring(num.length()).trim().toUpperCase(Locale.ROOT);
        double v;
        try {
            v = Double.parseDouble(num);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (expected e.g. 2GiB, 512MiB, 1048576)");
        }
        long mult = switch (unit.isEmpty() ? "" : unit.substring(0, 1)) {
            case "", "B" -> 1L;
            case "K" -> 1L << 10;
            case "M" -> 1L << 20;
            case "G" -> 1L << 30;
            case "T" -> 1L << 40;
            default -> throw new IllegalArgumentException("not a size: '" + text + "'");
        };
        if (!(v > 0) || v * mult > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("not a positive size: '" + text + "'");
        }
        return (long) (v * mult);
    }
}
