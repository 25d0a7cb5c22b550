/**
 * The safetensors data layer: {@link dev.tokc.frontend.safetensors.SafetensorsFile} maps one file and validates
 * its header, {@link dev.tokc.frontend.safetensors.Checkpoint} joins the shards of a model,
 * {@link dev.tokc.frontend.safetensors.TensorView} exposes a tensor as a zero-copy slice of the mapping, and
 * {@link dev.tokc.frontend.safetensors.SafetensorsWriter} writes files (test fixtures, {@code tokc synth}).
 *
 * <p>Independent of the IR on purpose: the importer maps {@link dev.tokc.frontend.safetensors.DType} and the
 * views onto IR weight constants.
 */
package dev.tokc.frontend.safetensors;
