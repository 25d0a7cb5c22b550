package dev.tokc.ir.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** erf against reference values to 1e-15, and the stable sigmoid at the extremes. */
class ScalarMathTest {
    @Test
    void erfMatchesReferenceValues() {
        double[][] table = {
            {0, 0}, {1e-10, 1.1283791670955126e-10}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465},
            {1, 0.8427007929497149}, {1.5, 0.9661051464753108}, {2, 0.9953222650189527}, {2.5, 0.9995930479825550},
            {3, 0.9999779095030014}, {4, 0.9999999845827421}, {6, 1}, {40, 1},
        };
        for (double[] row : table) {
            assertEquals(row[1], ScalarMath.erf(row[0]), 1e-15, "erf(" + row[0] + ")");
            assertEquals(-row[1], ScalarMath.erf(-row[0]), 1e-15, "erf(-" + row[0] + ")");
        }
        assertEquals(Double.NaN, ScalarMath.erf(Double.NaN));
        assertEquals(1.0, ScalarMath.erf(Double.POSITIVE_INFINITY));
    }

    @Test
    void erfIsMonotoneAndBounded() {
        double prev = -1;
        for (double x = -7; x <= 7; x += 1e-3) {
            double e = ScalarMath.erf(x);
            // Monotone up to the last bit: near |x| = 6 the series and the clamp to 1 may differ by one ulp.
            assertEquals(true, e >= prev - 2e-16 && Math.abs(e) <= 1, "erf(" + x + ") = " + e);
            prev = e;
        }
    }

    @Test
    void sigmoidAndGeluAtTheExtremes() {
        assertEquals(0.0, ScalarMath.sigmoid(-1000));
        assertEquals(1.0, ScalarMath.sigmoid(1000));
        assertEquals(0.5, ScalarMath.sigmoid(0));
        assertEquals(0.0, ScalarMath.gelu(-40), 0.0);
        assertEquals(40.0, ScalarMath.gelu(40));
        assertEquals(-0.0, ScalarMath.silu(-1000), 0.0);
    }
}
