package dev.tokc.frontend.safetensors;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsEveryDtype() throws IOException {
        Path file = dir.resolve("all.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .addFloats("f32", DType.F32, new long[] {2, 3}, 1f, -2f, 3.5f, 0f, Float.MIN_VALUE, -65504f)
                .addFloats("f16", DType.F16, new long[] {3}, 1f, -0.5f, 65504f)
                .addFloats("bf16", DType.BF16, new long[] {2}, 1f, -3f)
                .addFloats("f64", DType.F64, new long[] {2}, 0.1f, -1e30f)
                .addFloats("e4m3", DType.F8_E4M3, new long[] {3}, 448f, -0.015625f, 1.75f)
                .addFloats("e5m2", DType.F8_E5M2, new long[] {2}, 57344f, -0.25f)
                .addLongs("i64", DType.I64, new long[] {2}, Long.MIN_VALUE, 1L << 40)
                .addLongs("i32", DType.I32, new long[] {2}, -7, Integer.MAX_VALUE)
                .addLongs("i16", DType.I16, new long[] {2}, -300, 32767)
                .addLongs("i8", DType.I8, new long[] {2}, -128, 127)
                .addLongs("u8", DType.U8, new long[] {2}, 0, 255)
                .addLongs("bool", DType.BOOL, new long[] {3}, 1, 0, 5)
                .addFloats("scalar", DType.F32, new long[] {}, 42f)
                .addFloats("empty", DType.F32, new long[] {0, 4})
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(List.of("f32", "f16", "bf16", "f64", "e4m3", "e5m2", "i64", "i32", "i16", "i8", "u8", "bool",
                    "scalar", "empty"), List.copyOf(f.names()));
            TensorView f32 = f.tensor("f32");
            assertEquals(DType.F32, f32.dtype());
            assertEquals(List.of(2L, 3L), f32.shape());
            assertArrayEquals(new float[] {1f, -2f, 3.5f, 0f, Float.MIN_VALUE, -65504f}, f32.toFloatArray());
            assertArrayEquals(new float[] {1f, -0.5f, 65504f}, f.tensor("f16").toFloatArray());
            assertArrayEquals(new float[] {1f, -3f}, f.tensor("bf16").toFloatArray());
            assertArrayEquals(new double[] {0.1f, -1e30f}, f.tensor("f64").toDoubleArray());
            assertArrayEquals(new float[] {448f, -0.015625f, 1.75f}, f.tensor("e4m3").toFloatArray());
            assertArrayEquals(new float[] {57344f, -0.25f}, f.tensor("e5m2").toFloatArray());
            assertArrayEquals(new long[] {Long.MIN_VALUE, 1L << 40}, f.tensor("i64").toLongArray());
            assertArrayEquals(new long[] {-7, Integer.MAX_VALUE}, f.tensor("i32").toLongArray());
            assertArrayEquals(new long[] {-300, 32767}, f.tensor("i16").toLongArray());
            assertArrayEquals(new long[] {-128, 127}, f.tensor("i8").toLongArray());
            assertArrayEquals(new long[] {0, 255}, f.tensor("u8").toLongArray());
            assertArrayEquals(new long[] {1, 0, 1}, f.tensor("bool").toLongArray());
            assertEquals(255f, f.tensor("u8").getFloat(1));
            assertEquals(1L << 40, f.tensor("i64").getDouble(1));
            assertEquals(42f, f.tensor("scalar").getFloat(0));
            assertEquals(0, f.tensor("scalar").rank());
            assertEquals(1, f.tensor("scalar").elementCount());
            assertEquals(0, f.tensor("empty").byteSize());
            assertThrows(IllegalStateException.class, () -> f32.getLong(0));
        }
    }

    @Test
    void viewsAreReadOnlySlicesOfTheMapping() throws IOException {
        Path file = dir.resolve("a.safetensors");
        new SafetensorsWriter().addFloats("a", DType.F32, new long[] {2}, 1f, 2f)
                .addFloats("b", DType.F16, new long[] {3}, 1f, 2f, 3f)
                .write(file);
        TensorView b;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            b = f.tensor("b");
            assertTrue(b.data().isMapped(), "tensor data must be a view of the mapped file, not a heap copy");
            assertTrue(b.data().isReadOnly());
            assertEquals(6, b.byteSize());
            assertEquals(2f, b.getFloat(1));
            assertTrue(f.find("missing").isEmpty());
            var e = assertThrows(dev.tokc.frontend.ModelFormatException.class, () -> f.tensor("missing"));
            assertTrue(e.getMessage().contains("missing") && e.getMessage().contains("a.safetensors"), e.getMessage());
        }
        // After close the mapping is gone: access fails cleanly instead of reading unmapped memory.
        assertThrows(IllegalStateException.class, () -> b.getFloat(0));
    }

    @Test
    void writerAlignsTheDataAreaAndStreamsThroughFillers() throws IOException {
        Path file = dir.resolve("aligned.safetensors");
        SafetensorsWriter w = new SafetensorsWriter().metadata("x", "odd-length-value-")
                .add("ramp", DType.F32, new long[] {1000}, seg -> {
                    for (int i = 0; i < 1000; i++) {
                        SafetensorsWriter.putFloat(seg, DType.F32, i, i * 0.5f);
                    }
                });
        w.write(file);
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data area starts 8-aligned");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith(w.headerJson()) && header.substring(w.headerJson().length()).isBlank(), header);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(499.5f, f.tensor("ramp").getFloat(999));
            assertEquals(0, f.tensor("ramp").data().address() % 8);
        }
    }

    @Test
    void writerRejectsDuplicateNamesAndWrongCounts() {
        SafetensorsWriter w = new SafetensorsWriter().addFloats("a", DType.F32, new long[] {1}, 1f);
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("a", DType.F32, new long[] {1}, 1f));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("__metadata__", DType.F32, new long[] {1}, 1f));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("b", DType.F32, new long[] {2}, 1f));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("c", DType.I32, new long[] {1}, 1f));
        assertThrows(IllegalArgumentException.class, () -> w.add("d", DType.F32, new long[] {-1}, seg -> { }));
    }

    /**
     * A real file over 4 GB, made sparse so it costs no disk: the tensor past the 2 GB and 4 GB marks must be
     * reachable through the long-offset mapping.
     */
    @Test
    void readsTensorsBeyondFourGigabytesOfASparseFile() throws IOException {
        long big = 5L << 30; // 5 GiB of zeros (a hole in the file)
        assumeSpace(dir);
        Path file = dir.resolve("big.safetensors");
        String header = "{\"zeros\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length), 0);
            ch.write(ByteBuffer.wrap(h), 8);
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.5f).putFloat(4, -2.25f), 8 + h.length + big);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorView zeros = f.tensor("zeros");
            assertEquals(big, zeros.byteSize());
            assertEquals(0, zeros.getLong(big - 1));
            assertEquals(0, zeros.getLong(3L << 30));
            TensorView tail = f.tensor("tail");
            assertEquals(big, f.header().tensors().get(1).begin());
            assertEquals(1.5f, tail.getFloat(0));
            assertEquals(-2.25f, tail.getFloat(1));
            assertEquals(-2.25f, tail.data().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static void assumeSpace(Path dir) throws IOException {
        // The file is sparse, but a filesystem without holes would write 5 GB: only run where that would fit.
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.getFileStore(dir).getUsableSpace() > (8L << 30),
                "less than 8 GB free in " + dir + "; skipping the sparse >4 GB file test");
    }
}
