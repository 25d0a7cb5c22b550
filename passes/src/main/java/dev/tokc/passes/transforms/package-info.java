/**
 * The passes, one per file, each documented with what it rewrites, what it needs before, what holds after and the
 * counters it reports: {@link dev.tokc.passes.transforms.Canonicalize}, {@link dev.tokc.passes.transforms.ConstantFold},
 * {@link dev.tokc.passes.transforms.ShapeInfer}, {@link dev.tokc.passes.transforms.Cse} and
 * {@link dev.tokc.passes.transforms.Dce}.
 */
package dev.tokc.passes.transforms;
