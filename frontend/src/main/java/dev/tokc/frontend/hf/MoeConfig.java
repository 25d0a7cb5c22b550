package dev.tokc.frontend.hf;

/**
 * Mixture-of-experts routing (mixtral): {@code numExperts} experts per layer ({@code num_local_experts}), of
 * which the router's top {@code expertsPerToken} ({@code num_experts_per_tok}) run for each token, their outputs
 * weighted by the softmax of the selected router logits. Each expert is a SwiGLU MLP of the config's
 * intermediate size.
 */
public record MoeConfig(int numExperts, int expertsPerToken) {
    public MoeConfig {
        if (numExperts <= 0 || expertsPerToken <= 0 || expertsPerToken > numExperts) {
            throw new IllegalArgumentException("need 0 < experts per token <= experts, got " + expertsPerToken + " of " + numExperts);
        }
    }
}
