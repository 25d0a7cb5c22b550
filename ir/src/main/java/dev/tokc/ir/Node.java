package dev.tokc.ir;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An SSA value: an {@link Op} applied to input nodes, with its inferred {@link TensorType} and an optional name
 * hint for the text form.
 *
 * <p>Nodes are immutable and hash-consed: {@link #of} returns the existing node when one with the same op, the
 * same (identical) inputs and the same name exists, so structural equality is identity and {@link #equals} is
 * {@code ==}. Two computations that differ only in their name hints are different nodes; CSE (a pass) merges those.
 * The type is inferred once, when the node is first made; invalid inputs throw {@link IrException} naming the op.
 * {@code withX()} returns {@code this} when nothing changes.
 */
public final class Node {
    private record Key(Op op, List<Node> inputs, String name) {}

    private static final class Ref extends WeakReference<Node> {
        final Key key;

        Ref(Node n, Key key, ReferenceQueue<Node> q) {
            super(n, q);
            this.key = key;
        }
    }

    private static final ConcurrentHashMap<Key, Ref> INTERNED = new ConcurrentHashMap<>();
    private static final ReferenceQueue<Node> COLLECTED = new ReferenceQueue<>();
    private static final AtomicLong IDS = new AtomicLong();

    private final Op op;
    private final List<Node> inputs;
    private final TensorType type;
    private final String name;
    private final long id;

    private Node(Op op, List<Node> inputs, TensorType type, String name) {
        this.op = op;
        this.inputs = inputs;
        this.type = type;
        this.name = name;
        this.id = IDS.incrementAndGet();
    }

    /** The node applying {@code op} to {@code inputs}, named {@code name} (may be null). Infers its type. */
    public static Node of(Op op, List<Node> inputs, String name) {
        Objects.requireNonNull(op, "op");
        List<Node> in = List.copyOf(inputs);
        if (name != null && !name.matches("[A-Za-z0-9_.$]+")) {
            throw new IrException("invalid value name '" + name + "': use letters, digits, '_', '.' or '$'");
        }
        drainCollected();
        Key key = new Key(op, in, name);
        while (true) {
            Ref ref = INTERNED.get(key);
            Node existing = ref == null ? null : ref.get();
            if (existing != null) {
                return existing;
            }
            TensorType t;
            try {
                t = op.inferType(in);
            } catch (IrException | IllegalArgumentException | ArithmeticException e) {
                throw new IrException(op.name() + (name != null ? " %" + name : "") + ": " + e.getMessage(), e);
            }
            Node n = new Node(op, in, t, name);
            Ref fresh = new Ref(n, key, COLLECTED);
            Ref prev = ref == null ? INTERNED.putIfAbsent(key, fresh)
                    : (INTERNED.replace(key, ref, fresh) ? null : INTERNED.get(key));
            if (prev == null) {
                return n;
            }
            // Lost a race with another thread making the same node: take theirs if it is still alive.
        }
    }

    public static Node of(Op op, List<Node> inputs) {
        return of(op, inputs, null);
    }

    public static Node of(Op op, Node... inputs) {
        return of(op, List.of(inputs), null);
    }

    private static void drainCollected() {
        for (var r = COLLECTED.poll(); r != null; r = COLLECTED.poll()) {
            Ref ref = (Ref) r;
            INTERNED.remove(ref.key, ref);
        }
    }

    public Op op() {
        return op;
    }

    public List<Node> inputs() {
        return inputs;
    }

    public Node input(int i) {
        return inputs.get(i);
    }

    public TensorType type() {
        return type;
    }

    public Shape shape() {
        return type.shape();
    }

    /** The scalar dtype of this value (throws for quantized weights). */
    public DType dtype() {
        return type.dtype();
    }

    public int rank() {
        return type.rank();
    }

    /** The name hint, or null. */
    public String name() {
        return name;
    }

    /** Creation order: a stable tie-breaker for deterministic traversals. */
    public long id() {
        return id;
    }

    public Node withName(String newName) {
        return Objects.equals(newName, name) ? this : of(op, inputs, newName);
    }

    public Node withInputs(List<Node> newInputs) {
        return newInputs.equals(inputs) ? this : of(op, newInputs, name);
    }

    public Node withOp(Op newOp) {
        return newOp.equals(op) ? this : of(newOp, inputs, name);
    }

    /** True when this node's op is an instance of {@code c}. */
    public boolean is(Class<? extends Op> c) {
        return c.isInstance(op);
    }

    /** Short description for error messages: {@code %name = op_name} or {@code op_name#id}. */
    public String describe() {
        return (name != null ? "%" + name : "%" + "#" + id) + " = " + op.name();
    }

    @Override
    public String toString() {
        return describe() + " : " + type;
    }
}
