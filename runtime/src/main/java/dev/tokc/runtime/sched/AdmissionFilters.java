package dev.tokc.runtime.sched;

import java.time.Duration;
import java.util.function.LongSupplier;

/** The admission features, each a small named filter (see {@link AdmissionFilter}). */
public final class AdmissionFilters {

    private AdmissionFilters() {}

    /**
     * Turns chunked prefill off for admission: a sequence joins only when its whole remaining prompt fits in the
     * step's budget. {@link GenerationLoop} rejects prompts longer than the budget at submission under it.
     */
    public record NoChunkedPrefill() implements AdmissionFilter {
        @Override
        public int admit(Candidate c, StepState step, int proposed) {
            return proposed == c.remainingTokens() ? proposed : 0;
        }
    }

    /**
     * Caps the first chunk of an admitted prompt, so one long prompt cannot take the whole budget of the step it
     * joins (vLLM's long-prefill threshold, applied at admission).
     */
    public record MaxFirstChunk(int maxTokens) implements AdmissionFilter {
        public MaxFirstChunk {
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
            }
        }

        @Override
        public int admit(Candidate c, StepState step, int proposed) {
            return Math.min(proposed, maxTokens);
        }
    }

    /**
     * Admits only while, after the first chunk's new blocks, at least {@code fraction} of the pool stays free:
     * headroom for running sequences to grow before one must be preempted.
     */
    public record KvWatermark(double fraction) implements AdmissionFilter {
        public KvWatermark {
            if (!(fraction >= 0 && fraction < 1)) {
                throw new IllegalArgumentException("fraction must be in [0, 1), got " + fraction);
            }
        }

        @Override
        public int admit(Candidate c, StepState step, int proposed) {
            int bs = step.blockSize();
            int need = (c.cachedTokens() + proposed + bs - 1) / bs - c.cachedTokens() / bs;
            return step.freeBlocks() - need >= fraction * step.totalBlocks() ? proposed : 0;
        }
    }

    /**
     * Static batching, for comparison only: a batch forms only when nothing is running, and only once
     * {@code batchSize} sequences wait or the oldest has waited {@code maxWait}; then up to {@code batchSize}
     * join in that one step (as far as its token budget allows) and run to completion before the next batch
     * forms. Preempted members rejoin with a later batch.
     *
     * <pre>
     *   continuous: |A A A B A B C B C ...        B joins the step after it arrives
     *   static:     |A A A ... A (done) | B C B C ...   B waits for A's whole batch
     * </pre>
     *
     * @param nanoClock the loop's clock ({@link System#nanoTime} in production)
     */
    public record StaticBatching(int batchSize, Duration maxWait, LongSupplier nanoClock) implements AdmissionFilter {
        public StaticBatching {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            }
        }

        @Override
        public int admit(Candidate c, StepState step, int proposed) {
            if (step.runningBeforeAdmission() > 0 || step.admittedThisStep() >= batchSize) {
                return 0;
            }
            boolean batchForming = step.admittedThisStep() > 0;   // an earlier candidate opened it this step
            boolean full = step.waiting() >= batchSize;
            boolean waitedEnough = nanoClock.getAsLong() - c.arrivalNanos() >= maxWait.toNanos();
            return batchForming || full || waitedEnough ? proposed : 0;
        }
    }
}
