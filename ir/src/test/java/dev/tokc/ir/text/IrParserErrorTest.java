package dev.tokc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Verifier;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every kind of error the reader reports, with the {@code file:line:col} it points at. */
class IrParserErrorTest {

    /** Parses {@code source} as "t.ir" and checks the error's position and that its message contains {@code what}. */
    private static IrSyntaxException assertError(String source, int line, int column, String what) {
        IrSyntaxException e = assertThrows(IrSyntaxException.class, () -> IrParser.parse(source, "t.ir"));
        assertEquals("t.ir:" + line + ":" + column + ": " + e.detail(), e.getMessage());
        assertEquals(line + ":" + column, e.line() + ":" + e.column(), e.getMessage());
        assertTrue(e.detail().contains(what), () -> "expected '" + what + "' in: " + e.getMessage());
        return e;
    }

    /** Like {@link #assertError}, the column being where {@code at} first occurs on that line. */
    private static IrSyntaxException assertErrorAt(String source, int line, String at, String what) {
        int column = source.lines().toList().get(line - 1).indexOf(at) + 1;
        assertTrue(column > 0, at + " is not on line " + line);
        return assertError(source, line, column, what);
    }

    @Test
    void syntaxErrorsSayWhatWasExpected() {
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = neg(%x : f32[2]
                  return %y
                }
                """, 2, 15, "expecting {',', ')'}");
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  return %x
                """, 3, 1, "missing '}' at '<EOF>'");
        assertError("graph g(%x: f32[2]) -> () {\n  return\n}\n", 1, 7, "expecting @name");
    }

    @Test
    void lexerErrorsUseTheSameFormat() {
        assertError("graph @g() -> () {\n  # a shell comment\n  return\n}\n", 2, 3, "token recognition error at: '#'");
    }

    @Test
    void unknownOp() {
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = negate(%x) : f32[2]
                  return %y
                }
                """, 2, 8, "unknown op 'negate'; did you mean 'neg'?");
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = rmsnorm(%x, %x) : f32[2]
                  return %y
                }
                """, 2, 8, "unknown op 'rmsnorm'; did you mean 'rms_norm'?");
        assertEquals("unknown op 'frobnicate'", assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = frobnicate(%x) : f32[2]
                  return %y
                }
                """, 2, 8, "unknown op").detail());
    }

    @Test
    void undefinedValue() {
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = add(%x, %z) : f32[2]
                  return %y
                }
                """, 2, 16, "undefined value %z");
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  return %y
                }
                """, 2, 10, "undefined value %y");
        // Values are scoped to their graph.
        assertError("""
                graph @a(%x: f32[2]) -> (f32[2]) {
                  return %x
                }
                graph @b() -> (f32[2]) {
                  return %x
                }
                """, 5, 10, "undefined value %x");
    }

    @Test
    void redefinition() {
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2]) {
                  %y = neg(%x) : f32[2]
                  %y = exp(%x) : f32[2]
                  return %y
                }
                """, 3, 3, "redefinition of %y (first defined at 2:3)");
        assertError("""
                graph @g(%x: f32[2], %x: f32[3]) -> () {
                  return
                }
                """, 1, 22, "redefinition of %x");
    }

    @Test
    void typeMismatch() {
        assertError("""
                graph @g(%x: f32[batch, 2]) -> (f32[batch, 2]) {
                  %y = neg(%x) : f32[batch, 3]
                  return %y
                }
                """, 2, 18, "type mismatch: neg infers f32[batch, 2] but the text says f32[batch, 3]");
        assertError("""
                graph @g(%x: f32[2]) -> (f16[2]) {
                  return %x
                }
                """, 2, 10, "result 0 %x has type f32[2] but the graph declares f16[2]");
        assertError("""
                graph @g(%x: f32[2]) -> (f32[2], f32[2]) {
                  return %x
                }
                """, 2, 3, "declares 2 result(s) but returns 1");
    }

    @Test
    void typeInferenceFailuresNameTheOp() {
        assertError("""
                graph @g(%x: f32[2], %i: i64[2]) -> (f32[2]) {
                  %y = add(%x, %i) : f32[2]
                  return %y
                }
                """, 2, 8, "add %y: input 1 is i64 but input 0 is f32");
    }

    @Test
    void badAttributes() {
        String prefix = "graph @g(%x: f32[4]) -> (f32[4]) {\n  %y = ";
        String suffix = " : f32[4]\n  return %y\n}\n";
        assertErrorAt(prefix + "rms_norm(%x, %x) {eps = 1.0e-05}" + suffix, 2, "{eps",
                "rms_norm is missing attribute 'weight_offset'; expected eps, weight_offset");
        assertErrorAt(prefix + "rms_norm(%x, %x)" + suffix, 2, "rms_norm", "rms_norm is missing attribute 'eps'");
        assertErrorAt(prefix + "rms_norm(%x, %x) {eps = 0.5, weight_offset = 0.0, epsilon = 1.0}" + suffix, 2, "epsilon",
                "rms_norm has no attribute 'epsilon'; expected eps, weight_offset");
        assertErrorAt(prefix + "neg(%x) {axis = 1}" + suffix, 2, "axis", "neg has no attribute 'axis'; it takes no attributes");
        assertErrorAt(prefix + "rms_norm(%x, %x) {eps = \"small\", weight_offset = 0.0}" + suffix, 2, "\"small",
                "attribute 'eps' of rms_norm expects a number (or inf, nan), found \"small\"");
        assertErrorAt(prefix + "rms_norm(%x, %x) {eps = 0.5, eps = 0.5, weight_offset = 0.0}" + suffix, 2, "eps = 0.5, weight",
                "attribute 'eps' is given twice");
        assertErrorAt(prefix + "softmax(%x) {axis = 1.5}" + suffix, 2, "1.5",
                "attribute 'axis' of softmax expects an integer, found 1.5");
        assertErrorAt(prefix + "cast(%x) {to = f33, saturate = false}" + suffix, 2, "f33", "unknown element type 'f33'");
        assertErrorAt(prefix + "gelu(%x) {tanh = yes}" + suffix, 2, "yes", "attribute 'tanh' of gelu expects true or false, found yes");
        assertErrorAt(prefix + "all_reduce(%x) {world_size = 4294967296}" + suffix, 2, "4294967296",
                "attribute 'world_size' of all_reduce expects an int, 4294967296 is out of range");
        assertErrorAt(prefix + "transpose(%x) {perm = [0, seq]}" + suffix, 2, "seq",
                "attribute 'perm' of transpose element 1 expects an integer, found seq");
    }

    @Test
    void badEnumsAndNestedRecords() {
        String kv = "graph @g(%k: f16[3, 2, 8], %s: i32[3]) -> (i64[]) {\n  %w = kv_write(%k, %k, %s) {spec = %s, layer = 0} : i64[]\n  return %w\n}\n";
        assertErrorAt(kv.replace("%s,", "{layers = 0, kv_heads = 2, head_dim = 8, block_size = 16, dtype = f16},"), 2, "{layers",
                "invalid kv_cache_spec: kv cache spec needs positive layers");
        assertErrorAt(kv.replace("%s,", "{layers = 1, kv_heads = 2, head_dim = 8, block_size = 16},"), 2, "{layers",
                "kv_cache_spec is missing attribute 'dtype'; expected layers, kv_heads, head_dim, block_size, dtype");
        assertErrorAt(kv.replace("%s,", "3,"), 2, "3,", "attribute 'spec' of kv_write expects {name = value, ...}, found 3");
        String fused = "graph @g(%x: f32[3, 8], %w: f32[4, 8]) -> (f32[3, 4]) {\n"
                + "  %y = fused_linear(%x, %w) {epilogue = swish, has_bias = false, transpose_weight = false} : f32[3, 4]\n"
                + "  return %y\n}\n";
        assertErrorAt(fused, 2, "swish",
                "attribute 'epilogue' of fused_linear expects one of none, silu_mul, gelu_mul, gelu, gelu_tanh, residual_add, found swish");
    }

    @Test
    void badLiterals() {
        assertErrorAt("graph @g() -> (i64[2]) {\n  %c = constant i64[2] [1, 2, 3]\n  return %c\n}\n", 2, "[1,",
                "tensor literal of type i64[2] needs 2 values, found 3");
        assertErrorAt("graph @g() -> (i8[1]) {\n  %c = constant i8[1] [200]\n  return %c\n}\n", 2, "200",
                "value 200 does not fit i8 [-128, 127]");
        assertError("graph @g() -> (bool[1]) {\n  %c = constant bool[1] [1]\n  return %c\n}\n", 2, 26,
                "expected a bool value (true or false), found 1");
        assertErrorAt("graph @g() -> (f32[1]) {\n  %c = constant f32[1] [infinity]\n  return %c\n}\n", 2, "infinity",
                "expected a f32 value (a number, inf or nan), found infinity");
        assertErrorAt("graph @g() -> (f32[seq]) {\n  %c = constant f32[seq] []\n  return %c\n}\n", 2, "[seq]",
                "a tensor literal needs a static shape, found [seq]");
        assertErrorAt("graph @g(%x: int4[2]) -> () {\n  return\n}\n", 1, "int4", "int4 needs a positive even group size");
    }

    @Test
    void unnamedParametersNeedAParamName() {
        assertError("graph @g(%0: f32[2]) -> () {\n  return\n}\n", 1, 10,
                "unnamed parameter %0 needs {param_name = \"...\"} after its type");
    }

    @Test
    void parseGraphWantsExactlyOne() {
        IrSyntaxException e = assertThrows(IrSyntaxException.class, () -> IrParser.parseGraph("", "empty.ir"));
        assertEquals("empty.ir:1:1: expected exactly one graph, found 0", e.getMessage());
    }

    @Test
    void typeCorrectButVerifierInvalidGraphsParse() {
        // No outputs, one weight key with two types, a param used without being declared: the verifier's business.
        Graph g = IrParser.parseGraph("""
                graph @bad(%x: f32[2], %x: f32[2]) -> (f32[2], f32[3], f32[2]) {
                  %a = weight "w" : f32[2]
                  %b = weight "w" : f32[3]
                  %p = param() {param_name = "p", type = f32[2]} : f32[2]
                  return %a, %b, %p
                }
                """, "bad.ir");
        assertSame(g.inputs().get(0), g.inputs().get(1), "a repeated identical parameter is one value");
        List<String> problems = Verifier.verify(g);
        assertTrue(problems.stream().anyMatch(p -> p.contains("declared twice")), problems::toString);
        assertTrue(problems.stream().anyMatch(p -> p.contains("has types f32[2] and f32[3]")), problems::toString);
        assertTrue(problems.stream().anyMatch(p -> p.contains("is used but not a graph input")), problems::toString);
        assertEquals(List.of("graph @empty has no outputs"),
                Verifier.verify(IrParser.parseGraph("graph @empty() -> () {\n  return\n}\n", "e.ir")));
    }
}
