package dev.tokc.passes.transforms;

import dev.tokc.ir.DType;
import dev.tokc.ir.Dim;
import dev.tokc.ir.Graph;
import dev.tokc.ir.IrException;
import dev.tokc.ir.KvCacheSpec;
import dev.tokc.ir.ModelOp;
import dev.tokc.ir.Node;
import dev.tokc.ir.Op;
import dev.tokc.ir.PrimitiveOp;
import dev.tokc.ir.Shape;
import dev.tokc.ir.SourceOp;
import dev.tokc.ir.SymbolicValues;
import dev.tokc.ir.TargetOp;
import dev.tokc.ir.TensorType;
import dev.tokc.passes.Pass;
import dev.tokc.passes.PassContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code lower-to-paged-attention}: turns the model-level full forward into the runtime's <b>step program</b>, one
 * forward step over a ragged batch of sequences that reads and extends a paged KV cache.
 *
 * <h2>The step program (the contract the runtime implements)</h2>
 * <pre>
 * graph @step(%tokens: i64[tokens], %positions: i64[tokens], %slots: i64[tokens],
 *             %block_tables: i32[seqs, max_blocks], %context_lens: i32[seqs], %query_starts: i32[seqs+1],
 *             %logits_indices: i64[outputs]) -&gt; (f32[outputs, vocab])
 * </pre>
 * <ul>
 *   <li>{@code tokens}: the new tokens of every scheduled sequence, flattened, sequence by sequence: sequence
 *       {@code i} owns {@code tokens[query_starts[i] .. query_starts[i+1])} ({@code query_starts[0] = 0},
 *       {@code query_starts[seqs] = tokens}). A decode step gives one token per sequence, a (chunked) prefill
 *       several; both mix freely in one batch.</li>
 *   <li>{@code positions[t]}: the absolute position of token {@code t} in its sequence. It must equal
 *       {@code context_lens[i] - n_i + j} for the j-th of the {@code n_i} new tokens of sequence {@code i}, the
 *       position {@code paged_attention} gives that query (RoPE and learned position embeddings read
 *       {@code positions}; the attention mask reads {@code context_lens}).</li>
 *   <li>{@code slots[t]}: the flat cache slot ({@code block * block_size + offset}) that receives token
 *       {@code t}'s keys and values in every layer; a negative slot is a padding token that is not written.</li>
 *   <li>{@code block_tables[i]}: the blocks of sequence {@code i} in position order (rows padded with any block id,
 *       the runtime uses its null block 0); {@code context_lens[i]}: tokens of sequence {@code i} in the cache
 *       after this step's writes (cached plus new).</li>
 *   <li>{@code logits_indices}: which rows of {@code tokens} get logits, in output order: the last token of each
 *       sequence ({@code query_starts[i+1] - 1}) for sampling, or all of them (prompt scoring, tests).</li>
 *   <li>The cache is described by the {@link KvCacheSpec} on every {@code kv_write} / {@code paged_attention}:
 *       {@code layers} = attention layers, {@code kv_heads} and {@code head_dim} of the model (KV heads only: GQA
 *       and MQA never repeat them), {@code block_size} and {@code dtype} from {@link StepProgramOptions}. Layer
 *       {@code l} is the l-th attention in topological order.</li>
 * </ul>
 *
 * <p><b>Rewrites</b>, when the graph qualifies (below):
 * <ul>
 *   <li>the token-id input {@code [batch, seq]} becomes {@code unsqueeze(%tokens)} {@code [1, tokens]}: the ragged
 *       batch is one row, every {@code batch} is 1 and every {@code seq} is {@code tokens} (in {@code dims} and in
 *       every inferred type);</li>
 *   <li>each position range {@code range(0, seq, 1)} becomes {@code %positions};</li>
 *   <li>each causal, unmasked self-attention (ModelOp {@code attention}, or {@code flash_attention}) becomes
 *       {@code kv_write(k, v, %slots)} plus {@code paged_attention(q, write, %block_tables, %context_lens,
 *       %query_starts)}, with reshapes between {@code [1, tokens, heads, d]} and {@code [tokens, heads, d]};</li>
 *   <li>the row-wise tail of the graph (final norm, LM head, soft-capping: ops that treat each token on its own)
 *       moves behind a {@code gather(h, %logits_indices, axis 1)} of the hidden state before it, and the result is
 *       reshaped to {@code [outputs, vocab]}.</li>
 * </ul>
 *
 * <p><b>Needs</b>: model-level attention (raising done): one integer input {@code [batch, seq]} (or {@code [1, seq]})
 * of token ids; one output {@code [batch, seq, vocab]}; every attention causal, without a mask, over keys of the same
 * {@code seq} tokens, with one KV head count, head dim and dtype across layers, and no materialised repeat_kv
 * (an {@code expand}/{@code tile} on the path to k or v); every {@code range} whose length mentions {@code seq}
 * is {@code range(0, seq, 1)}; no dim symbols besides batch and seq. A graph that does not qualify is left
 * <em>unchanged</em> with {@code skipped=1} and a counter naming the reason ({@code maskedAttention},
 * {@code nonCausalAttention}, {@code crossAttention}, {@code repeatKv}, {@code noAttention}, {@code signature},
 * {@code mixedLayers}, {@code positions}, {@code symbols}); with {@link StepProgramOptions#strict()} it is an
 * {@link IrException} with the reason instead. Nothing is ever half lowered.
 *
 * <p><b>After</b>: graph {@code @step} with the signature above; no {@code attention}, {@code flash_attention} or
 * full-sequence position range is left; one {@code kv_write} and one {@code paged_attention} per layer, all with
 * one {@link KvCacheSpec}. Leftover shape plumbing ({@code expand} of the positions to {@code [1, tokens]}, shape
 * computations of the old input) is for {@code shape-infer}/{@code canonicalize}/{@code cse} to clean up.
 *
 * <p><b>Counters</b>: {@code pagedAttention}, {@code kvWrite} (one per layer), {@code positions} (position ranges
 * replaced), {@code logitsGather} (1) and {@code rowwiseTail} (ops moved behind it), {@code kvBytesPerToken}
 * ({@link KvCacheSpec#bytesPerToken()}); or {@code skipped=1} plus the reason.
 */
public final class LowerToPagedAttention implements Pass {
    public static final String GRAPH_NAME = "step";
    public static final String TOKENS = "tokens";
    public static final String POSITIONS = "positions";
    public static final String SLOTS = "slots";
    public static final String BLOCK_TABLES = "block_tables";
    public static final String CONTEXT_LENS = "context_lens";
    public static final String QUERY_STARTS = "query_starts";
    public static final String LOGITS_INDICES = "logits_indices";
    /** The step program's inputs, in signature order. */
    public static final List<String> INPUTS = List.of(TOKENS, POSITIONS, SLOTS, BLOCK_TABLES, CONTEXT_LENS,
            QUERY_STARTS, LOGITS_INDICES);

    static final Dim T = Dim.sym("tokens");
    static final Dim SEQS = Dim.sym("seqs");
    static final Dim MAX_BLOCKS = Dim.sym("max_blocks");
    static final Dim OUTPUTS = Dim.sym("outputs");

    private final StepProgramOptions options;

    public LowerToPagedAttention() {
        this(StepProgramOptions.DEFAULT);
    }

    public LowerToPagedAttention(StepProgramOptions options) {
        this.options = options;
    }

    public StepProgramOptions options() {
        return options;
    }

    @Override
    public String name() {
        return "lower-to-paged-attention";
    }

    @Override
    public String summary() {
        return "full forward -> step program over a ragged batch: kv_write + paged_attention per layer, positions "
                + "and slots as inputs, logits only at logits_indices";
    }

    /** Why a graph is not lowered: a counter name and a message. */
    private static final class Rejected extends RuntimeException {
        final String counter;

        Rejected(String counter, String message) {
            super(message, null, false, false);
            this.counter = counter;
        }
    }

    /** What {@link #analyse} found: the pieces {@link #lower} rewrites. */
    private record Plan(Node ids, Map<String, Dim> substitution, List<Node> attentions, Set<Node> positionRanges,
                        Node gatherAt, Set<Node> tail, KvCacheSpec spec) {}

    @Override
    public Graph run(Graph graph, PassContext ctx) {
        Plan plan;
        try {
            plan = analyse(graph);
        } catch (Rejected r) {
            if (options.strict()) {
                throw new IrException("@" + graph.name() + " cannot become a step program: " + r.getMessage());
            }
            ctx.add("skipped", 1);
            ctx.add(r.counter, 1);
            return graph;
        }
        Graph out = lower(graph, plan);
        checkAfter(out, plan);
        ctx.add("pagedAttention", plan.attentions().size());
        ctx.add("kvWrite", plan.attentions().size());
        ctx.add("positions", plan.positionRanges().size());
        ctx.add("logitsGather", 1);
        ctx.add("rowwiseTail", plan.tail().size());
        ctx.add("kvBytesPerToken", plan.spec().bytesPerToken());
        return out;
    }

    /** The KV cache spec the pass would give this graph's step program, if it qualifies. */
    public KvCacheSpec kvCacheSpec(Graph graph) {
        try {
            return analyse(graph).spec();
        } catch (Rejected r) {
            throw new IrException("@" + graph.name() + " cannot become a step program: " + r.getMessage());
        }
    }

    // ---- analysis: everything is checked before anything is rebuilt ----

    private Plan analyse(Graph g) {
        if (g.inputs().size() != 1) {
            throw new Rejected("signature", "expected one input, the token ids [batch, seq], got " + g.inputs().size());
        }
        Node ids = g.inputs().getFirst();
        if (ids.type().isQuantized() || !ids.dtype().isInteger() || ids.rank() != 2) {
            throw new Rejected("signature", "the input " + ids + " is not integer token ids [batch, seq]");
        }
        Dim batch = ids.shape().dim(0);
        Dim seq = ids.shape().dim(1);
        String seqSym = seq.symbol().orElseThrow(() -> new Rejected("signature", "the seq dim of " + ids
                + " is not a symbol"));
        if (!batch.equals(Dim.of(1)) && (batch.symbol().isEmpty() || batch.equals(seq))) {
            throw new Rejected("signature", "the batch dim of " + ids + " is neither 1 nor a symbol of its own");
        }
        Map<String, Dim> subst = new HashMap<>();
        subst.put(seqSym, T);
        batch.symbol().ifPresent(b -> subst.put(b, Dim.of(1)));
        if (g.outputs().size() != 1) {
            throw new Rejected("signature", "expected one output, the logits [batch, seq, vocab], got " + g.outputs().size());
        }
        Node out = g.outputs().getFirst();
        if (out.type().isQuantized() || !out.dtype().isFloat() || out.rank() != 3 || !out.shape().dim(0).equals(batch)
                || !out.shape().dim(1).equals(seq) || !out.shape().dim(2).isConstant()) {
            throw new Rejected("signature", "the output " + out + " is not logits [" + batch + ", " + seq + ", vocab]");
        }

        List<Node> nodes = g.nodes();
        Set<Node> dynamic = dependsOn(nodes, ids);
        List<Node> attentions = new ArrayList<>();
        Set<Node> ranges = Collections.newSetFromMap(new IdentityHashMap<>());
        int kvHeads = -1;
        int headDim = -1;
        DType dtype = null;
        for (Node n : nodes) {
            for (Dim d : n.shape().dims()) {
                for (String s : d.symbols()) {
                    if (!subst.containsKey(s)) {
                        throw new Rejected("symbols", n.describe() + " has the dim symbol '" + s
                                + "'; a step program binds only tokens, seqs, max_blocks and outputs");
                    }
                }
            }
            if (n.op() instanceof SourceOp.Dims d) {
                for (Dim dim : d.dims()) {
                    if (!subst.keySet().containsAll(dim.symbols())) {
                        throw new Rejected("symbols", n.describe() + " mentions symbols other than " + subst.keySet());
                    }
                }
            }
            if (n.op() instanceof PrimitiveOp.Range && n.shape().dim(0).symbols().contains(seqSym)) {
                if (!isPositionRange(n, seq)) {
                    throw new Rejected("positions", n.describe() + " has length " + n.shape().dim(0)
                            + " but is not range(0, " + seq + ", 1), the positions of the tokens");
                }
                ranges.add(n);
            }
            if (!isAttention(n.op())) {
                continue;
            }
            checkAttention(n, batch, seq);
            Node k = n.input(1);
            int kvh = (int) k.shape().dim(2).value();
            int hd = (int) k.shape().dim(3).value();
            if (kvHeads >= 0 && (kvh != kvHeads || hd != headDim || k.dtype() != dtype)) {
                throw new Rejected("mixedLayers", n.describe() + " has " + kvh + " kv heads of " + hd + " " + k.dtype()
                        + " where an earlier layer has " + kvHeads + " of " + headDim + " " + dtype
                        + "; one KvCacheSpec describes every layer");
            }
            kvHeads = kvh;
            headDim = hd;
            dtype = k.dtype();
            attentions.add(n);
        }
        if (attentions.isEmpty()) {
            throw new Rejected("noAttention", "the graph has no attention to give a KV cache");
        }
        Set<Node> tail = Collections.newSetFromMap(new IdentityHashMap<>());
        Node gatherAt = rowwiseTail(g, dynamic, batch, seq, tail);
        KvCacheSpec spec = new KvCacheSpec(attentions.size(), kvHeads, headDim, options.blockSize(),
                options.kvDtype().orElse(dtype));
        return new Plan(ids, Map.copyOf(subst), List.copyOf(attentions), ranges, gatherAt, tail, spec);
    }

    /**
     * The row-wise tail: walks up from the output while each op treats tokens independently and its activation
     * operand has no other user, collecting the ops into {@code tail}; returns where the walk stopped, the hidden
     * state {@code [batch, seq, ...]} that the gather of logits_indices reads (the output itself for an empty tail).
     */
    private static Node rowwiseTail(Graph g, Set<Node> dynamic, Dim batch, Dim seq, Set<Node> tail) {
        Map<Node, List<Node>> users = g.users();
        Node out = g.outputs().getFirst();
        Node cur = out;
        while (activationOperand(cur, dynamic) >= 0 && (cur == out || users.get(cur).size() == 1)) {
            Node a = cur.input(activationOperand(cur, dynamic));
            if (a.rank() != 3 || !a.shape().dim(0).equals(batch) || !a.shape().dim(1).equals(seq)) {
                break;
            }
            tail.add(cur);
            cur = a;
        }
        return cur;
    }

    private static boolean isAttention(Op op) {
        return op instanceof ModelOp.Attention || op instanceof TargetOp.FlashAttention;
    }

    /** Causal self-attention without a mask over the same tokens, KV head dim equal to the value dim. */
    private static void checkAttention(Node n, Dim batch, Dim seq) {
        if (n.op() instanceof ModelOp.Attention a) {
            if (n.inputs().size() == 4) {
                throw new Rejected("maskedAttention", n.describe() + " has a mask; a paged step knows only causal "
                        + "(and sliding-window) visibility");
            }
            if (!a.causal()) {
                throw new Rejected("nonCausalAttention", n.describe() + " is not causal; a KV cache serves causal "
                        + "decoders only");
            }
        }
        Node q = n.input(0);
        Node k = n.input(1);
        Node v = n.input(2);
        for (Node x : List.of(q, k, v)) {
            if (!x.shape().dim(0).equals(batch) || !x.shape().dim(1).equals(seq)) {
                throw new Rejected("crossAttention", n.describe() + " operand " + x.describe() + " is "
                        + x.type() + ", not over the [" + batch + ", " + seq + "] input tokens");
            }
        }
        if (!k.shape().dim(3).isConstant() || !k.shape().dim(3).equals(v.shape().dim(3))) {
            throw new Rejected("mixedLayers", n.describe() + ": key head dim " + k.shape().dim(3) + " and value head dim "
                    + v.shape().dim(3) + " differ; the cache layout has one head_dim");
        }
        if (repeatsKv(k) || repeatsKv(v)) {
            throw new Rejected("repeatKv", n.describe() + " reads keys or values through an expand/tile (a "
                    + "materialised repeat_kv); raise it to num_kv_heads so the cache stores KV heads only");
        }
    }

    /**
     * True when an expand or tile that enlarges its input lies on the path from the projection to {@code kv}
     * (walking up through rope, qk-norm and layout ops).
     */
    private static boolean repeatsKv(Node kv) {
        Node cur = kv;
        for (int hops = 0; hops < 32; hops++) {
            switch (cur.op()) {
                case PrimitiveOp.Expand e -> {
                    return !cur.shape().equals(cur.input(0).shape());
                }
                case PrimitiveOp.Tile t -> {
                    return !cur.shape().equals(cur.input(0).shape());
                }
                case ModelOp.Rope r -> cur = cur.input(0);
                case ModelOp.RmsNorm r -> cur = cur.input(0);
                case PrimitiveOp.Reshape r -> cur = cur.input(0);
                case PrimitiveOp.Transpose t -> cur = cur.input(0);
                case PrimitiveOp.Unsqueeze u -> cur = cur.input(0);
                case PrimitiveOp.Squeeze s -> cur = cur.input(0);
                case PrimitiveOp.Cast c -> cur = cur.input(0);
                default -> {
                    return false;
                }
            }
        }
        return false;
    }

    private static boolean isPositionRange(Node range, Dim seq) {
        var start = SymbolicValues.scalar(range.input(0));
        var delta = SymbolicValues.scalar(range.input(2));
        return start.isPresent() && start.get().equals(Dim.of(0)) && delta.isPresent() && delta.get().equals(Dim.of(1))
                && range.shape().dim(0).equals(seq);
    }

    /** Nodes whose value depends on {@code root}. */
    private static Set<Node> dependsOn(List<Node> topo, Node root) {
        Set<Node> dyn = Collections.newSetFromMap(new IdentityHashMap<>());
        dyn.add(root);
        for (Node n : topo) {
            for (Node in : n.inputs()) {
                if (dyn.contains(in)) {
                    dyn.add(n);
                    break;
                }
            }
        }
        return dyn;
    }

    /**
     * For an op that computes each token's row from that row alone, the index of its one token-dependent operand;
     * -1 otherwise. Row-wise: linear, rms_norm, layer_norm over the last axis, activations, elementwise unaries,
     * and elementwise binaries whose other operand is a constant of rank 0 or 1 (a scale, a soft-cap).
     */
    private static int activationOperand(Node n, Set<Node> dynamic) {
        int idx = switch (n.op()) {
            case ModelOp.Linear l -> 0;
            case ModelOp.RmsNorm r -> 0;
            case ModelOp.LayerNorm l -> Shape.normalizeAxis(l.axis(), n.input(0).rank()) == n.input(0).rank() - 1 ? 0 : -1;
            case ModelOp.Gelu g -> 0;
            case ModelOp.Silu s -> 0;
            case PrimitiveOp.Unary u -> 0;
            case PrimitiveOp.Binary b when !(b instanceof PrimitiveOp.Compare) -> {
                boolean first = dynamic.contains(n.input(0));
                boolean second = dynamic.contains(n.input(1));
                Node other = n.input(first ? 1 : 0);
                yield first != second && other.rank() <= 1 ? (first ? 0 : 1) : -1;
            }
            default -> -1;
        };
        if (idx < 0 || !dynamic.contains(n.input(idx))) {
            return -1;
        }
        for (int i = 0; i < n.inputs().size(); i++) {
            if (i != idx && dynamic.contains(n.input(i))) {
                return -1;
            }
        }
        return idx;
    }

    // ---- rewriting ----

    private Graph lower(Graph g, Plan plan) {
        Node tokens = param(TOKENS, TensorType.of(DType.I64, T));
        Node positions = param(POSITIONS, TensorType.of(DType.I64, T));
        Node slots = param(SLOTS, TensorType.of(DType.I64, T));
        Node blockTables = param(BLOCK_TABLES, TensorType.of(DType.I32, SEQS, MAX_BLOCKS));
        Node contextLens = param(CONTEXT_LENS, TensorType.of(DType.I32, SEQS));
        Node queryStarts = param(QUERY_STARTS, TensorType.of(DType.I32, SEQS.plus(1)));
        Node logitsIndices = param(LOGITS_INDICES, TensorType.of(DType.I64, OUTPUTS));

        Set<String> used = new HashSet<>(INPUTS);
        List<Node> nodes = g.nodes();
        for (Node n : nodes) {
            if (n.name() != null) {
                used.add(n.name());
            }
        }
        Map<Node, Node> map = new IdentityHashMap<>();
        Map<Node, Node> tailMap = new IdentityHashMap<>();
        int layer = 0;
        for (Node n : nodes) {
            String name = n.name() != null && INPUTS.contains(n.name()) ? null : n.name();
            Node r;
            if (n == plan.ids()) {
                r = castTo(Node.of(new PrimitiveOp.Unsqueeze(List.of(0L)), tokens), n.dtype());
            } else if (plan.positionRanges().contains(n)) {
                r = castTo(positions, n.dtype());
            } else if (n.op() instanceof SourceOp.Dims d) {
                r = Node.of(new SourceOp.Dims(d.dims().stream().map(x -> x.substitute(plan.substitution())).toList()),
                        List.of(), name);
            } else if (isAttention(n.op())) {
                List<Node> in = n.inputs().stream().map(map::get).toList();
                r = pagedAttention(n, layer++, in, plan.spec(), name, used, slots, blockTables, contextLens, queryStarts);
            } else if (plan.tail().contains(n)) {
                List<Node> in = n.inputs().stream().map(x -> tailMap.getOrDefault(x, map.get(x))).toList();
                tailMap.put(n, Node.of(n.op(), in, name));
                continue;
            } else {
                r = Node.of(n.op(), n.inputs().stream().map(map::get).toList(), name);
            }
            map.put(n, r);
            if (n == plan.gatherAt()) {
                tailMap.put(n, Node.of(new PrimitiveOp.Gather(1), List.of(r, logitsIndices), unique("logits_rows", used)));
            }
        }
        Node logits = tailMap.get(g.outputs().getFirst());
        Dim vocab = logits.shape().dim(2);
        Node flat = Node.of(new PrimitiveOp.Reshape(false), logits, Node.of(new SourceOp.Dims(List.of(OUTPUTS, vocab)), List.of()));
        return new Graph(GRAPH_NAME, List.of(tokens, positions, slots, blockTables, contextLens, queryStarts,
                logitsIndices), List.of(flat));
    }

    /** q, k, v [1, tokens, heads, d] -&gt; kv_write + paged_attention over [tokens, heads, d] -&gt; [1, tokens, heads, d]. */
    private static Node pagedAttention(Node n, int layer, List<Node> in, KvCacheSpec spec, String name, Set<String> used,
                                       Node slots, Node blockTables, Node contextLens, Node queryStarts) {
        int heads;
        double scale;
        double softcap;
        long window;
        switch (n.op()) {
            case ModelOp.Attention a -> {
                heads = a.numHeads();
                scale = a.scale();
                softcap = a.softcap();
                window = a.slidingWindow();
            }
            case TargetOp.FlashAttention f -> {
                heads = f.numHeads();
                scale = f.scale();
                softcap = f.softcap();
                window = f.slidingWindow();
            }
            default -> throw new IllegalStateException("not an attention: " + n);
        }
        String base = name != null ? name : "l" + layer + ".attn";
        Node q = flatten(in.get(0));
        Node k = flatten(in.get(1));
        Node v = flatten(in.get(2));
        Node write = Node.of(new TargetOp.KvWrite(spec, layer), List.of(k, v, slots), unique(base + ".kv_write", used));
        Node attn = Node.of(new TargetOp.PagedAttention(spec, layer, heads, scale, softcap, window),
                List.of(q, write, blockTables, contextLens, queryStarts), unique(base + ".paged", used));
        Shape s = attn.shape();
        return Node.of(new PrimitiveOp.Reshape(false),
                List.of(attn, dims(Dim.of(1), s.dim(0), s.dim(1), s.dim(2))), name);
    }

    /** [1, tokens, heads, d] -&gt; [tokens, heads, d]. */
    private static Node flatten(Node x) {
        Shape s = x.shape();
        return Node.of(new PrimitiveOp.Reshape(false), x, dims(s.dim(1), s.dim(2), s.dim(3)));
    }

    private static Node dims(Dim... d) {
        return Node.of(new SourceOp.Dims(List.of(d)), List.of());
    }

    private static Node param(String name, TensorType type) {
        return Node.of(new SourceOp.Param(name, type), List.of(), name);
    }

    private static Node castTo(Node x, DType dtype) {
        return x.dtype() == dtype ? x : Node.of(new PrimitiveOp.Cast(dtype, false), x);
    }

    private static String unique(String base, Set<String> used) {
        String name = base;
        for (int i = 1; !used.add(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }

    /** The postconditions, checked on every result (a failure is a bug of this pass). */
    private static void checkAfter(Graph out, Plan plan) {
        int writes = 0;
        int paged = 0;
        for (Node n : out.nodes()) {
            switch (n.op()) {
                case ModelOp.Attention a -> throw new IllegalStateException("attention left: " + n);
                case TargetOp.FlashAttention f -> throw new IllegalStateException("flash_attention left: " + n);
                case TargetOp.KvWrite w -> {
                    writes++;
                    if (!w.spec().equals(plan.spec())) {
                        throw new IllegalStateException(n + " has another cache spec than " + plan.spec());
                    }
                }
                case TargetOp.PagedAttention p -> paged++;
                case PrimitiveOp.Range r when n.shape().dim(0).symbols().contains("tokens") ->
                        throw new IllegalStateException("a range over the step's tokens is left: " + n);
                default -> { }
            }
        }
        if (writes != plan.spec().layers() || paged != plan.spec().layers()) {
            throw new IllegalStateException(writes + " kv_write and " + paged + " paged_attention for "
                    + plan.spec().layers() + " layers");
        }
    }
}
