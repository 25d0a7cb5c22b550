package dev.tokc.ir.text;

import static org.junit.jupiter.api.Assertions.fail;

import dev.tokc.ir.testing.RandomGraphs;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Damaged text fails cleanly: a printed random graph with one random edit either parses or throws
 * {@link IrSyntaxException}, never a stray NumberFormatException, IllegalStateException or the like.
 */
class MutationTest {
    private static final String ALPHABET = "%@[]{}(),:=-+*?\"\\ \n.0123456789eaxfi_$/";

    @Test
    void everyEditedTextParsesOrReportsAPosition() {
        Random rnd = new Random(42);
        for (long seed = 0; seed < 40; seed++) {
            String text = IrPrinter.print(RandomGraphs.graph(500 + seed, 12));
            for (int i = 0; i < 60; i++) {
                String edited = edit(text, rnd);
                try {
                    IrParser.parse(edited, "mutant.ir");
                } catch (IrSyntaxException expected) {
                    // The point of the test: a positioned message.
                } catch (RuntimeException | StackOverflowError e) {
                    fail("unexpected " + e + " for:\n" + edited, e);
                }
            }
        }
    }

    private static String edit(String text, Random rnd) {
        int at = rnd.nextInt(text.length());
        char c = ALPHABET.charAt(rnd.nextInt(ALPHABET.length()));
        return switch (rnd.nextInt(3)) {
            case 0 -> text.substring(0, at) + text.substring(at + 1);
            case 1 -> text.substring(0, at) + c + text.substring(at);
            default -> text.substring(0, at) + c + text.substring(at + 1);
        };
    }
}
