package dev.tokc.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MemoryBandwidthTest {
    /** A small probe: it runs and reads every byte (each byte is 1, so the 64-bit lane sums are known). */
    @Test
    void readsTheWholeBuffer() {
        long bytes = 16L << 20;
        MemoryBandwidth.Result r = MemoryBandwidth.measure(2, bytes, 2);
        assertEquals(bytes, r.bytes());
        assertTrue(r.bestGbPerSecond() > 0 && r.bestGbPerSecond() >= r.meanGbPerSecond());
        long perPass = bytes / 8 * 0x0101_0101_0101_0101L;
        assertEquals(perPass * 3, r.checksum()); // warm-up pass + 2 timed passes, wrapping arithmetic
    }

    /** Ranges of odd length and a short last chunk: still every byte once (threads pair whole chunks only). */
    @Test
    void readsEveryByteOfAnOddSizedBuffer() {
        long bytes = (17L << 20) + (512L << 10);
        MemoryBandwidth.Result r = MemoryBandwidth.measure(2, bytes, 1);
        assertEquals(bytes, r.bytes());
        assertEquals(bytes / 8 * 0x0101_0101_0101_0101L * 2, r.checksum());
    }
}
