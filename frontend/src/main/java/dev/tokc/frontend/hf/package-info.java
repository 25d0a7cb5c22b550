/**
 * Hugging Face checkpoint metadata: {@link dev.tokc.frontend.hf.ModelConfig} (config.json, with transformers'
 * per-family defaults made explicit), {@link dev.tokc.frontend.hf.RopeConfig} (RoPE settings and inverse
 * frequencies) and {@link dev.tokc.frontend.hf.WeightNames} (which tensors a checkpoint holds, by role, with their
 * stored shapes).
 */
package dev.tokc.frontend.hf;
