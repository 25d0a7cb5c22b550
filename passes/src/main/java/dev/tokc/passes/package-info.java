/**
 * The optimiser: IR-to-IR passes and the pipeline that runs them.
 *
 * <ul>
 *   <li>{@link dev.tokc.passes.Pass}: one transformation, a pure function of the graph that reports counters
 *       through its {@link dev.tokc.passes.PassContext};</li>
 *   <li>{@link dev.tokc.passes.Pipeline}: named phases of passes, with verify-each, dump-after and strict
 *       convergence options; {@link dev.tokc.passes.Pipeline#standard()} is the default order;</li>
 *   <li>{@link dev.tokc.passes.PassRegistry}: passes by name, for {@code --passes=a,b,c}.</li>
 * </ul>
 * Rule-based passes are built on {@link dev.tokc.passes.rewrite}; the passes themselves live in
 * {@link dev.tokc.passes.transforms}, one file each. Golden text tests of every pass are under
 * {@code src/test/resources/passes/<pass>/}.
 */
package dev.tokc.passes;
