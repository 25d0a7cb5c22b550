package dev.tokc.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {

    @Test
    void parsesSizes() {
        assertEquals(2L << 30, MemoryPlan.parseBytes("2GiB"));
        assertEquals(2L << 30, MemoryPlan.parseBytes("2G"));
        assertEquals(512L << 20, MemoryPlan.parseBytes("512MiB"));
        assertEquals(512L << 20, MemoryPlan.parseBytes("512 MB"));
        assertEquals(1536L << 20, MemoryPlan.parseBytes("1.5GiB"));
        assertEquals(1000, MemoryPlan.parseBytes("1000"));
        assertEquals(4L << 10, MemoryPlan.parseBytes("4k"));
        for (String bad : new String[] {"lots", "", "-1GiB", "0", "2XiB", "GiB"}) {
            assertThrows(IllegalArgumentException.class, () -> MemoryPlan.parseBytes(bad), bad);
        }
    }

    @Test
    void blocksFromMemoryOrCount() {
        assertEquals(21845, MemoryPlan.requestedBlocks(ServeOptions.builder().kvCacheMemoryBytes(1L << 30).build(), 49152));
        assertEquals(77, MemoryPlan.requestedBlocks(ServeOptions.builder().kvCacheMemoryBytes(1L << 30).kvBlocks(77).build(), 49152));
    }

    @Test
    void namesWhatCannotWork() {
        MemoryPlan ok = new MemoryPlan(10 << 20, 0, 200, 49152, 16, 512, OptionalLong.of(1L << 30));
        assertTrue(ok.problem().isEmpty());
        assertEquals(199 * 16, ok.tokensThatFit());
        assertEquals((10L << 20) + 200 * 49152L, ok.totalBytes());
        assertTrue(ok.describe().contains("200 blocks x 48.0 KiB"), ok.describe());

        assertTrue(new MemoryPlan(0, 0, 1, 49152, 16, 512, OptionalLong.empty()).problem().get().contains("at least 2"));
        assertTrue(new MemoryPlan(0, 0, 10, 49152, 16, 512, OptionalLong.empty()).problem().get()
                .contains("less than one request"));
        assertTrue(new MemoryPlan(0, 0, 1L << 30, 49152, 16, 512, OptionalLong.of(1L << 30)).problem().get()
                .contains("available"));
        assertTrue(new MemoryPlan(0, 0, 1L << 40, 16, 16, 512, OptionalLong.empty()).problem().get()
                .contains("more than one process can index"));
    }

    @Test
    void formatsBytes() {
        assertEquals("512 B", MemoryPlan.bytes(512));
        assertEquals("48.0 KiB", MemoryPlan.bytes(49152));
        assertEquals("1.00 GiB", MemoryPlan.bytes(1L << 30));
        assertEquals("200 MiB", MemoryPlan.bytes(200L << 20));
    }
}
