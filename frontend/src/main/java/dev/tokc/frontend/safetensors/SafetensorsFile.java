package dev.tokc.frontend.safetensors;

import dev.tokc.frontend.ModelFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One safetensors file, memory-mapped read-only and validated on open.
 *
 * <p>Layout: an unsigned little-endian 64-bit header length {@code N}, {@code N} bytes of JSON header (see
 * {@link SafetensorsHeader} for what is accepted), then the data area. The whole file is mapped once through
 * {@link FileChannel#map(FileChannel.MapMode, long, long, Arena)}, which takes long offsets and so works for files
 * over 2 GB; tensors are {@link TensorView}s over slices of that mapping and are never copied to the heap.
 *
 * <p>The mapping lives in a shared arena (views may be read from several threads) and is unmapped by
 * {@link #close()}; views used after that throw {@link IllegalStateException}.
 */
public final class SafetensorsFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final SafetensorsHeader header;
    private final Map<String, TensorView> views;

    private SafetensorsFile(Path path, Arena arena, SafetensorsHeader header, Map<String, TensorView> views) {
        this.path = path;
        this.arena = arena;
        this.header = header;
        this.views = Collections.unmodifiableMap(views);
    }

    /**
     * Maps and validates {@code path}.
     *
     * @throws ModelFormatException if the file is not a valid safetensors file (the message names file and field)
     * @throws IOException if it cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        String name = path.toString();
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new ModelFormatException(name + ": file has " + size
                        + " bytes, shorter than the 8-byte header length");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            // Read as signed: a length with the top bit set is negative here and rejected like any other huge one.
            if (headerLength < 0 || headerLength > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw new ModelFormatException(name + ": header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + SafetensorsHeader.MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw new ModelFormatException(name + ": header length " + headerLength + " runs past the end of the file ("
                        + size + " bytes)");
            }
            byte[] json = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = 8 + headerLength;
            SafetensorsHeader header = SafetensorsHeader.parse(name, json, size - dataStart);
            MemorySegment dataArea = file.asSlice(dataStart).asReadOnly();
            Map<String, TensorView> views = new LinkedHashMap<>();
            for (TensorEntry t : header.tensors()) {
                views.put(t.name(), new TensorView(t.name(), t.dtype(), t.shape(), dataArea.asSlice(t.begin(), t.byteLength())));
            }
            return new SafetensorsFile(path, arena, header, views);
        } catch (RuntimeException | IOException e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The validated header (entries with their offsets). */
    public SafetensorsHeader header() {
        return header;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return views.keySet();
    }

    /** All tensors in header order. */
    public List<TensorView> tensors() {
        return List.copyOf(views.values());
    }

    /** The tensor called {@code name}, if present. */
    public Optional<TensorView> find(String name) {
        return Optional.ofNullable(views.get(name));
    }

    /**
     * The tensor called {@code name}.
     *
     * @throws ModelFormatException if the file has no such tensor
     */
    public TensorView tensor(String name) {
        TensorView v = views.get(name);
        if (v == null) {
            throw new ModelFormatException(path + ": no tensor named '" + name + "'");
        }
        return v;
    }

    /** Unmaps the file; views obtained from it become unusable. */
    @Override
    public void close() {
        arena.close();
    }
}
