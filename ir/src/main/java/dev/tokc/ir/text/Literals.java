package dev.tokc.ir.text;

import dev.tokc.ir.DType;
import dev.tokc.ir.FloatFormats;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Spelling of scalars in the text form: numbers that read back to the same bits, quoted strings, value names.
 *
 * <p>Floats print as the shortest decimal that reads back to the same value <em>of their dtype</em> (so a bf16 0.1
 * prints {@code 0.1}, not its f32 expansion) unless the exact value is short anyway ({@code 65504.0}), with a
 * C-style exponent ({@code 1.0e-05}, {@code 3.0e+38}) and {@code inf}, {@code -inf}, {@code nan} for the specials. Reading a decimal back and rounding it to the dtype
 * (what {@link dev.tokc.ir.Tensor#ofDoubles} does) gives the printed value exactly, {@code -0.0} included; NaN
 * payloads are not kept, which is fine because tensors and records compare all NaNs equal.
 */
final class Literals {
    /** Narrow floats whose exact decimal has at most this many significant digits print exactly. */
    private static final int EXACT_DIGITS = 6;

    private Literals() {}

    /** A double attribute or f64 element: Java's shortest round-trip repr, exponent in C style. */
    static String formatDouble(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return cStyleExponent(Double.toString(v));
    }

    /** An element of a float tensor of {@code dtype}: the shortest decimal that rounds back to it in that dtype. */
    static String formatFloat(DType dtype, double v) {
        if (dtype == DType.F64 || Double.isNaN(v) || Double.isInfinite(v)) {
            return formatDouble(v);
        }
        if (dtype == DType.F32) {
            // Float.toString is already the shortest decimal that identifies the float.
            return cStyleExponent(Float.toString((float) v));
        }
        if (v == 0) {
            return Double.doubleToRawLongBits(v) < 0 ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(v);
        if (exact.stripTrailingZeros().precision() <= EXACT_DIGITS) {
            // Short exact values read better as themselves: fp8 448 prints 448.0, not the shorter 450.0 that also
            // rounds to it.
            return formatDouble(v);
        }
        // f16, bf16, fp8: few significant digits identify the value; find how few with the reader's own rounding.
        for (int digits = 1; digits < 17; digits++) {
            double candidate = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN)).doubleValue();
            if (FloatFormats.round(dtype, candidate) == v) {
                return formatDouble(candidate);
            }
        }
        return formatDouble(v);
    }

    /** {@code 1.0E-5} -> {@code 1.0e-05}: the spelling of the design notes, and sign-explicit for grepping. */
    private static String cStyleExponent(String javaRepr) {
        int e = javaRepr.indexOf('E');
        if (e < 0) {
            return javaRepr;
        }
        int exponent = Integer.parseInt(javaRepr.substring(e + 1));
        String digits = Integer.toString(Math.abs(exponent));
        return javaRepr.substring(0, e) + "e" + (exponent < 0 ? "-" : "+") + (digits.length() < 2 ? "0" : "") + digits;
    }

    /** Appends {@code s} in double quotes, escaping quotes, backslashes and control characters. */
    static void quote(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7F) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder();
        quote(s, sb);
        return sb.toString();
    }

    /** The contents of a STRING token (with its quotes), escapes resolved. The lexer has checked the escapes. */
    static String unquote(String token) {
        StringBuilder sb = new StringBuilder(token.length());
        for (int i = 1; i < token.length() - 1; i++) {
            char c = token.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = token.charAt(++i);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'u' -> {
                    sb.append((char) Integer.parseInt(token.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> sb.append(e); // \" \\ \/
            }
        }
        return sb.toString();
    }

    /** True for names the parser reads as unnamed values ({@code %0}); real names like that need quotes. */
    static boolean isNumeric(String name) {
        return !name.isEmpty() && name.chars().allMatch(ch -> ch >= '0' && ch <= '9');
    }

    /** {@code %name}, or {@code %"name"} when the bare form would read as an unnamed value. */
    static String valueName(String realName) {
        return isNumeric(realName) ? "%" + quote(realName) : "%" + realName;
    }
}
