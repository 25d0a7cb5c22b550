package dev.tokc.codegen.jvm;

import dev.tokc.ir.Graph;
import dev.tokc.ir.Node;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.QuantFormat;
import dev.tokc.ir.QuantType;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.Tensor;
import dev.tokc.runtime.artifact.Quantization;
import dev.tokc.runtime.kernels.ElementType;
import dev.tokc.runtime.kernels.ReferenceKernels;
import dev.tokc.runtime.kernels.quant.Quantizer;
import dev.tokc.runtime.kernels.quant.W4A8;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * How {@link EngineWriter} stores packed quantized weights (the folded {@code quantize_weight(...)} tensors of a
 * {@code quantize-weights} program) and what it records about them in the manifest.
 *
 * <p>Two ways to the same bytes: {@link #stream} quantizes checkpoint rows straight from the memory-mapped file with
 * the runtime's {@link Quantizer} (a weight, or an axis-0 concatenation of weights: per-row formats pack each row
 * on its own, so the packed concatenation is the concatenation of the packed parts); anything else (a transposed
 * weight) is evaluated by the reference interpreter ({@code QuantizedBlocks}) and copied with {@link #fillPacked}.
 * w4a8 weights are quantized as int4 either way, then re-laid out for the runtime's integer kernel ({@link W4A8}).
 * {@code QuantLayoutCrossCheckTest} checks that both quantizers write identical bytes.
 */
final class QuantizedWeights {
    private QuantizedWeights() {}

    private static final ReferenceKernels CONVERT = new ReferenceKernels();

    /**
     * Copies a packed weight's value (a u8 tensor, one byte per element, in the interpreter's layout) into
     * {@code seg}: as is, or for w4a8 re-laid out for the runtime's integer kernel ({@link W4A8#interleave}).
     */
    static void fillPacked(MemorySegment seg, Node stored, Tensor packed) {
        QuantType t = (QuantType) stored.type().elementType();
        if (t.format() != QuantFormat.W4A8) {
            copyPacked(seg, packed);
            return;
        }
        long[] shape = stored.shape().evaluate(java.util.Map.of());
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment int4 = scratch.allocate(packed.size());
            copyPacked(int4, packed);
            W4A8.interleave(int4, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]), t.groupSize(), seg);
        }
    }

    private static void copyPacked(MemorySegment seg, Tensor packed) {
        if (packed.size() != seg.byteSize()) {
            throw new IllegalStateException("packed weight has " + packed.size() + " bytes, the engine reserved " + seg.byteSize());
        }
        for (int i = 0; i < packed.size(); i++) {
            seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) packed.getLong(i));
        }
    }

    /**
     * Quantizes a folded {@code quantize_weight(W)} straight from raw checkpoint tensors into {@code dst} when W is a
     * checkpoint weight or an axis-0 concatenation of them; returns false (nothing written) otherwise.
     */
    static boolean stream(Node stored, WeightPlan plan, EngineWriter.RawWeights raw, MemorySegment dst) {
        if (!(stored.op() instanceof SourceOp.Weight w) || !(plan.folded().get(w.key()) instanceof Node expr)
                || !(expr.op() instanceof TargetOp.QuantizeWeight q)) {
            return false;
        }
        Node dense = expr.input(0);
        List<Node> leaves = dense.op() instanceof PrimitiveOp.Concat c && Shape.normalizeAxis(c.axis(), dense.rank()) == 0
                ? dense.inputs() : List.of(dense);
        List<EngineWriter.RawTensor> parts = new ArrayList<>();
        for (Node leaf : leaves) {
            if (!(leaf.op() instanceof SourceOp.Weight lw) || plan.folded().containsKey(lw.key())) {
                return false;
            }
            Optional<EngineWriter.RawTensor> r = raw.raw(lw.key());
            if (r.isEmpty()) {
                return false;
            }
            parts.add(r.get());
        }
        int cols = Math.toIntExact(dense.shape().dim(1).value());
        dev.tokc.runtime.kernels.quant.QuantType type = runtimeType(q.to());
        // w4a8: int4's rows first (a row-major scratch copy), then its own layout, which interleaves rows in blocks
        boolean w4a8 = type.format() == dev.tokc.runtime.kernels.quant.QuantFormat.W4A8;
        if (w4a8) {
            type = dev.tokc.runtime.kernels.quant.QuantType.int4(type.groupSize());
        }
        long rowBytes = type.bytesPerRow(cols);
        long at = 0;
        try (Arena scratch = Arena.ofConfined()) {
            int rowsTotal = Math.toIntExact(dense.shape().dim(0).value());
            MemorySegment out = w4a8 ? scratch.allocate(type.packedBytes(rowsTotal, cols), 8) : dst;
            int chunkRows = Math.max(1, (1 << 16) / cols);
            MemorySegment f32 = scratch.allocate(4L * chunkRows * cols, 64);
            for (EngineWriter.RawTensor part : parts) {
                long elements = part.data().byteSize() / part.type().byteSize();
                long rows = elements / cols;
                for (long r = 0; r < rows; r += chunkRows) {
                    int n = (int) Math.min(chunkRows, rows - r);
                    long count = (long) n * cols;
                    MemorySegment in = part.data().asSlice(r * cols * part.type().byteSize(), count * part.type().byteSize());
                    MemorySegment f = f32.asSlice(0, 4 * count);
                    if (part.type() == ElementType.F32) {
                        MemorySegment.copy(in, 0, f, 0, 4 * count);
                    } else {
                        CONVERT.toF32(in, part.type(), f, count);
                    }
                    Quantizer.quantize(type, f, n, cols, out.asSlice(at, n * rowBytes));
                    at += n * rowBytes;
                }
            }
            if (at != out.byteSize()) {
                throw new IllegalStateException("weight '" + w.key() + "': quantized " + at + " bytes, expected " + out.byteSize());
            }
            if (w4a8) {
                W4A8.interleave(out, rowsTotal, cols, type.groupSize(), dst);
            }
        }
        return true;
    }

    /** The runtime's twin of an IR quantized type (same format name and group size). */
    static dev.tokc.runtime.kernels.quant.QuantType runtimeType(QuantType t) {
        return new dev.tokc.runtime.kernels.quant.QuantType(
                dev.tokc.runtime.kernels.quant.QuantFormat.valueOf(t.format().name()), t.groupSize());
    }

    /**
     * The manifest's quantization record: the packed type of the program's quantized projections ({@code int8},
     * {@code int4}, ...; {@code w8a8} when they read int8-quantized activations) and its group size; {@link Quantization#NONE} when there are none.
     */
    static Quantization quantization(Graph g) {
        for (Node n : g.nodes()) {
            if (n.op() instanceof TargetOp.QuantizedLinear && n.input(1).type().elementType() instanceof QuantType t) {
                boolean a8 = n.input(0).op() instanceof TargetOp.QuantizeActivations qa && qa.bits() == 8;
                return new Quantization(a8 ? "w8a8" : t.format().prefix().toLowerCase(Locale.ROOT), t.groupSize());
            }
        }
        return Quantization.NONE;
    }
}
