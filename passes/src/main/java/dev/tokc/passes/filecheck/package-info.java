/**
 * Text-in, text-out testing for passes: {@link dev.tokc.passes.filecheck.GoldenFile} splits a golden file into
 * cases (RUN lines, input, expected diagnostics) and {@link dev.tokc.passes.filecheck.FileCheck} verifies a pass's
 * output against the case's {@code // CHECK} lines, LLVM style. Independent of the IR: it only sees text.
 */
package dev.tokc.passes.filecheck;
