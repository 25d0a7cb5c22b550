/**
 * The JVM backend: optimised IR in, a {@code CompiledProgram} class out (ASM bytecode, and the same program as Java
 * source through JavaPoet), plus the engine writer.
 *
 * <p>Flow ({@link dev.tokc.codegen.jvm.JvmBackend}): {@link dev.tokc.codegen.jvm.WeightPlan} folds weight-only
 * subgraphs at compile time; {@link dev.tokc.codegen.jvm.ProgramPlan} lowers each node through the
 * {@link dev.tokc.codegen.jvm.KernelTable} (a list of {@link dev.tokc.codegen.jvm.KernelBinding}s: op, check with a
 * rejection reason, lowering to an {@code ExecContext} call); {@link dev.tokc.codegen.jvm.BytecodeEmitter} and
 * {@link dev.tokc.codegen.jvm.SourceEmitter} render that one plan; {@link dev.tokc.codegen.jvm.EngineWriter} writes
 * the artifact. Tests: bytecode through {@code CheckClassAdapter}, golden Textifier and Java text, and the generated
 * program against the reference interpreter.
 */
package dev.tokc.codegen.jvm;
