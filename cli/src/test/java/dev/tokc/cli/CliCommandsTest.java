package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands' happy paths, end to end through {@link Tokc#run}. */
class CliCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void irOptRunsThePassesAndPrintsTheResult() throws Exception {
        Path f = tmp.resolve("g.ir");
        Files.writeString(f, """
                graph @g(%x: f32[batch, 4]) -> (f32[batch, 4]) {
                  %one = constant f32[] [1.0]
                  %a = mul(%x, %one) : f32[batch, 4]
                  return %a
                }
                """);
        var r = CliErrorsTest.tokc("ir-opt", f.toString(), "--passes", "canonicalize", "--verify-each");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("return %x"), r.out());
        assertTrue(r.err().contains("mulOne=1"), r.err());
    }

    @Test
    void irOptReportsSyntaxErrorsWithLineAndColumn() throws Exception {
        Path f = tmp.resolve("bad.ir");
        Files.writeString(f, "graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = nope(%x) : f32[2]\n  return %y\n}\n");
        CliErrorsTest.assertOneLineError(CliErrorsTest.tokc("ir-opt", f.toString()), "bad.ir:2:8", "nope");
    }

    @Test
    void compileEmitsTheImportedAndTheOptimisedIr() {
        String model = SharedData.model("tiny-random-llama-gqa").toString();
        var ir = CliErrorsTest.tokc("compile", model, "--emit", "ir");
        assertEquals(0, ir.code(), ir.err());
        assertTrue(ir.out().startsWith("graph @forward(%input_ids: i64[batch, seq]) -> (f32[batch, seq, 1024])"), ir.out());
        var opt = CliErrorsTest.tokc("compile", model, "--emit", "ir-opt", "--verify-each", "--dump-after", "canonicalize");
        assertEquals(0, opt.code(), opt.err());
        assertTrue(opt.err().contains("shape-infer: shapesResolved="), opt.err());
        assertTrue(opt.err().contains("graph @forward"), "dump-after prints the IR: " + opt.err());
        assertTrue(opt.err().contains("fuse/fuse-qkv: groups=2 linears=6 qkv=2"), opt.err());
        assertTrue(opt.err().contains("fuse/fuse-rope-kv-write: ropeKvWrite=2"), opt.err());
        assertTrue(opt.err().contains("// memory plan @step:") && opt.err().contains("// tokens=512 "), opt.err());
        assertEquals(2, CliErrorsTest.tokc("compile", model, "--emit", "asm").code());
    }

    @Test
    void onnxTestReportsPassAndFail() {
        Path root = SharedData.root().resolve("onnx-node-tests");
        var r = CliErrorsTest.tokc("onnx-test", root.resolve("test_add").toString(), root.resolve("test_sigmoid").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().endsWith("2 passed, 0 failed\n"), r.out());
    }
}
