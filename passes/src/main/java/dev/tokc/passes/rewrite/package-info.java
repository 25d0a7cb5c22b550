/**
 * Rewrites as data: a {@link dev.tokc.passes.rewrite.Pattern} (op class, attribute predicate, nested operand
 * patterns, named captures, commutative matching) plus a rewrite function make a
 * {@link dev.tokc.passes.rewrite.Rule}; rules compose into {@link dev.tokc.passes.rewrite.RuleSet}s, and one
 * {@link dev.tokc.passes.rewrite.RewriteDriver} applies a set bottom-up to a fixed point. In the spirit of
 * tinygrad's PatternMatcher and MLIR's declarative rewrite rules.
 */
package dev.tokc.passes.rewrite;
