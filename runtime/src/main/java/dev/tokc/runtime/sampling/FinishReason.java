package dev.tokc.runtime.sampling;

/** Why a sequence stopped generating. */
public enum FinishReason {
    /** The model produced one of its EOS token ids. */
    EOS("stop"),
    /** A token from {@link SamplingParams#stopTokenIds()}. */
    STOP_TOKEN("stop"),
    /** A string from {@link SamplingParams#stop()} appeared in the text. */
    STOP_STRING("stop"),
    /** {@link SamplingParams#maxTokens()} tokens were generated. */
    LENGTH("length");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** The {@code finish_reason} value of the OpenAI API. */
    public String openAiName() {
        return openAiName;
    }
}
