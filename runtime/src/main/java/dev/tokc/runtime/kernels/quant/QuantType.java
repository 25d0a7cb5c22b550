package dev.tokc.runtime.kernels.quant;

import java.util.Objects;

/**
 * A packed weight type: a {@link QuantFormat} and its group size (0 for the per-channel formats). Group-wise formats
 * need a positive even group size, since two 4-bit weights share a byte.
 */
public record QuantType(QuantFormat format, int groupSize) {
    public static final QuantType INT8 = new QuantType(QuantFormat.INT8, 0);
    public static final QuantType FP8 = new QuantType(QuantFormat.FP8, 0);

    public QuantType {
        Objects.requireNonNull(format, "format");
        if (format.groupWise() && (groupSize <= 0 || groupSize % 2 != 0)) {
            throw new IllegalArgumentException(format + " needs a positive even group size, got " + groupSize);
        }
        if (!format.groupWise() && groupSize != 0) {
            throw new IllegalArgumentException(format + " is per-channel and takes no group size, got " + groupSize);
        }
        if (format == QuantFormat.W4A8 && groupSize % W4A8.BLOCK != 0) {
            throw new IllegalArgumentException("w4a8 needs a group size that is a multiple of its activation block "
                    + W4A8.BLOCK + ", got " + groupSize);
        }
    }

    /** int4 with groups of {@code groupSize} weights. */
    public static QuantType int4(int groupSize) {
        return new QuantType(QuantFormat.INT4, groupSize);
    }

    /** NF4 with groups of {@code groupSize} weights. */
    public static QuantType nf4(int groupSize) {
        return new QuantType(QuantFormat.NF4, groupSize);
    }

    /** Parses the text form of {@link #toString()}: {@code int8}, {@code fp8}, {@code int4g32}, {@code nf4g64}. */
    public static QuantType parse(String text) {
        int g = text.indexOf('g');
        String name = g < 0 ? text : text.substring(0, g);
        for (QuantFormat f : QuantFormat.values()) {
            if (f.name().toLowerCase(java.util.Locale.ROOT).equals(name)) {
                try {
                    return new QuantType(f, g < 0 ? 0 : Integer.parseInt(text.substring(g + 1)));
                } catch (NumberFormatException e) {
                    break;
                }
            }
        }
        throw new IllegalArgumentException("unknown quantized type '" + text + "'");
    }

    /** Weights per metadata block: the group size, or {@code cols} for a per-channel format. */
    public int groupLength(int cols) {
        return format.groupWise() ? groupSize : cols;
    }

    /**
     * Bytes of one row of {@code cols} weights. Group-wise formats need {@code cols} to be a multiple of the group
     * size (a partial group would have no defined layout).
     */
    public long bytesPerRow(long cols) {
        if (cols <= 0) {
            throw new IllegalArgumentException("row length must be positive, got " + cols);
        }
        if (!format.groupWise()) {
            return format.metaBytesPerGroup() + cols;
        }
        if (cols % groupSize != 0) {
            throw new IllegalArgumentException(this + " needs a row length divisible by " + groupSize + ", got " + cols);
        }
        return cols / groupSize * (format.metaBytesPerGroup() + groupSize / 2);
    }

    /** Bytes of one group (metadata and packed weights); per-channel formats: of one row of {@code cols}. */
    public long bytesPerGroup(long cols) {
        return format.groupWise() ? format.metaBytesPerGroup() + groupSize / 2 : bytesPerRow(cols);
    }

    /**
     * Total packed bytes of a {@code [rows, cols]} matrix. W4A8 stores whole blocks of {@value W4A8#ROWS} rows, the
     * last one padded with zero rows.
     */
    public long packedBytes(long rows, long cols) {
        long stored = format == QuantFormat.W4A8 ? Math.ceilDiv(rows, W4A8.ROWS) * W4A8.ROWS : rows;
        return Math.multiplyExact(stored, bytesPerRow(cols));
    }

    /** The compiler's text form: {@code int8}, {@code fp8}, {@code int4g32}, {@code nf4g64}. */
    @Override
    public String toString() {
        String p = format.name().toLowerCase(java.util.Locale.ROOT);
        return format.groupWise() ? p + "g" + groupSize : p;
    }
}
