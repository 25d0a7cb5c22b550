package dev.tokc.frontend.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files that {@link SafetensorsFile} (and the reference implementation) accept.
 *
 * <p>Tensors are declared first (name, dtype, shape, and a {@link Filler} that produces the bytes); {@link #write}
 * then lays them out contiguously in declaration order, pads the header with spaces so the data area starts at a
 * multiple of 8, maps the output file and lets each filler write straight into its slice of the mapping. Nothing
 * is buffered on the heap, so {@code tokc synth} can write multi-gigabyte random checkpoints.
 *
 * <p>{@link #writeRaw} writes arbitrary header bytes, for tests that need malformed files.
 */
public final class SafetensorsWriter {
    /** Produces a tensor's bytes (row-major, little-endian) into {@code target}, which is exactly its size. */
    @FunctionalInterface
    public interface Filler {
        void fill(MemorySegment target);
    }

    private record Pending(String name, DType dtype, long[] shape, long bytes, Filler filler) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    /** Adds a {@code __metadata__} entry (e.g. {@code format=pt}). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Declares a tensor whose bytes {@code filler} will write. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, Filler filler) {
        if (name.equals("__metadata__") || !names.add(name)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already used");
        }
        long elements = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            }
            elements = Math.multiplyExact(elements, d);
        }
        tensors.add(new Pending(name, dtype, shape.clone(), Math.multiplyExact(elements, (long) dtype.byteSize()), filler));
        return this;
    }

    /** Declares a floating-point tensor from float values, rounding them to {@code dtype} (nearest even). */
    public SafetensorsWriter addFloats(String name, DType dtype, long[] shape, float... values) {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("tensor '" + name + "': addFloats needs a floating-point dtype, got " + dtype);
        }
        float[] copy = values.clone();
        checkCount(name, shape, copy.length);
        return add(name, dtype, shape, target -> {
            for (int i = 0; i < copy.length; i++) {
                putFloat(target, dtype, i, copy[i]);
            }
        });
    }

    /** Declares an integer or BOOL tensor from long values (truncated to the dtype's width; BOOL writes 0/1). */
    public SafetensorsWriter addLongs(String name, DType dtype, long[] shape, long... values) {
        if (dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("tensor '" + name + "': addLongs needs an integer dtype, got " + dtype);
        }
        long[] copy = values.clone();
        checkCount(name, shape, copy.length);
        return add(name, dtype, shape, target -> {
            for (int i = 0; i < copy.length; i++) {
                long offset = (long) i * dtype.byteSize();
                long v = dtype == DType.BOOL ? (copy[i] != 0 ? 1 : 0) : copy[i];
                switch (dtype.byteSize()) {
                    case 8 -> target.set(LE_LONG, offset, v);
                    case 4 -> target.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, (int) v);
                    case 2 -> target.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, (short) v);
                    default -> target.set(ValueLayout.JAVA_BYTE, offset, (byte) v);
                }
            }
        });
    }

    /** Stores {@code value} as element {@code index} of a floating-point {@code dtype} buffer, rounding to nearest even. */
    public static void putFloat(MemorySegment target, DType dtype, long index, float value) {
        long offset = index * dtype.byteSize();
        switch (dtype) {
            case F32 -> target.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, value);
            case F64 -> target.set(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, value);
            case F16 -> target.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, FloatFormats.floatToF16(value));
            case BF16 -> target.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), offset, FloatFormats.floatToBf16(value));
            case F8_E4M3 -> target.set(ValueLayout.JAVA_BYTE, offset, FloatFormats.floatToE4m3fn(value));
            case F8_E5M2 -> target.set(ValueLayout.JAVA_BYTE, offset, FloatFormats.floatToE5m2(value));
            default -> throw new IllegalArgumentException(dtype + " is not a floating-point dtype");
        }
    }

    /** The header this writer will produce, before padding: useful to tests that corrupt one field. */
    public String headerJson() {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Pending t : tensors) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().name());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, offset + t.bytes()});
            header.put(t.name(), entry);
            offset += t.bytes();
        }
        try {
            return JSON.writeValueAsString(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a map of strings and arrays", e);
        }
    }

    /** Writes the file, replacing any existing one. */
    public void write(Path file) throws IOException {
        byte[] json = headerJson().getBytes(StandardCharsets.UTF_8);
        // Pad with spaces (allowed by the format) so the data area, and every 8-byte-multiple tensor, is aligned.
        int padded = (int) ((8 + json.length + 7L) / 8 * 8 - 8);
        long dataBytes = 0;
        for (Pending t : tensors) {
            dataBytes = Math.addExact(dataBytes, t.bytes());
        }
        long total = 8 + padded + dataBytes;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.READ, StandardOpenOption.WRITE);
                Arena arena = Arena.ofConfined()) {
            MemorySegment out = channel.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            out.set(LE_LONG, 0, padded);
            MemorySegment.copy(json, 0, out, ValueLayout.JAVA_BYTE, 8, json.length);
            out.asSlice(8 + json.length, padded - json.length).fill((byte) ' ');
            long offset = 8 + padded;
            for (Pending t : tensors) {
                t.filler().fill(out.asSlice(offset, t.bytes()));
                offset += t.bytes();
            }
            out.force();
        }
    }

    /**
     * Writes {@code header} verbatim after its 8-byte length, then {@code data}: no validation, so tests can
     * build any malformed file.
     */
    public static void writeRaw(Path file, byte[] header, byte[] data) throws IOException {
        byte[] bytes = new byte[8 + header.length + data.length];
        java.nio.ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).put(data);
        Files.write(file, bytes);
    }

    private static void checkCount(String name, long[] shape, int count) {
        long elements = 1;
        for (long d : shape) {
            elements = Math.multiplyExact(elements, d);
        }
        if (elements != count) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " has "
                    + elements + " elements but " + count + " values were given");
        }
    }
}
