package dev.tokc.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One dimension of a shape: an integer, a named symbol ({@code batch}, {@code seq}), a polynomial of symbols with
 * integer coefficients ({@code batch*seq}, {@code ctx+seq}, {@code seq-1}), or unknown ({@code ?}, a size only known
 * at run time, e.g. the output of a data-dependent op).
 *
 * <p>Polynomials are kept in a canonical form (sorted monomials, no zero coefficients), so two dims are equal
 * exactly when their polynomials are: {@code seq+ctx} equals {@code ctx+seq}. Unknown dims compare equal to each
 * other for structural equality, but {@link #provablyEqual} never holds for them.
 */
public final class Dim {
    /** Monomial key (symbols sorted, joined by '*'; "" for the constant term) to coefficient. */
    private final TreeMap<String, Long> terms;
    private final boolean unknown;
    private final int hash;

    public static final Dim UNKNOWN = new Dim(new TreeMap<>(), true);

    private Dim(TreeMap<String, Long> terms, boolean unknown) {
        this.terms = terms;
        this.unknown = unknown;
        this.hash = unknown ? -1 : terms.hashCode();
    }

    public static Dim of(long value) {
        TreeMap<String, Long> t = new TreeMap<>();
        if (value != 0) {
            t.put("", value);
        }
        return new Dim(t, false);
    }

    public static Dim sym(String name) {
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("invalid dimension symbol '" + name + "'");
        }
        TreeMap<String, Long> t = new TreeMap<>();
        t.put(name, 1L);
        return new Dim(t, false);
    }

    public boolean isUnknown() {
        return unknown;
    }

    public boolean isConstant() {
        return !unknown && (terms.isEmpty() || (terms.size() == 1 && terms.containsKey("")));
    }

    /** The value of a constant dim; throws if the dim is symbolic or unknown. */
    public long value() {
        if (!isConstant()) {
            throw new IllegalStateException("dimension " + this + " is not a constant");
        }
        return terms.getOrDefault("", 0L);
    }

    /** The single symbol this dim is, if it is exactly one symbol with coefficient 1. */
    public Optional<String> symbol() {
        if (!unknown && terms.size() == 1) {
            var e = terms.firstEntry();
            if (e.getValue() == 1 && !e.getKey().isEmpty() && !e.getKey().contains("*")) {
                return Optional.of(e.getKey());
            }
        }
        return Optional.empty();
    }

    /** Symbols this dim mentions, sorted. */
    public List<String> symbols() {
        List<String> out = new ArrayList<>();
        for (String key : terms.keySet()) {
            if (!key.isEmpty()) {
                for (String s : key.split("\\*")) {
                    if (!out.contains(s)) {
                        out.add(s);
                    }
                }
            }
        }
        Collections.sort(out);
        return out;
    }

    public Dim plus(Dim o) {
        if (unknown || o.unknown) {
            return UNKNOWN;
        }
        TreeMap<String, Long> t = new TreeMap<>(terms);
        o.terms.forEach((k, v) -> addTerm(t, k, v));
        return new Dim(t, false);
    }

    public Dim plus(long c) {
        return plus(of(c));
    }

    public Dim negate() {
        return times(-1);
    }

    public Dim minus(Dim o) {
        return plus(o.negate());
    }

    public Dim times(long c) {
        return times(of(c));
    }

    public Dim times(Dim o) {
        if (unknown || o.unknown) {
            return UNKNOWN;
        }
        TreeMap<String, Long> t = new TreeMap<>();
        for (var a : terms.entrySet()) {
            for (var b : o.terms.entrySet()) {
                addTerm(t, multiplyKeys(a.getKey(), b.getKey()), Math.multiplyExact(a.getValue(), b.getValue()));
            }
        }
        return new Dim(t, false);
    }

    /**
     * Exact division: {@code this / o} when every monomial of this is divisible by the single monomial {@code o}
     * (e.g. {@code 6*seq / 3 = 2*seq}, {@code batch*seq / seq = batch}); empty otherwise.
     */
    public Optional<Dim> exactDiv(Dim o) {
        if (unknown || o.unknown || o.terms.size() != 1) {
            return Optional.empty();
        }
        var d = o.terms.firstEntry();
        List<String> divisor = splitKey(d.getKey());
        TreeMap<String, Long> t = new TreeMap<>();
        for (var a : terms.entrySet()) {
            if (a.getValue() % d.getValue() != 0) {
                return Optional.empty();
            }
            List<String> syms = new ArrayList<>(splitKey(a.getKey()));
            for (String s : divisor) {
                if (!syms.remove(s)) {
                    return Optional.empty();
                }
            }
            addTerm(t, String.join("*", syms), a.getValue() / d.getValue());
        }
        return Optional.of(new Dim(t, false));
    }

    /** Evaluates with the given symbol values; throws naming the first unbound symbol. */
    public long evaluate(Map<String, Long> bindings) {
        if (unknown) {
            throw new IllegalStateException("cannot evaluate an unknown dimension");
        }
        long sum = 0;
        for (var e : terms.entrySet()) {
            long p = e.getValue();
            for (String s : splitKey(e.getKey())) {
                Long v = bindings.get(s);
                if (v == null) {
                    throw new IllegalStateException("dimension symbol '" + s + "' has no value");
                }
                p = Math.multiplyExact(p, v);
            }
            sum = Math.addExact(sum, p);
        }
        return sum;
    }

    /**
     * This polynomial with each symbol in {@code replacements} replaced by its dim (other symbols stay), e.g.
     * {@code 2*batch*seq} with {batch: 1, seq: tokens} is {@code 2*tokens}. Unknown stays unknown.
     */
    public Dim substitute(Map<String, Dim> replacements) {
        if (unknown) {
            return this;
        }
        Dim sum = of(0);
        for (var e : terms.entrySet()) {
            Dim term = of(e.getValue());
            for (String s : splitKey(e.getKey())) {
                Dim r = replacements.get(s);
                term = term.times(r != null ? r : sym(s));
            }
            sum = sum.plus(term);
        }
        return sum;
    }

    /** True when both are known and equal as polynomials (so equal for every binding of the symbols). */
    public boolean provablyEqual(Dim o) {
        return !unknown && !o.unknown && terms.equals(o.terms);
    }

    /** False only when the two dims are known to differ (both constant and different). */
    public boolean mayEqual(Dim o) {
        if (unknown || o.unknown) {
            return true;
        }
        if (isConstant() && o.isConstant()) {
            return value() == o.value();
        }
        return true;
    }

    private static void addTerm(TreeMap<String, Long> t, String key, long coeff) {
        long v = Math.addExact(t.getOrDefault(key, 0L), coeff);
        if (v == 0) {
            t.remove(key);
        } else {
            t.put(key, v);
        }
    }

    private static List<String> splitKey(String key) {
        return key.isEmpty() ? List.of() : Arrays.asList(key.split("\\*"));
    }

    private static String multiplyKeys(String a, String b) {
        List<String> syms = new ArrayList<>(splitKey(a));
        syms.addAll(splitKey(b));
        Collections.sort(syms);
        return String.join("*", syms);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dim d && d.unknown == unknown && d.terms.equals(terms);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    /** Text form: {@code 192}, {@code seq}, {@code 2*batch*seq+1}, {@code ctx-seq}, {@code ?}. */
    @Override
    public String toString() {
        if (unknown) {
            return "?";
        }
        if (terms.isEmpty()) {
            return "0";
        }
        StringBuilder sb = new StringBuilder();
        // Symbolic monomials first (sorted), the constant last: "seq+1" reads better than "1+seq".
        List<Map.Entry<String, Long>> ordered = new ArrayList<>();
        terms.forEach((k, v) -> { if (!k.isEmpty()) ordered.add(Map.entry(k, v)); });
        if (terms.containsKey("")) {
            ordered.add(Map.entry("", terms.get("")));
        }
        for (var e : ordered) {
            long c = e.getValue();
            if (sb.length() > 0) {
                sb.append(c < 0 ? "-" : "+");
                c = Math.abs(c);
            } else if (c < 0) {
                sb.append('-');
                c = -c;
            }
            if (e.getKey().isEmpty()) {
                sb.append(c);
            } else {
                if (c != 1) {
                    sb.append(c).append('*');
                }
                sb.append(e.getKey());
            }
        }
        return sb.toString();
    }
}
