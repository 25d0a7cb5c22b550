package dev.tokc.cli;

import java.util.random.RandomGenerator;

/**
 * A per-request length for the server load benchmark: {@code N} (every request the same) or {@code MIN:MAX}
 * (drawn uniformly per request, both ends included). Used for {@code --prompt-len} and {@code --gen-len}.
 */
record LoadGenLength(int min, int max) {
    LoadGenLength {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("bad length range " + min + ":" + max);
        }
    }

    /** Parses {@code N} or {@code MIN:MAX}; a bad value is a {@link UsageError} naming the flag. */
    static LoadGenLength parse(String flag, String value) {
        String v = value.strip();
        String[] parts = v.split(":", -1);
        if (parts.length > 2) {
            throw new UsageError("--" + flag + " expects N or MIN:MAX, got '" + value + "'");
        }
        int lo = positive(flag, parts[0], value);
        int hi = parts.length == 2 ? positive(flag, parts[1], value) : lo;
        if (hi < lo) {
            throw new UsageError("--" + flag + " MIN:MAX needs MIN <= MAX, got '" + value + "'");
        }
        return new LoadGenLength(lo, hi);
    }

    private static int positive(String flag, String part, String whole) {
        try {
            int x = Integer.parseInt(part.strip());
            if (x >= 1) {
                return x;
            }
        } catch (NumberFormatException e) {
            // falls through to the one message below
        }
        throw new UsageError("--" + flag + " expects N or MIN:MAX with positive integers, got '" + whole + "'");
    }

    int sample(RandomGenerator rnd) {
        return min == max ? min : rnd.nextInt(min, max + 1);
    }

    double mean() {
        return (min + (double) max) / 2;
    }

    @Override
    public String toString() {
        return min == max ? Integer.toString(min) : min + ":" + max;
    }
}
