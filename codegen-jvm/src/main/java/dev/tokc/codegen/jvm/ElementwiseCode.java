package dev.tokc.codegen.jvm;

import com.palantir.javapoet.CodeBlock;
import dev.tokc.ir.ElementwiseExpr;
import dev.tokc.runtime.exec.ScalarFunctions;
import dev.tokc.runtime.kernels.Elements;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Code of a generated elementwise kernel, in both renderings: {@code static void NAME(MemorySegment out,
 * MemorySegment in0, .., int count)} whose loop computes, per element, the expression in double with every
 * function's result rounded to f32 (the semantics of {@code ElementwiseExpr}: bit-for-bit the unfused ops), calling
 * {@link ScalarFunctions} for each function (the JIT inlines them) with the expression's literals baked in.
 */
final class ElementwiseCode {
    private static final String SEGMENT = Type.getInternalName(MemorySegment.class);
    private static final String FLOAT_LAYOUT = Type.getDescriptor(ValueLayout.OfFloat.class);
    private static final String FUNCTIONS = Type.getInternalName(ScalarFunctions.class);

    private ElementwiseCode() {}

    /** The {@link ScalarFunctions} method name of a function: its text name in camel case. */
    static String methodName(ElementwiseExpr.Fn fn) {
        StringBuilder sb = new StringBuilder();
        boolean up = false;
        for (char c : fn.text().toCharArray()) {
            if (c == '_') {
                up = true;
            } else {
                sb.append(up ? Character.toUpperCase(c) : c);
                up = false;
            }
        }
        return sb.toString();
    }

    private static Optional<Method> method(ElementwiseExpr.Fn fn) {
        for (Method m : ScalarFunctions.class.getMethods()) {
            if (m.getName().equals(methodName(fn)) && m.getParameterCount() == fn.arity()) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** Why {@code e} cannot become a kernel (a function without a scalar implementation), or empty. */
    static Optional<String> unsupported(ElementwiseExpr e) {
        return switch (e) {
            case ElementwiseExpr.Input in -> Optional.empty();
            case ElementwiseExpr.Literal l -> Optional.empty();
            case ElementwiseExpr.Apply a -> {
                if (method(a.fn()).isEmpty()) {
                    yield Optional.of("function '" + a.fn().text() + "' has no scalar implementation in the runtime");
                }
                yield a.args().stream().map(ElementwiseCode::unsupported).flatMap(Optional::stream).findFirst();
            }
        };
    }

    // ---- bytecode -----------------------------------------------------------------------------------------------

    /** The kernel method's descriptor for {@code inputs} input buffers. */
    static String descriptor(int inputs) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i <= inputs; i++) {
            sb.append('L').append(SEGMENT).append(';');
        }
        return sb.append("I)V").toString();
    }

    /** Emits the whole method body into {@code mv} (already visited, before visitCode). */
    static void emitMethod(MethodVisitor mv, ElementwiseExpr expr, int inputs) {
        int count = inputs + 1;
        int i = inputs + 2;
        mv.visitCode();
        mv.visitInsn(Opcodes.ICONST_0);
        mv.visitVarInsn(Opcodes.ISTORE, i);
        Label head = new Label();
        Label done = new Label();
        mv.visitLabel(head);
        mv.visitVarInsn(Opcodes.ILOAD, i);
        mv.visitVarInsn(Opcodes.ILOAD, count);
        mv.visitJumpInsn(Opcodes.IF_ICMPGE, done);
        // out.setAtIndex(Elements.F32, (long) i, (float) <expr>)
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETSTATIC, Type.getInternalName(Elements.class), "F32", FLOAT_LAYOUT);
        mv.visitVarInsn(Opcodes.ILOAD, i);
        mv.visitInsn(Opcodes.I2L);
        emitExpr(mv, expr, i);
        mv.visitInsn(Opcodes.D2F);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, SEGMENT, "setAtIndex", "(" + FLOAT_LAYOUT + "JF)V", true);
        mv.visitIincInsn(i, 1);
        mv.visitJumpInsn(Opcodes.GOTO, head);
        mv.visitLabel(done);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    /** Leaves the expression's value as a double on the stack. */
    private static void emitExpr(MethodVisitor mv, ElementwiseExpr e, int indexSlot) {
        switch (e) {
            case ElementwiseExpr.Input in -> {
                mv.visitVarInsn(Opcodes.ALOAD, 1 + in.index());
                mv.visitFieldInsn(Opcodes.GETSTATIC, Type.getInternalName(Elements.class), "F32", FLOAT_LAYOUT);
                mv.visitVarInsn(Opcodes.ILOAD, indexSlot);
                mv.visitInsn(Opcodes.I2L);
                mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, SEGMENT, "getAtIndex", "(" + FLOAT_LAYOUT + "J)F", true);
                mv.visitInsn(Opcodes.F2D);
            }
            case ElementwiseExpr.Literal l -> mv.visitLdcInsn(l.value());
            case ElementwiseExpr.Apply a -> {
                for (ElementwiseExpr arg : a.args()) {
                    emitExpr(mv, arg, indexSlot);
                }
                Method m = method(a.fn()).orElseThrow();
                mv.visitMethodInsn(Opcodes.INVOKESTATIC, FUNCTIONS, m.getName(), Type.getMethodDescriptor(m), false);
                // Round to f32 as the op this function stands for would.
                mv.visitInsn(Opcodes.D2F);
                mv.visitInsn(Opcodes.F2D);
            }
        }
    }

    // ---- Java source --------------------------------------------------------------------------------------------

    /** The loop body statement: {@code out.setAtIndex(Elements.F32, i, (float) <expr>)}. */
    static CodeBlock statement(ElementwiseExpr expr) {
        return CodeBlock.of("out.setAtIndex($T.F32, i, (float) $L)", Elements.class, source(expr, false));
    }

    /** The expression in Java; function results are cast to float where they feed another function. */
    private static CodeBlock source(ElementwiseExpr e, boolean round) {
        return switch (e) {
            case ElementwiseExpr.Input in -> CodeBlock.of("in$L.getAtIndex($T.F32, i)", in.index(), Elements.class);
            case ElementwiseExpr.Literal l -> CodeBlock.of("$L", Double.toString(l.value()));
            case ElementwiseExpr.Apply a -> {
                List<CodeBlock> args = new ArrayList<>();
                for (ElementwiseExpr arg : a.args()) {
                    args.add(source(arg, true));
                }
                CodeBlock call = CodeBlock.of("$T.$N($L)", ScalarFunctions.class, methodName(a.fn()), CodeBlock.join(args, ", "));
                yield round ? CodeBlock.of("(float) $L", call) : call;
            }
        };
    }
}
