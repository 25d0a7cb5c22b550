package dev.tokc.ir.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.ElementType;
import dev.tokc.ir.Epilogue;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Shape;
import dev.tokc.ir.Tensor;
import dev.tokc.ir.TensorType;
import java.util.List;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.junit.jupiter.api.Test;

/**
 * Every attribute kind the printer and reader support, including kinds no op uses yet, through a record that is
 * not an op: a future op with such components prints and parses without changes to the text package.
 */
class AttributeKindsTest {
    enum Mode { FAST_PATH, slowPath }

    record Everything(boolean flag, int count, long big, double real, String text, DType dtype, ElementType element,
            QuantType quant, Epilogue epilogue, Mode mode, TensorType type, Shape shape, Dim dim, List<Dim> dims,
            List<Long> axes, List<List<Double>> nested, List<TensorType> types, Tensor literal, KvCacheSpec spec,
            List<KvCacheSpec> specs) {}

    @Test
    void everyKindRoundTrips() {
        Dim seq = Dim.sym("seq");
        Everything e = new Everything(true, -7, Long.MIN_VALUE, -0.0, "tab\there \"quoted\" \\ \u0001 ünï", DType.BF16,
                new QuantType(QuantFormat.NF4, 64), new QuantType(QuantFormat.INT8, 0), Epilogue.RESIDUAL_ADD,
                Mode.slowPath, TensorType.of(DType.I4, seq.times(2).plus(1), Dim.UNKNOWN), Shape.of(seq, Dim.of(-3)),
                seq.minus(Dim.sym("ctx")), List.of(), List.of(0L, -1L, Long.MAX_VALUE),
                List.of(List.of(Double.NaN, Double.NEGATIVE_INFINITY), List.of(), List.of(1e-300)),
                List.of(new TensorType(DType.F32, Shape.SCALAR), TensorType.of(DType.BOOL, 0)),
                Tensor.ofLongs(DType.U64, new long[] {2}, new long[] {-1, 0}),
                new KvCacheSpec(1, 2, 3, 4, DType.FP8E5M2), List.of(new KvCacheSpec(6, 2, 32, 16, DType.F16)));
        StringBuilder text = new StringBuilder();
        AttributePrinter.print(e, text);
        assertEquals("{flag = true, count = -7, big = -9223372036854775808, real = -0.0, "
                + "text = \"tab\\there \\\"quoted\\\" \\\\ \\u0001 ünï\", dtype = bf16, element = nf4g64, quant = int8, "
                + "epilogue = residual_add, mode = slow_path, type = i4[2*seq+1, ?], shape = [seq, -3], dim = -ctx+seq, "
                + "dims = [], axes = [0, -1, 9223372036854775807], nested = [[nan, -inf], [], [1.0e-300]], "
                + "types = [f32[], bool[0]], literal = u64[2] [18446744073709551615, 0], "
                + "spec = {layers = 1, kv_heads = 2, head_dim = 3, block_size = 4, dtype = fp8e5m2}, "
                + "specs = [{layers = 6, kv_heads = 2, head_dim = 32, block_size = 16, dtype = f16}]}", text.toString());
        IrTextParser parser = new IrTextParser(new CommonTokenStream(new IrTextLexer(CharStreams.fromString(text.toString()))));
        Everything back = new AttributeReader(new SourceFile("kinds.ir"))
                .record(Everything.class, "everything", parser.attributes(), null);
        assertEquals(e, back);
    }
}
