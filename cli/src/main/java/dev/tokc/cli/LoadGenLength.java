package dev.tokc.cli;

import java.util.random.RandomGenerator;

/**
 * A per-request length for the server load benchmark: {@code N} (every request the same) or {@code MIN:MAX}
 * (drawn per request, both ends included, by a {@link Dist}). Used for {@code --prompt-len} and {@code --gen-len}.
 */
record LoadGenLength(int min, int max) {
    /**
     * How a {@code MIN:MAX} length is drawn. Uniform is the usual benchmark mix; log-uniform (the logarithm uniform,
     * so as many requests in 16..32 as in 128..256) has the long tail of real chat traffic: many short requests, a
     * few long ones, which is what makes a static batch wait for its longest member.
     */
    enum Dist {
        UNIFORM("uniform"), LOG_UNIFORM("log-uniform");

        final String flag;

        Dist(String flag) {
            this.flag = flag;
        }

        static Dist parse(String v) {
            for (Dist d : values()) {
                if (d.flag.equals(v.strip())) {
                    return d;
                }
            }
            throw new UsageError("--length-dist expects uniform or log-uniform, got '" + v + "'");
        }
    }

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
        return sample(rnd, Dist.UNIFORM);
    }

    int sample(RandomGenerator rnd, Dist dist) {
        if (min == max) {
            return min;
        }
        return switch (dist) {
            case UNIFORM -> rnd.nextInt(min, max + 1);
            // exp of a uniform in [ln min, ln(max + 1)) lies in [min, max + 1): its floor in [min, max]
            case LOG_UNIFORM -> {
                double x = Math.exp(rnd.nextDouble(Math.log(min), Math.log(max + 1.0)));
                yield Math.min(max, (int) Math.floor(x)); // min() guards the rounding of exp at the top end
            }
        };
    }

    @Override
    public String toString() {
        return min == max ? Integer.toString(min) : min + ":" + max;
    }
}
