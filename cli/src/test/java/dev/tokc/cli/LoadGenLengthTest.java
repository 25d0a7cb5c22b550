package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LoadGenLengthTest {
    @Test
    void fixedAndRange() {
        assertEquals(new LoadGenLength(128, 128), LoadGenLength.parse("gen-len", "128"));
        assertEquals(new LoadGenLength(16, 256), LoadGenLength.parse("gen-len", " 16:256 "));
        assertEquals(new LoadGenLength(5, 5), LoadGenLength.parse("gen-len", "5:5"));
        assertEquals("16:256", LoadGenLength.parse("gen-len", "16:256").toString());
        assertEquals("7", LoadGenLength.parse("gen-len", "7").toString());
    }

    @Test
    void badValuesNameTheFlag() {
        for (String bad : new String[] {"0", "-3", "abc", "5:3", "1:2:3", ":4", "4:", "", "1.5"}) {
            UsageError e = assertThrows(UsageError.class, () -> LoadGenLength.parse("prompt-len", bad), bad);
            assertTrue(e.getMessage().startsWith("--prompt-len "), e.getMessage());
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void samplesCoverTheRangeInclusiveAndNothingElse() {
        LoadGenLength l = new LoadGenLength(3, 6);
        Random rnd = new Random(1);
        int[] seen = new int[8];
        for (int i = 0; i < 2000; i++) {
            seen[l.sample(rnd)]++;
        }
        assertEquals(0, seen[0] + seen[1] + seen[2] + seen[7]);
        for (int v = 3; v <= 6; v++) {
            assertTrue(seen[v] > 300, "value " + v + " drawn " + seen[v] + " times of 2000");
        }
        assertEquals(9, new LoadGenLength(9, 9).sample(rnd));
    }

    @Test
    void logUniformStaysInRangeAndFavoursShortLengths() {
        LoadGenLength l = new LoadGenLength(16, 256);
        Random rnd = new Random(3);
        int n = 20000;
        int lo = Integer.MAX_VALUE;
        int hi = 0;
        int[] octaves = new int[4]; // 16..31, 32..63, 64..127, 128..256
        long sum = 0;
        for (int i = 0; i < n; i++) {
            int x = l.sample(rnd, LoadGenLength.Dist.LOG_UNIFORM);
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
            sum += x;
            octaves[Math.min(3, 31 - Integer.numberOfLeadingZeros(x) - 4)]++;
        }
        assertTrue(lo >= 16 && hi <= 256, lo + ".." + hi);
        assertTrue(lo <= 17 && hi >= 250, "reaches both ends: " + lo + ".." + hi);
        for (int o : octaves) {
            // each octave is a quarter of the log range: about n/4 draws (256 itself adds ~1/ln(257/16)/257 more)
            assertTrue(Math.abs(o - n / 4) < n / 25, java.util.Arrays.toString(octaves));
        }
        // mean of a log-uniform on [16, 257): (257 - 16) / ln(257 / 16) = 86.8, against 136 for uniform
        assertEquals(86.8, sum / (double) n, 2.0);
        assertEquals(LoadGenLength.Dist.LOG_UNIFORM, LoadGenLength.Dist.parse("log-uniform"));
        assertThrows(UsageError.class, () -> LoadGenLength.Dist.parse("zipf"));
    }
}
