package dev.tokc.runtime.artifact;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * One tensor of the engine's tensor table: where its bytes lie in a weights file and how to read them.
 *
 * <p>Invariants checked on construction (so a manifest that violates them fails to parse, naming the tensor):
 * {@code offset} is a multiple of {@link #ALIGNMENT}, {@code offset + byteLength} does not overflow, dimensions
 * are non-negative, and for the plain element types ({@link #elementSize}) the byte length is exactly
 * elements x element size. Packed quantized types ({@code int4}, {@code nf4}, ...) carry their block geometry in
 * the dtype name and are checked by the kernels that read them. Whether the range lies inside the file is checked
 * by the loader against the actual file.
 *
 * @param name       the tensor's name (the checkpoint's name, or the compiler's for fused or re-laid-out tensors)
 * @param file       the weights file holding it, relative to the engine directory
 * @param offset     byte offset in that file, 64-byte aligned
 * @param byteLength bytes the tensor occupies
 * @param dtype      element type as the IR spells it ({@code f32}, {@code bf16}, {@code f16}, {@code i8}, ...)
 * @param shape      logical shape as the kernels index it
 * @param layout     layout tag, how the kernels must read the bytes (e.g. {@code row_major}, or a blocked layout
 *                   a pass chose for a GEMM kernel)
 */
public record TensorEntry(String name, String file, long offset, long byteLength, String dtype, List<Long> shape,
        String layout) {
    /** Every tensor starts at a multiple of this many bytes: one cache line, and the widest vector load (AVX-512). */
    public static final int ALIGNMENT = 64;

    /** The layout tag of a plain row-major tensor. */
    public static final String ROW_MAJOR = "row_major";

    private static final Map<String, Integer> PLAIN_SIZES = Map.ofEntries(
            Map.entry("f64", 8), Map.entry("f32", 4), Map.entry("f16", 2), Map.entry("bf16", 2),
            Map.entry("i64", 8), Map.entry("i32", 4), Map.entry("i16", 2), Map.entry("i8", 1), Map.entry("u8", 1),
            Map.entry("bool", 1), Map.entry("fp8e4m3", 1), Map.entry("fp8e5m2", 1));

    public TensorEntry {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("tensor needs a name");
        }
        ArtifactPaths.checkRelative(file, "tensor '" + name + "': file");
        shape = List.copyOf(shape);
        if (dtype == null || dtype.isBlank() || layout == null || layout.isBlank()) {
            throw new IllegalArgumentException("tensor '" + name + "' needs a dtype and a layout tag");
        }
        if (offset < 0 || byteLength < 0) {
            throw new IllegalArgumentException("tensor '" + name + "': offset " + offset + " and byte_length " + byteLength
                    + " must be >= 0");
        }
        if (offset % ALIGNMENT != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': offset " + offset + " is not a multiple of " + ALIGNMENT);
        }
        if (offset > Long.MAX_VALUE - byteLength) {
            throw new IllegalArgumentException("tensor '" + name + "': offset " + offset + " + byte_length " + byteLength
                    + " overflows a 64-bit file position");
        }
        long elements = 1;
        for (Long d : shape) {
            if (d == null || d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative or missing dimension in " + shape);
            }
            elements = d == 0 || elements == 0 ? 0 : (elements > Long.MAX_VALUE / d ? -1 : elements * d);
            if (elements < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + shape + " has more than 2^63 elements");
            }
        }
        OptionalInt size = elementSize(dtype);
        if (size.isPresent() && (elements > Long.MAX_VALUE / size.getAsInt() || elements * size.getAsInt() != byteLength)) {
            throw new IllegalArgumentException("tensor '" + name + "': " + dtype + shape + " needs " + elements + " x "
                    + size.getAsInt() + " bytes, but byte_length is " + byteLength);
        }
    }

    /** Bytes per element of a plain (unpacked) dtype; empty for packed quantized types. */
    public static OptionalInt elementSize(String dtype) {
        Integer s = PLAIN_SIZES.get(dtype.toLowerCase(Locale.ROOT));
        return s == null ? OptionalInt.empty() : OptionalInt.of(s);
    }

    /** One past the last byte, {@code offset + byteLength} (cannot overflow, see the constructor). */
    public long end() {
        return offset + byteLength;
    }

    /** Product of the dimensions. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
