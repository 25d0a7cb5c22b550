package dev.tokc.cli;

/**
 * One request of the load: its target prompt length in tokens, {@code max_tokens}, and the prompt itself, as token
 * ids ({@code promptIds}, exact length) or as text ({@code promptText}, length calibrated, see {@link LoadGenPrompts}).
 */
record LoadGenRequest(int promptLen, int maxTokens, int[] promptIds, String promptText) {
    LoadGenRequest {
        if ((promptIds == null) == (promptText == null)) {
            throw new IllegalArgumentException("exactly one of promptIds and promptText");
        }
    }
}
