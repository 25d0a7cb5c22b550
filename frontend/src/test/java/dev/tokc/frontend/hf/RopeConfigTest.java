package dev.tokc.frontend.hf;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Inverse frequencies against values computed independently with numpy in float32, following transformers'
 * modeling_rope_utils step by step (numpy's float32 pow may differ by an ulp from ours, hence the tolerance).
 */
class RopeConfigTest {
    private static void assertUlps(float[] expected, float[] actual, int ulps) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], ulps * Math.ulp(expected[i]), "index " + i);
        }
    }

    @Test
    void defaultTheta10kDim32() {
        float[] numpy = {1f, 0.562341332f, 0.316227764f, 0.177827939f, 0.100000001f, 0.0562341288f, 0.0316227786f,
                0.0177827943f, 0.00999999978f, 0.00562341325f, 0.00316227786f, 0.00177827943f, 0.00100000005f,
                0.000562341302f, 0.000316227786f, 0.00017782794f};
        assertUlps(numpy, new RopeConfig(10000, 32, new RopeConfig.Default()).inverseFrequencies(), 1);
    }

    @Test
    void linearDividesByFactor() {
        float[] base = new RopeConfig(10000, 32, new RopeConfig.Default()).inverseFrequencies();
        float[] linear = new RopeConfig(10000, 32, new RopeConfig.Linear(4)).inverseFrequencies();
        for (int i = 0; i < base.length; i++) {
            assertEquals(base[i] / 4f, linear[i]);
        }
    }

    @Test
    void llama3Scaling() {
        // theta 5e5, head_dim 64, factor 8, low 1, high 4, original 8192 (Llama 3.1 8B's settings).
        float[] numpy = {1f, 0.66360122f, 0.440366626f, 0.292227805f, 0.193922758f, 0.128687382f, 0.0853971019f,
                0.0566696189f, 0.0376060307f, 0.0249554086f, 0.0165604409f, 0.0109895291f, 0.00729266508f,
                0.00483942125f, 0.00321144611f, 0.00137189368f, 0.000524846022f, 0.000178507791f, 7.78465546e-05f,
                5.16590735e-05f, 3.42810235e-05f, 2.27489272e-05f, 1.50962178e-05f, 1.00178677e-05f, 6.64787058e-06f,
                4.41153452e-06f, 2.92749974e-06f, 1.94269251e-06f, 1.28917316e-06f, 8.55496921e-07f, 5.6770881e-07f,
                3.76732288e-07f};
        float[] inv = new RopeConfig(500000, 64, new RopeConfig.Llama3(8, 1, 4, 8192)).inverseFrequencies();
        assertUlps(numpy, inv, 2);
        float[] plain = new RopeConfig(500000, 64, new RopeConfig.Default()).inverseFrequencies();
        // High frequencies (short wavelengths) are untouched, low ones divided by the factor, the band between smoothed.
        assertEquals(plain[0], inv[0]);
        assertEquals(plain[31] / 8f, inv[31]);
        assertTrue(inv[15] < plain[15] && inv[15] > plain[15] / 8f);
    }

    @Test
    void rejectsInvalidSettings() {
        assertThrows(IllegalArgumentException.class, () -> new RopeConfig(10000, 31, new RopeConfig.Default()));
        assertThrows(IllegalArgumentException.class, () -> new RopeConfig(-1, 32, new RopeConfig.Default()));
        assertThrows(IllegalArgumentException.class, () -> new RopeConfig.Linear(0));
        assertThrows(IllegalArgumentException.class, () -> new RopeConfig.Llama3(8, 4, 1, 8192));
    }
}
