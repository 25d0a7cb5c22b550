package dev.tokc.runtime.artifact;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static EngineDescription description(ParallelLayout layout) {
        ObjectNode config = JSON.createObjectNode().put("model_type", "llama").put("hidden_size", 8);
        return new EngineDescription(config, Target.JVM, "f32", Quantization.NONE,
                new KvCacheInfo(2, 1, 4, 16, "f32", KvCacheInfo.BLOCK_MAJOR), layout,
                List.of(new PassRecord("raise", Map.of("rmsNorm", 2L)), new PassRecord("fuse", Map.of("fusedLinear", 12L))));
    }

    /** Fills float element i with base + i. */
    static ArtifactWriter.Filler floats(float base) {
        return seg -> {
            for (long i = 0; i < seg.byteSize() / 4; i++) {
                seg.set(F32, i * 4, base + i);
            }
        };
    }

    /** A small engine: three tensors of odd sizes (so alignment gaps appear), a program, sources and a tokenizer. */
    Manifest writeEngine(Path dir, boolean force, float base) throws IOException {
        Path tok = tmp.resolve("tokenizer-src.json");
        Files.writeString(tok, "{\"model\": \"bpe\"}");
        try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults().withForce(force))) {
            w.addTensor("a", "f32", List.of(3L, 5L), 60, floats(base));
            w.addTensor("b", "bf16", List.of(7L), 14, seg -> seg.fill((byte) 0x3f));
            w.addTensor("c", "f32", List.of(2L, 2L), 16, floats(base + 100));
            w.addFile("program.ir", "graph @main() {}\n".getBytes());
            Files.writeString(w.stagingPath("src/dev/tokc/gen/Step.java"), "class Step {}\n");
            w.addTokenizerFile("tokenizer.json", tok);
            return w.commit(description(ParallelLayout.single()));
        }
    }

    @Test
    void roundTripGivesBackEveryFieldAndTensor() throws IOException {
        Path dir = tmp.resolve("engine");
        Manifest written = writeEngine(dir, false, 1);
        try (Engine e = Engine.open(dir)) {
            assertEquals(written, e.manifest());
            assertEquals(Manifest.FORMAT_VERSION, e.manifest().formatVersion());
            assertEquals(8, e.manifest().modelConfig().get("hidden_size").intValue());
            assertEquals(12L, e.manifest().pipeline().get(1).counters().get("fusedLinear"));
            assertEquals(List.of("tokenizer.json"), e.manifest().tokenizerFiles());
            assertEquals(List.of("program.ir", "src/dev/tokc/gen/Step.java", "tokenizer.json", "weights.bin"),
                    List.copyOf(e.manifest().files().keySet()));
            MemorySegment a = e.tensor("a");
            assertEquals(60, a.byteSize());
            for (int i = 0; i < 15; i++) {
                assertEquals(1f + i, a.get(F32, i * 4L));
            }
            assertEquals(101f, e.tensor("c").get(F32, 0));
            assertEquals((byte) 0x3f, e.tensor("b").get(ValueLayout.JAVA_BYTE, 13));
            assertTrue(e.tensor("a").isReadOnly(), "weights are mapped read-only");
            // the same segment class as arena memory, so that kernels fed both compile for one (Engine.asNativeSegment)
            assertEquals(Arena.ofAuto().allocate(8).getClass(), a.getClass());
            assertEquals("class Step {}\n", Files.readString(e.file("src/dev/tokc/gen/Step.java")));
            assertThrows(ArtifactException.class, () -> e.tensor("nope"));
        }
        assertNoLeftovers();
    }

    @Test
    void tensorsAre64ByteAlignedWithZeroGaps() throws IOException {
        Path dir = tmp.resolve("engine");
        Manifest m = writeEngine(dir, false, 1);
        assertEquals(List.of(0L, 64L, 128L), m.tensors().stream().map(TensorEntry::offset).toList());
        assertEquals(128 + 16, m.files().get("weights.bin").size());
        byte[] bin = Files.readAllBytes(dir.resolve("weights.bin"));
        for (int i = 60; i < 64; i++) {
            assertEquals(0, bin[i]);
        }
        try (Engine e = Engine.open(dir)) {
            for (TensorEntry t : m.tensors()) {
                assertEquals(0, e.view(t).address() % TensorEntry.ALIGNMENT, t.name());
            }
        }
    }

    @Test
    void engineDirectoryGetsDefaultPermissionsNotTempDirectoryOnes() throws IOException {
        Path dir = tmp.resolve("engine");
        writeEngine(dir, false, 1);
        Path plain = Files.createDirectory(tmp.resolve("plain"));
        if (plain.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(dir));
        }
    }

    @Test
    void refusesToReplaceWithoutForceAndKeepsTheOldEngine() throws IOException {
        Path dir = tmp.resolve("engine");
        writeEngine(dir, false, 1);
        ArtifactException ex = assertThrows(ArtifactException.class, () -> writeEngine(dir, false, 2));
        assertTrue(ex.getMessage().contains("already exists") && ex.getMessage().contains("--force"), ex.getMessage());
        try (Engine e = Engine.open(dir)) {
            assertEquals(1f, e.tensor("a").get(F32, 0));
        }
        assertNoLeftovers();
    }

    @Test
    void forceReplacesOnlyAfterTheNewEngineIsComplete() throws IOException {
        Path dir = tmp.resolve("engine");
        writeEngine(dir, false, 1);
        try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults().withForce(true))) {
            w.addTensor("x", "f32", List.of(4L), 16, floats(7));
            // Mid-write the old engine is still there and still loads.
            try (Engine old = Engine.open(dir)) {
                assertEquals(1f, old.tensor("a").get(F32, 0));
            }
            w.commit(description(ParallelLayout.single()));
        }
        try (Engine e = Engine.open(dir)) {
            assertEquals(7f, e.tensor("x").get(F32, 0));
            assertTrue(e.find("a").isEmpty());
        }
        assertNoLeftovers();
    }

    @Test
    void interruptedWriteLeavesNothingThatLoads() throws IOException {
        Path dir = tmp.resolve("engine");
        assertThrows(IllegalStateException.class, () -> {
            try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults())) {
                w.addTensor("a", "f32", List.of(4L), 16, floats(0));
                w.addTensor("b", "f32", List.of(4L), 16, seg -> {
                    throw new IllegalStateException("simulated failure mid-tensor");
                });
            }
        });
        assertFalse(Files.exists(dir));
        assertNoLeftovers();
        // Closing without commit (Ctrl-C between tensors) is the same.
        try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults())) {
            w.addTensor("a", "f32", List.of(4L), 16, floats(0));
        }
        assertFalse(Files.exists(dir));
        assertNoLeftovers();
    }

    @Test
    void aFailedTensorPoisonsTheWriter() throws IOException {
        try (ArtifactWriter w = ArtifactWriter.create(tmp.resolve("engine"), ArtifactWriter.Options.defaults())) {
            assertThrows(IOException.class, () -> w.addTensor("a", "f32", List.of(4L), 16, seg -> {
                throw new IOException("source read failed");
            }));
            IllegalStateException ex = assertThrows(IllegalStateException.class,
                    () -> w.commit(description(ParallelLayout.single())));
            assertTrue(ex.getMessage().contains("writing tensor 'a' failed"), ex.getMessage());
            assertThrows(IllegalStateException.class, () -> w.addTensor("b", "f32", List.of(4L), 16, floats(0)));
        }
        assertFalse(Files.exists(tmp.resolve("engine")));
        assertNoLeftovers();
    }

    @Test
    void interruptedReplaceKeepsTheOldEngine() throws IOException {
        Path dir = tmp.resolve("engine");
        writeEngine(dir, false, 1);
        try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults().withForce(true))) {
            w.addTensor("x", "f32", List.of(4L), 16, floats(7));
        }
        try (Engine e = Engine.open(dir)) {
            assertEquals(1f, e.tensor("a").get(F32, 0));
        }
        assertNoLeftovers();
    }

    @Test
    void forceNeverReplacesSomethingThatIsNotAnEngine() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("home"));
        Files.writeString(dir.resolve("thesis.tex"), "precious");
        ArtifactException ex = assertThrows(ArtifactException.class,
                () -> ArtifactWriter.create(dir, ArtifactWriter.Options.defaults().withForce(true)));
        assertTrue(ex.getMessage().contains("not a tokc engine"), ex.getMessage());
        assertEquals("precious", Files.readString(dir.resolve("thesis.tex")));
        // An empty directory (e.g. made by the user for the output) is fine.
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        try (ArtifactWriter w = ArtifactWriter.create(empty, ArtifactWriter.Options.defaults().withForce(true))) {
            w.commit(description(ParallelLayout.single()));
        }
        assertTrue(Files.isRegularFile(empty.resolve("manifest.json")));
    }

    @Test
    void progressCountsTensorsAndBytes() throws IOException {
        List<Progress> seen = new ArrayList<>();
        try (ArtifactWriter w = ArtifactWriter.create(tmp.resolve("engine"),
                ArtifactWriter.Options.defaults().withProgress(seen::add))) {
            w.expect(2, 32);
            w.addTensor("a", "f32", List.of(4L), 16, floats(0));
            w.addTensor("b", "f32", List.of(4L), 16, floats(0));
            w.commit(description(ParallelLayout.single()));
        }
        Progress afterTwo = seen.stream().filter(p -> p.tensorsDone() == 2 && p.phase().equals("weights")).findFirst().orElseThrow();
        assertEquals(32, afterTwo.bytesDone());
        assertTrue(afterTwo.line().startsWith("weights  2/2 tensors  0.00/0.00 GB"), afterTwo.line());
        assertEquals("done", seen.getLast().phase());
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).bytesDone() >= seen.get(i - 1).bytesDone());
        }
    }

    @Test
    void partitionedEngineHasOneWeightsFilePerRank() throws IOException {
        Path dir = tmp.resolve("engine");
        ParallelLayout tp2 = ParallelLayout.partitioned(2, 1);
        try (ArtifactWriter w = ArtifactWriter.create(dir, ArtifactWriter.Options.defaults())) {
            w.addTensor("weights-rank0.bin", "q.0", "f32", List.of(2L), TensorEntry.ROW_MAJOR, 8, floats(1));
            w.addTensor("weights-rank1.bin", "q.1", "f32", List.of(2L), TensorEntry.ROW_MAJOR, 8, floats(3));
            w.commit(description(tp2));
        }
        try (Engine e = Engine.open(dir)) {
            assertEquals(3f, e.tensor("q.1").get(F32, 0));
            assertEquals(8, e.weightsFile("weights-rank1.bin").byteSize());
            assertEquals(0, e.find("q.1").orElseThrow().offset());
        }
    }

    @Test
    void tensorsOutsideTheLayoutAreRejectedAtCommit() throws IOException {
        try (ArtifactWriter w = ArtifactWriter.create(tmp.resolve("engine"), ArtifactWriter.Options.defaults())) {
            w.addTensor("weights-rank0.bin", "q", "f32", List.of(2L), TensorEntry.ROW_MAJOR, 8, floats(1));
            ArtifactException ex = assertThrows(ArtifactException.class, () -> w.commit(description(ParallelLayout.single())));
            assertTrue(ex.getMessage().contains("weights-rank0.bin"), ex.getMessage());
        }
        assertNoLeftovers();
    }

    @Test
    void writerRejectsBadTensorDeclarations() throws IOException {
        try (ArtifactWriter w = ArtifactWriter.create(tmp.resolve("engine"), ArtifactWriter.Options.defaults())) {
            w.addTensor("a", "f32", List.of(4L), 16, floats(0));
            assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", "f32", List.of(4L), 16, floats(0)));
            assertThrows(IllegalArgumentException.class, () -> w.addTensor("b", "f32", List.of(4L), 15, floats(0)));
            assertThrows(IllegalArgumentException.class, () -> w.addFile("../escape", new byte[1]));
            assertThrows(IllegalArgumentException.class, () -> w.addFile("manifest.json", new byte[1]));
            assertThrows(IllegalArgumentException.class, () -> w.addFile("weights.bin", new byte[1]));
            // A rejected declaration leaves the writer usable: the corrected one goes in.
            assertEquals(64, w.addTensor("b", "f32", List.of(4L), 16, floats(0)).offset());
            w.commit(description(ParallelLayout.single()));
        }
        try (Engine e = Engine.open(tmp.resolve("engine"))) {
            assertEquals(2, e.manifest().tensors().size());
        }
    }

    // ---- corruption: each case fails with an ArtifactException naming the file and what was expected ----

    @Test
    void badJson() throws IOException {
        Path dir = engine();
        Files.writeString(dir.resolve("manifest.json"), "{\"format_version\": 1, \"tensors\": [");
        assertLoadFails(dir, "manifest.json: not valid JSON");
    }

    @Test
    void wrongFormatVersionNamesExpectedAndFound() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> m.put("format_version", 7));
        assertLoadFails(dir, "engine format version 7, but this runtime reads format version " + Manifest.FORMAT_VERSION
                + " (the engine was written by a newer tokc");
        // an engine of the previous version (format 1: w4a8's old code layout) is refused too, not misread
        editManifest(dir, m -> m.put("format_version", Manifest.FORMAT_VERSION - 1));
        assertLoadFails(dir, "(the engine was written by an older tokc");
    }

    @Test
    void missingFormatVersion() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> m.remove("format_version"));
        assertLoadFails(dir, "no integer 'format_version'");
    }

    @Test
    void invalidFieldIsNamed() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> ((ObjectNode) m.withArray("tensors").get(1)).put("offset", 65));
        assertLoadFails(dir, "'tensors[1]");
        Path dir2 = engine("engine2");
        editManifest(dir2, m -> m.put("target", "tpu"));
        assertLoadFails(dir2, "unknown target 'tpu'");
        Path dir3 = engine("engine3");
        editManifest(dir3, m -> m.put("surprise", 1));
        assertLoadFails(dir3, "surprise");
        Path dir4 = engine("engine4");
        editManifest(dir4, m -> m.remove("kv_cache"));
        assertLoadFails(dir4, "kv_cache");
    }

    @Test
    void manifestCannotPointOutsideTheEngine() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> {
            ObjectNode files = (ObjectNode) m.get("files");
            files.set("../outside", files.get("program.ir"));
        });
        assertLoadFails(dir, "'../outside' must not contain '.' or '..'");
    }

    @Test
    void checksumMismatchOfAProgramFile() throws IOException {
        Path dir = engine();
        Files.writeString(dir.resolve("program.ir"), "graph @main() {X\n"); // same length, one byte differs
        assertLoadFails(dir, "program.ir is corrupted: sha256");
        assertThrows(ArtifactException.class, () -> Engine.open(dir, ArtifactReader.Options.skipWeightsHash()).close(),
                "skipping the weights hash still hashes every other file");
    }

    @Test
    void checksumMismatchOfWeightsIsCaughtUnlessHashingIsSkipped() throws IOException {
        Path dir = engine();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("weights.bin").toFile(), "rw")) {
            f.seek(4);
            f.write(0x55);
        }
        assertLoadFails(dir, "weights.bin is corrupted: sha256");
        try (Engine e = Engine.open(dir, ArtifactReader.Options.skipWeightsHash())) {
            assertEquals(3, e.manifest().tensors().size());
        }
    }

    @Test
    void truncatedWeightsAreCaughtEvenWithoutHashing() throws IOException {
        Path dir = engine();
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("weights.bin").toFile(), "rw")) {
            f.setLength(100);
        }
        ArtifactException ex = assertThrows(ArtifactException.class,
                () -> Engine.open(dir, ArtifactReader.Options.skipWeightsHash()).close());
        assertTrue(ex.getMessage().contains("weights.bin has 100 bytes but the manifest says 144 (truncated)"), ex.getMessage());
    }

    @Test
    void tensorOffsetPastTheEndOfItsFile() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> ((ObjectNode) m.withArray("tensors").get(2)).put("offset", 1024));
        ArtifactException ex = assertThrows(ArtifactException.class, () -> Engine.open(dir).close());
        assertTrue(ex.getMessage().contains("tensor 'c' spans bytes [1024, 1040) of weights.bin, past its end at 144"),
                ex.getMessage());
    }

    @Test
    void overlappingTensorsAreRejected() throws IOException {
        Path dir = engine();
        editManifest(dir, m -> ((ObjectNode) m.withArray("tensors").get(2)).put("offset", 0));
        assertLoadFails(dir, "overlap in weights.bin");
    }

    @Test
    void missingFiles() throws IOException {
        Path dir = engine();
        Files.delete(dir.resolve("tokenizer.json"));
        assertLoadFails(dir, "missing file tokenizer.json");
        Path dir2 = engine("engine2");
        Files.delete(dir2.resolve("weights.bin"));
        assertLoadFails(dir2, "missing file weights.bin");
        Path dir3 = engine("engine3");
        Files.delete(dir3.resolve("manifest.json"));
        assertLoadFails(dir3, "missing manifest.json");
        assertLoadFails(tmp.resolve("nowhere"), "no such engine directory");
    }

    @Test
    void closedEngineRefusesAccessInsteadOfReadingUnmappedMemory() throws IOException {
        Path dir = engine();
        Engine e = Engine.open(dir);
        MemorySegment a = e.tensor("a");
        e.close();
        assertThrows(IllegalStateException.class, () -> a.get(F32, 0));
        assertThrows(IllegalStateException.class, () -> e.tensor("a"));
    }

    // ---- verified weights: hashed once, then trusted while the file's identity is unchanged ----

    @Test
    void weightsVerifiedAtCompileAreTrustedUntilTheFileChanges() throws Exception {
        Path dir = engine();
        Path weights = dir.resolve("weights.bin");
        org.junit.jupiter.api.Assumptions.assumeTrue(VerifiedWeights.identity(weights).isPresent(),
                "no unix file attributes here: every load hashes, nothing to test");
        FileDigest expected = ManifestJson.parse(Files.readAllBytes(dir.resolve("manifest.json"))).files().get("weights.bin");
        assertTrue(VerifiedWeights.isVerified(dir, "weights.bin", expected), "the writer records what it hashed");
        try (Engine e = Engine.open(dir)) {
            assertEquals(3, e.manifest().tensors().size());
        }
        // A byte flipped in place (same size) changes the ctime: the record no longer matches, the load hashes and
        // fails with the corruption message; the full check (tokc inspect --verify) does too.
        byte[] original = Files.readAllBytes(weights);
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(4);
            f.write(original[4] ^ 0x55);
        }
        assertFalse(VerifiedWeights.isVerified(dir, "weights.bin", expected));
        assertLoadFails(dir, "weights.bin is corrupted: sha256");
        ArtifactException full = assertThrows(ArtifactException.class,
                () -> Engine.open(dir, ArtifactReader.Options.full()).close());
        assertTrue(full.getMessage().contains("weights.bin is corrupted"), full.getMessage());
        // Restored: hashed again on the next load (racy-fresh files are not recorded), then recorded once old enough.
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(4);
            f.write(original[4]);
        }
        Engine.open(dir).close();
        assertFalse(VerifiedWeights.isVerified(dir, "weights.bin", expected),
                "a file changed less than RACY_NANOS before its hash is not recorded as verified");
        Thread.sleep(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(VerifiedWeights.RACY_NANOS) + 20);
        Engine.open(dir).close();
        assertTrue(VerifiedWeights.isVerified(dir, "weights.bin", expected));
    }

    @Test
    void aRecordForOtherBytesOrADamagedRecordIsNotTrusted() throws Exception {
        Path dir = engine();
        Path weights = dir.resolve("weights.bin");
        org.junit.jupiter.api.Assumptions.assumeTrue(VerifiedWeights.identity(weights).isPresent());
        FileDigest expected = ManifestJson.parse(Files.readAllBytes(dir.resolve("manifest.json"))).files().get("weights.bin");
        assertFalse(VerifiedWeights.isVerified(dir, "weights.bin", new FileDigest(expected.size(), "0".repeat(64))),
                "a record is for one manifest digest only");
        Files.writeString(dir.resolve(VerifiedWeights.FILE), "tokc-verified 1\nweights.bin\tgarbage\n");
        assertFalse(VerifiedWeights.isVerified(dir, "weights.bin", expected));
        Engine.open(dir).close(); // hashes, and records again
        assertTrue(VerifiedWeights.isVerified(dir, "weights.bin", expected));
    }

    // ---- 64-bit offsets ----

    @Test
    void alignmentArithmeticIsExact() {
        assertEquals(0, ArtifactWriter.alignUp(0, 64));
        assertEquals(64, ArtifactWriter.alignUp(1, 64));
        assertEquals(64, ArtifactWriter.alignUp(64, 64));
        assertEquals((1L << 32) + 64, ArtifactWriter.alignUp((1L << 32) + 1, 64));
        assertEquals(Long.MAX_VALUE - 63, ArtifactWriter.alignUp(Long.MAX_VALUE - 70, 64));
        assertThrows(ArithmeticException.class, () -> ArtifactWriter.alignUp(Long.MAX_VALUE - 10, 64));
    }

    @Test
    void entriesNearTheTopOfTheLongRangeAreRejectedNotWrapped() {
        long top = Long.MAX_VALUE - 63; // a multiple of 64
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> new TensorEntry("t", "weights.bin", top, 128, "u8", List.of(128L), TensorEntry.ROW_MAJOR));
        assertTrue(ex.getMessage().contains("overflows"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, // 2^62 x 4 elements of 4 bytes overflows
                () -> new TensorEntry("t", "weights.bin", 0, 0, "f32", List.of(1L << 62, 4L), TensorEntry.ROW_MAJOR));
    }

    @Test
    void tensorBeyondFourGigabytesMapsAtItsOffset() throws IOException {
        // A sparse 4.5 GB weights file: only the last tensor's bytes are real; the manifest is assembled by hand so
        // the test does not spend seconds hashing zeros (the weights hash is skipped on load).
        Path dir = Files.createDirectories(tmp.resolve("big"));
        long offset = (9L << 29) - 64; // 4.5 GiB - 64: past both the int and unsigned-int ranges
        long size = offset + 64;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("weights.bin").toFile(), "rw")) {
            f.setLength(size);
            f.seek(offset);
            f.write(new byte[] {1, 2, 3, 4});
        }
        Files.writeString(dir.resolve("program.ir"), "x");
        Map<String, FileDigest> files = Map.of(
                "weights.bin", new FileDigest(size, "0".repeat(64)),
                "program.ir", new FileDigest(1, Sha256.ofFile(dir.resolve("program.ir"))));
        List<TensorEntry> tensors = List.of(
                new TensorEntry("small", "weights.bin", 0, 64, "u8", List.of(64L), TensorEntry.ROW_MAJOR),
                new TensorEntry("far", "weights.bin", offset, 64, "u8", List.of(64L), TensorEntry.ROW_MAJOR));
        Manifest m = Manifest.of("test", description(ParallelLayout.single()), List.of(), files, tensors);
        Files.write(dir.resolve("manifest.json"), ManifestJson.write(m));
        try (Engine e = Engine.open(dir, ArtifactReader.Options.skipWeightsHash())) {
            MemorySegment far = e.tensor("far");
            assertEquals(64, far.byteSize());
            assertArrayEquals(new byte[] {1, 2, 3, 4, 0}, far.asSlice(0, 5).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(size, e.weightsFile("weights.bin").byteSize());
        }
        // One byte short of the far tensor's end: the size check and the bounds check both refuse it.
        editManifest(dir, root -> {
            ArrayNode t = root.withArray("tensors");
            ((ObjectNode) t.get(1)).put("offset", offset + 64);
        });
        ArtifactException ex = assertThrows(ArtifactException.class,
                () -> Engine.open(dir, ArtifactReader.Options.skipWeightsHash()).close());
        assertTrue(ex.getMessage().contains("past its end at " + size), ex.getMessage());
    }

    // ---- helpers ----

    private Path engine() throws IOException {
        return engine("engine");
    }

    private Path engine(String name) throws IOException {
        Path dir = tmp.resolve(name);
        writeEngine(dir, false, 1);
        return dir;
    }

    private static void editManifest(Path dir, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
        edit.accept(root);
        JSON.writeValue(dir.resolve("manifest.json").toFile(), root);
    }

    private static void assertLoadFails(Path dir, String expected) {
        ArtifactException ex = assertThrows(ArtifactException.class, () -> Engine.open(dir).close());
        assertTrue(ex.getMessage().contains(expected), "expected '" + expected + "' in: " + ex.getMessage());
    }

    private void assertNoLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> stray = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.contains(".partial-") || n.contains(".old-")).toList();
            assertEquals(List.of(), stray, "staging or old directories left behind");
        }
    }
}
