package dev.tokc.cli;

/**
 * What one streamed completion did, in {@link System#nanoTime()} instants.
 *
 * @param startNs just before the request was sent
 * @param tokenNs arrival of each chunk that carried text, in order (the first is the first token)
 * @param endNs when {@code data: [DONE]} (or the failure) arrived
 * @param outputTokens the completion's tokens: {@code usage.completion_tokens} when the server reported usage
 *     ({@code usageReported}), else the number of chunks that carried text
 * @param promptTokens {@code usage.prompt_tokens}, or -1 when not reported
 * @param finishReason the last {@code finish_reason} seen ({@code length}, {@code stop}, ...), or null
 * @param error why the request failed (HTTP status and the server's message, a broken stream, ...); null when it worked
 */
record LoadGenResult(LoadGenRequest request, long startNs, long[] tokenNs, long endNs, int outputTokens,
        boolean usageReported, int promptTokens, String finishReason, String error) {

    static LoadGenResult failed(LoadGenRequest request, long startNs, long endNs, String error) {
        return new LoadGenResult(request, startNs, new long[0], endNs, 0, false, -1, null, error);
    }

    boolean ok() {
        return error == null;
    }

    /** Time to the first chunk with text, in ms; NaN when none came. */
    double ttftMs() {
        return tokenNs.length == 0 ? Double.NaN : (tokenNs[0] - startNs) / 1e6;
    }

    double e2eMs() {
        return (endNs - startNs) / 1e6;
    }

    /** Gaps between consecutive text chunks, in ms (one per token when the server streams a token per chunk). */
    double[] itlMs() {
        double[] out = new double[Math.max(0, tokenNs.length - 1)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (tokenNs[i + 1] - tokenNs[i]) / 1e6;
        }
        return out;
    }
}
