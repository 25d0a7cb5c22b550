package dev.tokc.codegen.jvm;

import dev.tokc.runtime.exec.ExecContext;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/**
 * The runtime side of the step ABI: the public methods of {@link ExecContext} by name. Names are unique there (its
 * class comment says so); this class fails loudly if that ever stops being true.
 */
final class ExecAbi {
    private static final Map<String, Method> METHODS = new HashMap<>();

    static {
        for (Method m : ExecContext.class.getMethods()) {
            if (m.getDeclaringClass() != ExecContext.class || Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            if (METHODS.put(m.getName(), m) != null) {
                throw new IllegalStateException("ExecContext." + m.getName() + " is overloaded; the ABI needs unique names");
            }
        }
    }

    private ExecAbi() {}

    /** The method called {@code name}, checked to take {@code arity} parameters. */
    static Method method(String name, int arity) {
        Method m = METHODS.get(name);
        if (m == null) {
            throw new IllegalStateException("ExecContext has no method '" + name + "'");
        }
        if (m.getParameterCount() != arity) {
            throw new IllegalStateException("ExecContext." + name + " takes " + m.getParameterCount() + " arguments, the call passes " + arity);
        }
        return m;
    }

    /** Fails unless argument {@code i} of {@code call} can be passed as a {@code type} parameter. */
    static void checkArg(Call call, int i, Class<?> type) {
        Arg a = call.args().get(i);
        Class<?> want = switch (a) {
            case Arg.Value v -> java.lang.foreign.MemorySegment.class;
            case Arg.Matrix m -> dev.tokc.runtime.kernels.WeightMatrix.class;
            case Arg.Floats f -> float[].class;
            case Arg.Size s -> int.class;
            case Arg.Sizes s -> int[].class;
            case Arg.F32 f -> float.class;
            case Arg.I32 n -> int.class;
            case Arg.Bool b -> boolean.class;
            case Arg.Null n -> type.isPrimitive() ? null : type;
        };
        if (want != type) {
            throw new IllegalStateException("ExecContext." + call.method() + " parameter " + i + " is " + type.getSimpleName()
                    + ", the call passes " + a);
        }
    }
}
