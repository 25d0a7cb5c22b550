package dev.tokc.ir.interp;

import static dev.tokc.ir.interp.TestGraphs.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Run-level behaviour: symbol binding, declared-type checks, freeing, and errors that name their node. */
class InterpreterTest {
    static final Dim BATCH = Dim.sym("batch");
    static final Dim SEQ = Dim.sym("seq");

    static String failure(Executable e) {
        InterpreterException ex = assertThrows(InterpreterException.class, e);
        assertTrue(ex instanceof IrException);
        return ex.getMessage();
    }

    static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
        }
    }

    @Test
    void symbolsBindFromInputShapes() {
        Node a = param("a", DType.F32, BATCH, SEQ);
        Node b = param("b", DType.F32, SEQ);
        Node sum = Node.of(new PrimitiveOp.Add(), List.of(a, b), "sum");
        Tensor out = eval(sum, "a", f32(s(2, 3), 1, 2, 3, 4, 5, 6), "b", f32(s(3), 10, 20, 30));
        assertTensor(f32(s(2, 3), 11, 22, 33, 14, 25, 36), out);
    }

    @Test
    void inputsThatDisagreeOnASymbolNameBoth() {
        Node a = param("a", DType.F32, BATCH, SEQ);
        Node b = param("b", DType.F32, SEQ);
        Node sum = node(new PrimitiveOp.Add(), a, b);
        String m = failure(() -> eval(sum, "a", f32(s(1, 3), 1, 2, 3), "b", f32(s(4), 1, 2, 3, 4)));
        assertContains(m, "%b = param", "%b dim 0 has seq = 4", "%a dim 1 has seq = 3");
    }

    @Test
    void constantAndPolynomialDimsOfInputsAreChecked() {
        Node a = param("a", DType.F32, BATCH, Dim.of(2));
        assertContains(failure(() -> eval(node(new PrimitiveOp.Neg(), a), "a", f32(s(1, 3), 1, 2, 3))),
                "input %a has shape [1, 3] but dim 1 is declared 2");
        Node p = param("p", DType.F32, SEQ);
        Node q = param("q", DType.F32, SEQ.plus(1));
        Node cat = node(new PrimitiveOp.Concat(0), p, q);
        assertEquals(5, eval(cat, "p", f32(s(2), 1, 2), "q", f32(s(3), 3, 4, 5)).size());
        assertContains(failure(() -> eval(cat, "p", f32(s(2), 1, 2), "q", f32(s(2), 3, 4))),
                "%q", "dim 0 is declared 3 (seq+1");
    }

    @Test
    void missingExtraAndMistypedInputsAreErrors() {
        Node a = param("a", DType.F32, 2);
        Node n = node(new PrimitiveOp.Neg(), a);
        assertContains(failure(() -> eval(n)), "no value given for input %a");
        assertContains(failure(() -> eval(n, "a", f32(s(2), 1, 2), "zz", f32(s(1), 1))), "has no input %zz");
        assertContains(failure(() -> eval(n, "a", f64(s(2), 1, 2))), "declared f32[2] but the value is f64[2]");
    }

    @Test
    void valuesAreCheckedAgainstTheirDeclaredType() {
        Node w = Node.of(new SourceOp.Weight("w", TensorType.of(DType.F32, 4)), List.of(), "w");
        Node n = node(new PrimitiveOp.Neg(), w);
        String m = failure(() -> Interpreter.run(graph(n), Map.of(), WeightSource.inMemory().put("w", f32(s(3), 1, 2, 3))));
        assertContains(m, "%w = weight", "declared f32[4]", "dim 0 is declared 4");

        // A symbolic dim must equal its bound value: recv promises f32[seq] but the channel delivers 5 elements.
        Node x = param("x", DType.F32, SEQ);
        Node r = Node.of(new TargetOp.Recv(0, TensorType.of(DType.F32, SEQ)), List.of(), "r");
        Node sum = node(new PrimitiveOp.Add(), x, r);
        PipelineChannel wrong = new PipelineChannel() {
            @Override
            public void send(int peer, Tensor value) {}

            @Override
            public Tensor receive(int peer, TensorType type) {
                return f32(s(5), 1, 2, 3, 4, 5);
            }
        };
        m = failure(() -> Interpreter.run(graph(sum), inputs("x", f32(s(3), 1, 2, 3)), WeightSource.none(),
                new ExecutionContext(null, wrong)));
        assertContains(m, "%r = recv", "dim 0 is declared 3 (seq");
    }

    @Test
    void aParamThatIsNotAGraphInputIsAnError() {
        Node x = param("x", DType.F32, 2);
        Node hidden = param("hidden", DType.F32, 2);
        Graph g = new Graph("g", List.of(x), List.of(node(new PrimitiveOp.Add(), x, hidden)));
        assertContains(failure(() -> Interpreter.run(g, inputs("x", f32(s(2), 1, 2)), WeightSource.none())),
                "%hidden = param", "not an input of the graph");
    }

    @Test
    void unknownDimsAcceptAnyExtent() {
        Node x = param("x", DType.F32, 6);
        Node start = param("start", DType.I64, 1);
        Node sl = node(new PrimitiveOp.Slice(), x, start, vec(Long.MAX_VALUE), vec(0), vec(1));
        assertTrue(sl.shape().dim(0).isUnknown(), sl.toString());
        Tensor out = eval(sl, "x", f32(s(6), 0, 1, 2, 3, 4, 5), "start", i64(s(1), 4));
        assertTensor(f32(s(2), 4, 5), out);
    }

    @Test
    void intermediatesAreFreedAfterTheirLastUse() {
        Node x = param("x", DType.F32, 1000);
        Node h = x;
        for (int i = 0; i < 200; i++) {
            h = node(new PrimitiveOp.Add(), h, x);
        }
        Interpreter interp = new Interpreter(WeightSource.none(), ExecutionContext.EMPTY);
        Tensor out = interp.execute(graph(h), inputs("x", Tensor.generate(DType.F32, s(1000), i -> 1))).getFirst();
        assertEquals(201, out.getDouble(999));
        assertTrue(interp.peakLiveValues() <= 3, "peak live values " + interp.peakLiveValues());
    }

    @Test
    void outputsStayAliveEvenWhenAlsoUsedLater() {
        Node x = param("x", DType.F32, 2);
        Node a = node(new PrimitiveOp.Neg(), x);
        Node b = node(new PrimitiveOp.Neg(), a);
        List<Tensor> out = Interpreter.run(new Graph("g", List.of(x), List.of(a, b, x)), inputs("x", f32(s(2), 1, 2)),
                WeightSource.none());
        assertTensor(f32(s(2), -1, -2), out.get(0));
        assertTensor(f32(s(2), 1, 2), out.get(1));
        assertTensor(f32(s(2), 1, 2), out.get(2));
    }

    @Test
    void indexErrorsNameTheNode() {
        Node data = param("data", DType.F32, 3);
        Node idx = param("idx", DType.I64, 1);
        Node g = Node.of(new PrimitiveOp.Gather(0), List.of(data, idx), "g");
        assertContains(failure(() -> eval(g, "data", f32(s(3), 1, 2, 3), "idx", i64(s(1), 3))),
                "%g = gather", "index 3 is out of range for a dim of size 3");
        assertContains(failure(() -> eval(g, "data", f32(s(3), 1, 2, 3), "idx", i64(s(1), -4))), "index -4");
        Node nd = node(new PrimitiveOp.GatherND(0), param("m", DType.F32, 2, 2), param("ix", DType.I64, 1, 2));
        assertContains(failure(() -> eval(nd, "m", f32(s(2, 2), 1, 2, 3, 4), "ix", i64(s(1, 2), 0, 2))), "gather_nd", "index 2");
        Node emb = node(new dev.tokc.ir.ModelOp.Embedding(), param("t", DType.F32, 2, 1), param("ids", DType.I64, 1));
        assertContains(failure(() -> eval(emb, "t", f32(s(2, 1), 1, 2), "ids", i64(s(1), -1))), "token id -1");
    }

    @Test
    void arithmeticAndShapeErrorsNameTheNode() {
        Node a = param("a", DType.I64, 2);
        Node b = param("b", DType.I64, 2);
        assertContains(failure(() -> eval(node(new PrimitiveOp.Div(), a, b), "a", i64(s(2), 1, 2), "b", i64(s(2), 1, 0))),
                "= div", "integer division by zero");
        Node x = param("x", DType.F32, 4);
        Node shape = param("shape", DType.I64, 2);
        assertContains(failure(() -> eval(node(new PrimitiveOp.Reshape(false), x, shape), "x", f32(s(4), 1, 2, 3, 4),
                "shape", i64(s(2), 3, -1))), "= reshape", "cannot infer the -1");
        Node steps = param("steps", DType.I64, 1);
        assertContains(failure(() -> eval(node(new PrimitiveOp.Slice(), x, vec(0), vec(2), vec(0), steps),
                "x", f32(s(4), 1, 2, 3, 4), "steps", i64(s(1), 0))), "= slice", "step must not be 0");
    }

    @Test
    void runtimeOnlyOpsFailClearlyWithoutTheirRuntime() {
        Node x = param("x", DType.F32, 2);
        assertContains(failure(() -> eval(node(new TargetOp.AllReduce(2), x), "x", f32(s(2), 1, 2))),
                "= all_reduce", "world size 2 needs a collective runtime");
        assertContains(failure(() -> eval(node(new TargetOp.AllGather(0, 4), x), "x", f32(s(2), 1, 2))),
                "needs a collective runtime");
        assertContains(failure(() -> eval(node(new TargetOp.Send(1), x), "x", f32(s(2), 1, 2))),
                "= send", "needs a PipelineChannel");
        Node recv = Node.of(new TargetOp.Recv(3, TensorType.of(DType.F32, 2)));
        assertContains(failure(() -> eval(recv)), "= recv", "pipeline stage 3 needs a PipelineChannel");
        KvCacheSpec spec = new KvCacheSpec(1, 1, 2, 4, DType.F32);
        Node k = param("k", DType.F32, 1, 1, 2);
        Node kvw = node(new TargetOp.KvWrite(spec, 0), k, k, vec(0));
        assertContains(failure(() -> eval(kvw, "k", f32(s(1, 1, 2), 1, 2))), "= kv_write", "needs a kv cache");
        Node far = node(new TargetOp.KvWrite(spec, 0), k, k, vec(100));
        assertContains(failure(() -> Interpreter.run(graph(far), inputs("k", f32(s(1, 1, 2), 1, 2)), WeightSource.none(),
                ExecutionContext.withKvCache(new ReferenceKvCache(spec, 2)))), "slot 100 is outside the cache's 8 slots");
    }
}
