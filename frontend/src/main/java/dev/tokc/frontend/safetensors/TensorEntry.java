package dev.tokc.frontend.safetensors;

import java.util.List;

/**
 * One tensor as a safetensors header declares it: name, element type, shape and its byte range
 * {@code [begin, end)} relative to the start of the data area (which follows the 8-byte length and the header).
 *
 * <p>Offsets are longs: files over 2 GB are ordinary. A validated entry satisfies
 * {@code end - begin == elementCount() * dtype.byteSize()}.
 */
public record TensorEntry(String name, DType dtype, List<Long> shape, long begin, long end) {
    public TensorEntry {
        shape = List.copyOf(shape);
    }

    /** Product of the dimensions (1 for a scalar, 0 when any dimension is 0). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Length of the byte range. */
    public long byteLength() {
        return end - begin;
    }
}
