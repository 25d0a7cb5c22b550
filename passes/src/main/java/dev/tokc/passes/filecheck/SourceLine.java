package dev.tokc.passes.filecheck;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of a test file with its 1-based line number in that file.
 *
 * <p>Check lines keep the number they have in the golden file (not in the case they belong to), so a
 * diagnostic can point the reader at the right line of the file they will open.
 */
public record SourceLine(int number, String text) {

    /** Splits {@code text} into numbered lines starting at {@code firstNumber}; accepts \n and \r\n. */
    public static List<SourceLine> split(String text, int firstNumber) {
        List<SourceLine> lines = new ArrayList<>();
        String[] parts = text.split("\r?\n", -1);
        // A trailing newline ends the last line; it does not start an empty one.
        int count = parts.length > 0 && parts[parts.length - 1].isEmpty() && text.endsWith("\n") ? parts.length - 1 : parts.length;
        for (int i = 0; i < count; i++) {
            lines.add(new SourceLine(firstNumber + i, parts[i]));
        }
        return lines;
    }
}
