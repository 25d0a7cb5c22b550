package dev.tokc.frontend.hf;

/**
 * Rotary position embedding settings: base {@code theta}, how many leading dimensions of each head rotate
 * ({@code rotaryDim}, = head_dim * partial_rotary_factor) and the frequency scaling.
 *
 * <p>{@link #inverseFrequencies()} reproduces transformers' {@code ROPE_INIT_FUNCTIONS} (modeling_rope_utils.py)
 * for the supported types, in float32 arithmetic as PyTorch performs it there (each operation rounded to float;
 * the one {@code pow} may differ from torch's by at most one ulp, as libm implementations do). With
 * {@code d = rotaryDim} and {@code i = 0 .. d/2-1}:
 * <ul>
 *   <li><b>default</b>: {@code inv[i] = 1 / theta^(2i / d)}.</li>
 *   <li><b>linear</b> (position interpolation): {@code inv[i] = default[i] / factor}.</li>
 *   <li><b>llama3</b>: with {@code wavelen = 2 pi / default[i]}, {@code lowWavelen = originalMax / lowFreqFactor},
 *       {@code highWavelen = originalMax / highFreqFactor}: wavelengths longer than {@code lowWavelen} are divided
 *       by {@code factor}; shorter than {@code highWavelen} are kept; in between they are interpolated with
 *       {@code s = (originalMax / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)} as
 *       {@code (1 - s) * inv / factor + s * inv}.</li>
 * </ul>
 * All supported types leave the attention scaling ("attention_factor") at 1. Types that depend on the runtime
 * sequence length (dynamic) or rescale attention (yarn, longrope) are rejected when parsing config.json.
 */
public record RopeConfig(double theta, int rotaryDim, Scaling scaling) {
    /** Frequency scaling, one record per supported {@code rope_type}. */
    public sealed interface Scaling permits Default, Linear, Llama3 {
        /** The transformers {@code rope_type} name. */
        String type();
    }

    /** No scaling ({@code rope_type = "default"}). */
    public record Default() implements Scaling {
        @Override
        public String type() {
            return "default";
        }
    }

    /** Linear position interpolation: every frequency divided by {@code factor}. */
    public record Linear(double factor) implements Scaling {
        public Linear {
            if (!(factor > 0) || Double.isInfinite(factor)) {
                throw new IllegalArgumentException("linear RoPE factor must be positive and finite, got " + factor);
            }
        }

        @Override
        public String type() {
            return "linear";
        }
    }

    /** Llama 3.1's wavelength-dependent scaling. */
    public record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings)
            implements Scaling {
        public Llama3 {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException("llama3 RoPE needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
                        + "original_max_position_embeddings > 0, got factor=" + factor + " low=" + lowFreqFactor + " high="
                        + highFreqFactor + " original_max_position_embeddings=" + originalMaxPositionEmbeddings);
            }
        }

        @Override
        public String type() {
            return "llama3";
        }
    }

    public RopeConfig {
        if (!(theta > 0) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("rope_theta must be positive and finite, got " + theta);
        }
        if (rotaryDim <= 0 || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary dimension must be positive and even, got " + rotaryDim);
        }
    }

    /** The {@code rotaryDim / 2} inverse frequencies, as transformers computes them (see the class comment). */
    public float[] inverseFrequencies() {
        float[] inv = defaultInverseFrequencies();
        switch (scaling) {
            case Default d -> { }
            case Linear l -> {
                float factor = (float) l.factor();
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = inv[i] / factor;
                }
            }
            case Llama3 l -> applyLlama3(inv, l);
        }
        return inv;
    }

    // torch: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=int64).float() / dim)), all float32.
    private float[] defaultInverseFrequencies() {
        float[] inv = new float[rotaryDim / 2];
        float base = (float) theta;
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) rotaryDim;
            float power = (float) Math.pow(base, exponent);
            inv[i] = 1.0f / power;
        }
        return inv;
    }

    // Python scalars meet float32 tensors here, so torch converts them to float32 first; we do the same.
    private static void applyLlama3(float[] inv, Llama3 l) {
        float factor = (float) l.factor();
        float low = (float) l.lowFreqFactor();
        float oldContext = (float) l.originalMaxPositionEmbeddings();
        float lowFreqWavelen = (float) (l.originalMaxPositionEmbeddings() / l.lowFreqFactor());
        float highFreqWavelen = (float) (l.originalMaxPositionEmbeddings() / l.highFreqFactor());
        float highMinusLow = (float) (l.highFreqFactor() - l.lowFreqFactor());
        float twoPi = (float) (2 * Math.PI);
        for (int i = 0; i < inv.length; i++) {
            float f = inv[i];
            float wavelen = twoPi / f;
            float scaled = wavelen > lowFreqWavelen ? f / factor : f;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (oldContext / wavelen - low) / highMinusLow;
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            inv[i] = scaled;
        }
    }
}
