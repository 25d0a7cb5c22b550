package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Expected values are numpy.percentile's (linear interpolation), worked out by hand in the comments. */
class LoadGenStatsTest {
    @Test
    void fourValues() {
        double[] s = {1, 2, 3, 4};
        assertEquals(2.5, LoadGenStats.percentileOfSorted(s, 50), 1e-12); // h = 1.5
        assertEquals(3.7, LoadGenStats.percentileOfSorted(s, 90), 1e-12); // h = 2.7
        assertEquals(3.97, LoadGenStats.percentileOfSorted(s, 99), 1e-12); // h = 2.97
        assertEquals(1, LoadGenStats.percentileOfSorted(s, 0), 1e-12);
        assertEquals(4, LoadGenStats.percentileOfSorted(s, 100), 1e-12);
    }

    @Test
    void oneToHundred() {
        double[] s = new double[100];
        for (int i = 0; i < 100; i++) {
            s[i] = i + 1;
        }
        assertEquals(50.5, LoadGenStats.percentileOfSorted(s, 50), 1e-9); // h = 49.5
        assertEquals(90.1, LoadGenStats.percentileOfSorted(s, 90), 1e-9); // h = 89.1
        assertEquals(99.01, LoadGenStats.percentileOfSorted(s, 99), 1e-9); // h = 98.01
    }

    @Test
    void ofSortsAndSummarises() {
        LoadGenStats st = LoadGenStats.of(new double[] {40, 10, 30, 20});
        assertEquals(4, st.count());
        assertEquals(25, st.mean(), 1e-12);
        assertEquals(25, st.p50(), 1e-12);
        assertEquals(37, st.p90(), 1e-12);
        assertEquals(39.7, st.p99(), 1e-12);
        assertEquals(40, st.max(), 1e-12);
    }

    @Test
    void singleAndEmpty() {
        LoadGenStats one = LoadGenStats.of(new double[] {7});
        assertEquals(7, one.p50());
        assertEquals(7, one.p99());
        LoadGenStats none = LoadGenStats.of(new double[0]);
        assertEquals(0, none.count());
        assertTrue(Double.isNaN(none.p50()) && Double.isNaN(none.mean()));
        assertThrows(IllegalArgumentException.class, () -> LoadGenStats.percentileOfSorted(new double[] {1}, 101));
    }
}
