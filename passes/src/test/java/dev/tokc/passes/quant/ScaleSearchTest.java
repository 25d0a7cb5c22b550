package dev.tokc.passes.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.QuantType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** AWQ's search never loses to round-to-nearest on its error estimate and wins with outlier channels; SmoothQuant's formula. */
class ScaleSearchTest {
    @Test
    void awqBeatsRoundToNearestWhenSomeChannelsCarryLargeActivations() {
        SplittableRandom rnd = new SplittableRandom(11);
        int out = 16;
        int in = 64;
        double[] w = new double[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextGaussian();
        }
        double[] meanAbs = new double[in];
        double[] meanSq = new double[in];
        for (int j = 0; j < in; j++) {
            meanAbs[j] = j % 16 == 0 ? 30 : 0.5 + rnd.nextDouble();
            meanSq[j] = meanAbs[j] * meanAbs[j] * 1.5;
        }
        QuantType t = QuantType.parse("int4g32");
        double rtn = ScaleSearch.error(t, w, out, in, null, meanSq);
        double[] s = ScaleSearch.awq(t, w, out, in, meanAbs, meanSq);
        assertNotNull(s, "outlier channels: some exponent must beat plain rounding");
        double awq = ScaleSearch.error(t, w, out, in, s, meanSq);
        assertTrue(awq < 0.9 * rtn, "AWQ " + awq + " vs RTN " + rtn);
        assertTrue(s[0] > s[1], "the outlier channel gets the larger scale");
    }

    @Test
    void smoothQuantMigratesByAlpha() {
        double[] w = {2, -4, 1, 0.5}; // [2 rows, 2 cols]: column maxima 2 and 4
        double[] maxAbs = {9, 16};
        double[] s = ScaleSearch.smoothQuant(w, 2, 2, maxAbs, 0.5);
        assertEquals(Math.sqrt(9) / Math.sqrt(2), s[0], 1e-6);
        assertEquals(Math.sqrt(16) / Math.sqrt(4), s[1], 1e-6);
        double[] none = ScaleSearch.smoothQuant(w, 2, 2, maxAbs, 0);
        assertEquals(1 / 2.0, none[0], 1e-6);
    }
}
