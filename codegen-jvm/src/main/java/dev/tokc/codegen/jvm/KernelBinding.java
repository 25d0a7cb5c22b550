package dev.tokc.codegen.jvm;

import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import java.util.Optional;
import java.util.function.Function;

/**
 * One entry of the JVM backend's kernel table: nodes whose op is {@code op} and which {@code check} accepts are
 * lowered by {@code lower} to a kernel call (or an alias). {@code check} returns the reason a node is refused (an
 * unsupported dtype, attribute or operand kind), which the compile error quotes when no binding takes the node.
 * Several bindings may share an op; the first that accepts wins.
 *
 * @param name  the binding's name in error messages and the generated source's comments
 * @param op    the op class it applies to
 * @param check empty when the node fits, else why not
 * @param lower the lowering of an accepted node
 */
public record KernelBinding(String name, Class<? extends Op> op, Function<Node, Optional<String>> check,
        Function<Node, Lowering> lower) {

    /** Empty when this binding takes {@code n}, else why it does not. */
    public Optional<String> reject(Node n) {
        if (!op.isInstance(n.op())) {
            return Optional.of("op is " + n.op().name());
        }
        return check.apply(n);
    }
}
