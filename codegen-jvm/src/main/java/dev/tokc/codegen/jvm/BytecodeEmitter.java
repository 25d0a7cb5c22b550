package dev.tokc.codegen.jvm;

import dev.tokc.ir.Dim;
import dev.tokc.ir.Node;
import dev.tokc.ir.SourceOp;
import dev.tokc.runtime.exec.CompiledProgram;
import dev.tokc.runtime.exec.ExecContext;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;
import org.objectweb.asm.util.CheckClassAdapter;

/**
 * Renders a {@link ProgramPlan} as JVM bytecode with ASM: a final class implementing {@link CompiledProgram} whose
 * {@code run(ExecContext c)} is straight-line code, one {@code ExecContext} call per lowered node, every buffer in a
 * named local (the local variable table carries the same names as the Java source, so a debugger or
 * {@code javap -l} shows them).
 *
 * <p>The visitor chain is {@code ClassWriter} or, when {@code checked}, {@code CheckClassAdapter -> ClassWriter},
 * which validates every instruction and the method's call order (tests always check). No branches are emitted, so
 * no stack map frames are needed beyond what {@code COMPUTE_FRAMES} derives.
 */
public final class BytecodeEmitter {
    private static final String CTX = Type.getInternalName(ExecContext.class);

    private BytecodeEmitter() {}

    /** The class file of {@code plan}. */
    public static byte[] emit(ProgramPlan plan, boolean checked) {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS);
        ClassVisitor cv = checked ? new CheckClassAdapter(cw, true) : cw;
        String internal = plan.className().replace('.', '/');
        cv.visit(Opcodes.V21, Opcodes.ACC_PUBLIC | Opcodes.ACC_FINAL | Opcodes.ACC_SUPER, internal, null,
                "java/lang/Object", new String[] {Type.getInternalName(CompiledProgram.class)});
        cv.visitSource(simpleName(plan.className()) + ".java", null);

        MethodVisitor init = cv.visitMethod(Opcodes.ACC_PUBLIC, "<init>", "()V", null, null);
        init.visitCode();
        init.visitVarInsn(Opcodes.ALOAD, 0);
        init.visitMethodInsn(Opcodes.INVOKESPECIAL, "java/lang/Object", "<init>", "()V", false);
        init.visitInsn(Opcodes.RETURN);
        init.visitMaxs(0, 0);
        init.visitEnd();

        MethodVisitor mv = cv.visitMethod(Opcodes.ACC_PUBLIC, "run", "(" + Type.getDescriptor(ExecContext.class) + ")V", null, null);
        mv.visitParameter("c", 0);
        new Body(plan, mv, internal).emit();
        for (ProgramPlan.GeneratedKernel k : plan.kernels()) {
            MethodVisitor km = cv.visitMethod(Opcodes.ACC_PRIVATE | Opcodes.ACC_STATIC, k.name(),
                    ElementwiseCode.descriptor(k.inputs()), null, null);
            ElementwiseCode.emitMethod(km, k.expr(), k.inputs());
        }
        cv.visitEnd();
        try {
            return cw.toByteArray();
        } catch (org.objectweb.asm.MethodTooLargeException e) {
            // One straight-line method per program: about 400 bytes of bytecode per transformer layer, so this takes
            // a model of well over a hundred layers; splitting run() into per-layer methods is the fix then.
            throw new CodegenException("generated method " + e.getMethodName() + " of " + plan.className() + " is "
                    + e.getCodeSize() + " bytes, over the JVM's 64 KiB limit (" + plan.steps().size() + " steps)", e);
        }
    }

    static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /** The state of one method body: local slots by symbol and node. */
    private static final class Body {
        private final ProgramPlan plan;
        private final MethodVisitor mv;
        private final String owner;
        // Insertion-ordered, so the local variable table (and the golden Textifier text) is deterministic.
        private final Map<String, Integer> symbolSlots = new java.util.LinkedHashMap<>();
        private final Map<Node, Integer> nodeSlots = new java.util.IdentityHashMap<>();
        private final List<Node> slotOrder = new java.util.ArrayList<>();
        private final Label start = new Label();
        private final Label end = new Label();
        private int nextSlot = 2;

        Body(ProgramPlan plan, MethodVisitor mv, String owner) {
            this.plan = plan;
            this.mv = mv;
            this.owner = owner;
        }

        void emit() {
            mv.visitCode();
            mv.visitLabel(start);
            // int batch = c.inputDim(0, 0); ...: symbols bound from the input shapes
            for (Map.Entry<String, int[]> e : plan.symbols().entrySet()) {
                mv.visitVarInsn(Opcodes.ALOAD, 1);
                pushInt(e.getValue()[0]);
                pushInt(e.getValue()[1]);
                invoke(ExecAbi.method("inputDim", 2));
                int slot = nextSlot++;
                symbolSlots.put(e.getKey(), slot);
                mv.visitVarInsn(Opcodes.ISTORE, slot);
            }
            List<Node> params = plan.graph().inputs();
            for (int i = 0; i < params.size(); i++) {
                mv.visitVarInsn(Opcodes.ALOAD, 1);
                pushInt(i);
                invoke(ExecAbi.method("input", 1));
                store(params.get(i));
            }
            for (ProgramPlan.Step s : plan.steps()) {
                if (s.lowering() instanceof Lowering.Generated gen) {
                    // t = c.allocF32(count); elementwiseK(t, in0, .., count)
                    mv.visitVarInsn(Opcodes.ALOAD, 1);
                    pushSize(gen.count());
                    invoke(ExecAbi.method("allocF32", 1));
                    store(s.node());
                    mv.visitVarInsn(Opcodes.ALOAD, nodeSlots.get(s.node()));
                    for (Node in : gen.inputs()) {
                        pushBuffer(in);
                    }
                    pushSize(gen.count());
                    ProgramPlan.GeneratedKernel k = plan.kernel(gen);
                    mv.visitMethodInsn(Opcodes.INVOKESTATIC, owner, k.name(), ElementwiseCode.descriptor(k.inputs()), false);
                }
                if (s.lowering() instanceof Lowering.Invoke inv) {
                    Method m = call(inv.call());
                    if (m.getReturnType() != MemorySegment.class) {
                        throw new IllegalStateException("ExecContext." + m.getName() + " does not return a buffer");
                    }
                    store(s.node());
                }
            }
            List<Node> outs = plan.graph().outputs();
            for (int i = 0; i < outs.size(); i++) {
                Node o = outs.get(i);
                call(Call.of("output", new Arg.I32(i), new Arg.Value(o),
                        new Arg.Sizes(o.shape().dims().stream().map(d -> Arg.Size.of(d)).toList())));
            }
            mv.visitInsn(Opcodes.RETURN);
            mv.visitLabel(end);
            mv.visitLocalVariable("this", "L" + owner + ";", null, start, end, 0);
            mv.visitLocalVariable("c", Type.getDescriptor(ExecContext.class), null, start, end, 1);
            for (Map.Entry<String, Integer> e : symbolSlots.entrySet()) {
                mv.visitLocalVariable(javaName(e.getKey()), "I", null, start, end, e.getValue());
            }
            for (Node n : slotOrder) {
                mv.visitLocalVariable(plan.localNames().get(n), Type.getDescriptor(MemorySegment.class), null, start, end,
                        nodeSlots.get(n));
            }
            mv.visitMaxs(0, 0);
            mv.visitEnd();
        }

        private String javaName(String symbol) {
            return symbol;
        }

        private void store(Node n) {
            int slot = nextSlot++;
            nodeSlots.put(n, slot);
            slotOrder.add(n);
            mv.visitVarInsn(Opcodes.ASTORE, slot);
        }

        /** Emits {@code c.method(args)}, leaving its result (if any) on the stack. */
        private Method call(Call call) {
            Method m = ExecAbi.method(call.method(), call.args().size());
            mv.visitVarInsn(Opcodes.ALOAD, 1);
            Class<?>[] types = m.getParameterTypes();
            for (int i = 0; i < types.length; i++) {
                ExecAbi.checkArg(call, i, types[i]);
                push(call.args().get(i));
            }
            invoke(m);
            return m;
        }

        private void invoke(Method m) {
            mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, CTX, m.getName(), Type.getMethodDescriptor(m), false);
        }

        private void push(Arg a) {
            switch (a) {
                case Arg.Value v -> pushBuffer(v.node());
                case Arg.Matrix m -> storedCall("matrix", m.weight());
                case Arg.Floats f -> storedCall("floats", f.constant());
                case Arg.Size s -> pushSize(s);
                case Arg.Sizes s -> {
                    pushInt(s.sizes().size());
                    mv.visitIntInsn(Opcodes.NEWARRAY, Opcodes.T_INT);
                    for (int i = 0; i < s.sizes().size(); i++) {
                        mv.visitInsn(Opcodes.DUP);
                        pushInt(i);
                        pushSize(s.sizes().get(i));
                        mv.visitInsn(Opcodes.IASTORE);
                    }
                }
                case Arg.F32 f -> mv.visitLdcInsn(f.value());
                case Arg.I32 i -> pushInt(i.value());
                case Arg.Bool b -> mv.visitInsn(b.value() ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
                case Arg.Null n -> mv.visitInsn(Opcodes.ACONST_NULL);
            }
        }

        private void pushBuffer(Node n) {
            Node root = plan.root(n);
            Integer slot = nodeSlots.get(root);
            if (slot != null) {
                mv.visitVarInsn(Opcodes.ALOAD, slot);
            } else if (root.op() instanceof SourceOp.Weight || root.op() instanceof SourceOp.Constant) {
                storedCall("weight", root);
            } else {
                throw new IllegalStateException("no buffer for " + root.describe());
            }
        }

        private void storedCall(String method, Node n) {
            Node root = plan.root(n);
            mv.visitVarInsn(Opcodes.ALOAD, 1);
            mv.visitLdcInsn(plan.storedName(root).orElseThrow(() -> new IllegalStateException("not stored: " + root.describe())));
            invoke(ExecAbi.method(method, 1));
        }

        /** Product of the factors: constants folded into one literal, symbols multiplied in from their locals. */
        private void pushSize(Arg.Size s) {
            long constant = 1;
            int pushed = 0;
            for (Dim d : s.factors()) {
                if (d.isConstant()) {
                    constant *= d.value();
                    continue;
                }
                mv.visitVarInsn(Opcodes.ILOAD, symbolSlots.get(d.symbol().orElseThrow()));
                if (pushed++ > 0) {
                    mv.visitInsn(Opcodes.IMUL);
                }
            }
            if (pushed == 0 || constant != 1) {
                pushInt(Math.toIntExact(constant));
                if (pushed > 0) {
                    mv.visitInsn(Opcodes.IMUL);
                }
            }
        }

        private void pushInt(int v) {
            if (v >= -1 && v <= 5) {
                mv.visitInsn(Opcodes.ICONST_0 + v);
            } else if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
                mv.visitIntInsn(Opcodes.BIPUSH, v);
            } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
                mv.visitIntInsn(Opcodes.SIPUSH, v);
            } else {
                mv.visitLdcInsn(v);
            }
        }
    }
}
