package dev.tokc.passes.memory;

import dev.tokc.ir.Node;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where every activation of a program lives, per batch bucket: one arena per bucket, and for each activation value
 * an offset and a size in it. Immutable; made by {@link MemoryPlanner}.
 *
 * <p>Activations are the values the program computes at run time: not graph inputs (the runtime owns their
 * buffers), weights, constants, dims, nor <em>weight expressions</em> (values computed only from weights, which the
 * backend evaluates once into the weights file). Two values that are live at the same step of the schedule never
 * overlap in the arena; a value whose op may write its result over an input that dies there ({@link Value#inPlaceOf})
 * shares that input's bytes.
 *
 * @param graphName the planned graph
 * @param buckets   the buckets, in the order of every per-bucket array
 * @param values    one entry per activation, in schedule order
 * @param alignment the byte alignment of every offset
 */
public record MemoryPlan(String graphName, List<BatchBucket> buckets, List<Value> values, long alignment) {

    /**
     * One activation value.
     *
     * @param node      the value
     * @param step      its position in the schedule (the topological order of {@code Graph.nodes()})
     * @param lastUse   the last step that reads it (the last step of the program for a graph output)
     * @param offsets   byte offset in each bucket's arena
     * @param sizes     byte size in each bucket
     * @param inPlaceOf the value whose bytes it reuses (an input that dies at this step), or null
     */
    public record Value(Node node, int step, int lastUse, long[] offsets, long[] sizes, Node inPlaceOf) {
        public Value {
            offsets = offsets.clone();
            sizes = sizes.clone();
        }

        public long offset(int bucket) {
            return offsets[bucket];
        }

        public long size(int bucket) {
            return sizes[bucket];
        }

        /** Whether both values are live at some common step. */
        public boolean liveTogether(Value o) {
            return step <= o.lastUse && o.step <= lastUse;
        }

        @Override
        public long[] offsets() {
            return offsets.clone();
        }

        @Override
        public long[] sizes() {
            return sizes.clone();
        }
    }

    public MemoryPlan {
        buckets = List.copyOf(buckets);
        values = List.copyOf(values);
    }

    /** The entry of {@code node}, or null when it is not an activation. */
    public Value valueOf(Node node) {
        for (Value v : values) {
            if (v.node() == node) {
                return v;
            }
        }
        return null;
    }

    /** Bytes of the bucket's arena: the end of the highest-placed value. */
    public long arenaBytes(int bucket) {
        long max = 0;
        for (Value v : values) {
            max = Math.max(max, v.offset(bucket) + v.size(bucket));
        }
        return align(max);
    }

    /** Bytes without planning: every activation in its own buffer (the sum of all sizes). */
    public long unplannedBytes(int bucket) {
        return values.stream().mapToLong(v -> v.size(bucket)).sum();
    }

    /**
     * The most bytes live at one step (in-place values counted once with their input): a lower bound for any
     * arena, so {@code arenaBytes / peakLiveBytes} says how close the placement is to optimal.
     */
    public long peakLiveBytes(int bucket) {
        int steps = values.stream().mapToInt(Value::lastUse).max().orElse(-1) + 1;
        long[] live = new long[Math.max(steps, 0) + 1];
        Map<Node, Value> byNode = new IdentityHashMap<>();
        values.forEach(v -> byNode.put(v.node(), v));
        for (Value v : values) {
            // An in-place value continues its input's buffer from the step the input dies.
            int from = v.inPlaceOf() != null ? v.step() + 1 : v.step();
            for (int s = from; s <= v.lastUse(); s++) {
                live[s] += v.size(bucket);
            }
        }
        long max = 0;
        for (long l : live) {
            max = Math.max(max, l);
        }
        return max;
    }

    /** Values that reuse an input's bytes. */
    public long inPlaceCount() {
        return values.stream().filter(v -> v.inPlaceOf() != null).count();
    }

    /**
     * The report {@code tokc compile --emit ir-opt} prints: one line per bucket with the activation bytes before
     * planning (every value in its own buffer), the peak live bytes and the arena; with {@code perValue}, also
     * each value's offset and size in every bucket.
     */
    public String render(boolean perValue) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "// memory plan @%s: %d activation values (%d in place), offsets aligned to %d bytes%n",
                graphName, values.size(), inPlaceCount(), alignment));
        sb.append(String.format(Locale.ROOT, "// %-16s %14s %14s %14s %8s%n", "bucket", "before (sum)", "peak live", "arena", "saved"));
        for (int b = 0; b < buckets.size(); b++) {
            long before = unplannedBytes(b);
            long arena = arenaBytes(b);
            double saved = before == 0 ? 0 : 100.0 * (before - arena) / before;
            sb.append(String.format(Locale.ROOT, "// %-16s %14s %14s %14s %7.1f%%%n", buckets.get(b).name(), bytes(before),
                    bytes(peakLiveBytes(b)), bytes(arena), saved));
        }
        if (perValue) {
            List<String> header = new ArrayList<>();
            buckets.forEach(bk -> header.add(bk.name()));
            sb.append("// value  [step..last use]  offset+size per bucket (").append(String.join(", ", header)).append(")\n");
            for (Value v : values) {
                sb.append("//   ").append(v.node().name() != null ? "%" + v.node().name() : v.node().op().name() + "#" + v.step())
                        .append(" [").append(v.step()).append("..").append(v.lastUse()).append("]");
                for (int b = 0; b < buckets.size(); b++) {
                    sb.append(' ').append(v.offset(b)).append('+').append(v.size(b));
                }
                if (v.inPlaceOf() != null) {
                    sb.append("  (in place)");
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** The report without the per-value table. */
    public String render() {
        return render(false);
    }

    long align(long n) {
        return Math.ceilDiv(n, alignment) * alignment;
    }

    static String bytes(long n) {
        return String.format(Locale.ROOT, "%,d B", n);
    }
}
