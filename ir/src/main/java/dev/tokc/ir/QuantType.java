package dev.tokc.ir;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A packed quantized element type: a {@link QuantFormat} and its group size (0 for per-channel formats).
 * Text form: {@code int4g32}, {@code nf4g64}, {@code int8}, {@code fp8}, {@code w4a8g32}.
 */
public record QuantType(QuantFormat format, int groupSize) implements ElementType {
    private static final Pattern TEXT = Pattern.compile("([a-z0-9]+?)(?:g(\\d+))?");

    public QuantType {
        if (format.groupWise() && (groupSize <= 0 || groupSize % 2 != 0)) {
            throw new IllegalArgumentException(format.prefix() + " needs a positive even group size, got " + groupSize);
        }
        if (!format.groupWise() && groupSize != 0) {
            throw new IllegalArgumentException(format.prefix() + " is per-channel and takes no group size");
        }
        if (format == QuantFormat.W4A8 && groupSize % QuantFormat.W4A8_BLOCK != 0) {
            throw new IllegalArgumentException("w4a8 needs a group size that is a multiple of its activation block "
                    + QuantFormat.W4A8_BLOCK + ", got " + groupSize);
        }
    }

    public static QuantType parse(String text) {
        Matcher m = TEXT.matcher(text);
        if (m.matches()) {
            for (QuantFormat f : QuantFormat.values()) {
                if (f.prefix().equals(m.group(1))) {
                    return new QuantType(f, m.group(2) == null ? 0 : Integer.parseInt(m.group(2)));
                }
            }
        }
        throw new IllegalArgumentException("unknown element type '" + text + "'");
    }

    @Override
    public String textName() {
        return groupSize == 0 ? format.prefix() : format.prefix() + "g" + groupSize;
    }

    @Override
    public double bitsPerElement() {
        // Per-channel metadata is amortised over a row whose length the type does not know: count weights only.
        return format.groupWise() ? format.weightBits() + 8.0 * format.metaBytesPerGroup() / groupSize : format.weightBits();
    }

    @Override
    public String toString() {
        return textName();
    }
}
