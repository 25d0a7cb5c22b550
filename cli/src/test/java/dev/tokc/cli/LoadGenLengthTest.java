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
}
