package dev.tokc.runtime.artifact;

import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * A snapshot of an {@link ArtifactWriter}'s progress, handed to a {@link Listener} after every tensor and at every
 * phase change. Totals are those announced with {@link ArtifactWriter#expect}; zero when none was announced.
 *
 * @param phase          what the writer is doing ({@code weights}, {@code hashing}, {@code manifest}, or a phase the
 *                       caller named with {@link ArtifactWriter#phase})
 * @param tensorsDone    tensors written so far
 * @param tensorsTotal   tensors announced, 0 if unknown
 * @param bytesDone      tensor bytes written so far
 * @param bytesTotal     tensor bytes announced, 0 if unknown
 * @param elapsed        time since the writer was created
 */
public record Progress(String phase, int tensorsDone, int tensorsTotal, long bytesDone, long bytesTotal, Duration elapsed) {
    /** Receives progress snapshots; called on the writing thread, so it must be quick. */
    @FunctionalInterface
    public interface Listener {
        void update(Progress progress);

        /** Ignores every update. */
        Listener NONE = p -> { };
    }

    /** Average tensor bytes per second since the start (0 before any time has passed). */
    public double bytesPerSecond() {
        double s = elapsed.toNanos() / 1e9;
        return s > 0 ? bytesDone / s : 0;
    }

    /** Estimated time left at the average rate so far; empty without an announced byte total or any progress yet. */
    public OptionalLong etaSeconds() {
        double rate = bytesPerSecond();
        if (bytesTotal <= 0 || rate <= 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of((long) Math.ceil(Math.max(0, bytesTotal - bytesDone) / rate));
    }

    /**
     * One terminal status line, e.g. {@code weights  120/201 tensors  1.10/2.20 GB  850 MB/s  ETA 2s}: the CLI
     * prints it after a carriage return.
     */
    public String line() {
        StringBuilder sb = new StringBuilder(phase);
        sb.append("  ").append(tensorsDone);
        if (tensorsTotal > 0) {
            sb.append('/').append(tensorsTotal);
        }
        sb.append(" tensors  ").append(gb(bytesDone));
        if (bytesTotal > 0) {
            sb.append('/').append(gb(bytesTotal));
        }
        sb.append(" GB  ").append(String.format(Locale.ROOT, "%.0f MB/s", bytesPerSecond() / 1e6));
        etaSeconds().ifPresent(s -> sb.append("  ETA ").append(s).append('s'));
        return sb.toString();
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f", bytes / 1e9);
    }
}
