package dev.tokc.cli;

/**
 * Incremental parser of a {@code text/event-stream} body, fed one line (without its terminator) at a time, as the
 * WHATWG "server-sent events" section describes it: {@code data:} lines accumulate (joined by newlines) until a blank
 * line dispatches the event; lines starting with {@code :} are comments (keep-alives); {@code event:} names the event;
 * one space after the colon is dropped; {@code id:} and {@code retry:} are ignored (the benchmark never reconnects).
 *
 * <p>One deliberate leniency: {@link #finish()} hands back an event whose blank line never came, because some servers
 * end the body right after {@code data: [DONE]}. A truly truncated event then fails where its JSON is parsed.
 */
final class LoadGenSse {
    /** One dispatched event: its type ({@code message} unless named) and its data. */
    record Event(String type, String data) {}

    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private String type = "message";

    /** Feeds one line; returns the event this line completes (a blank line after data), else null. */
    Event feed(String line) {
        if (line.isEmpty()) {
            return dispatch();
        }
        if (line.charAt(0) == ':') {
            return null;
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "data" -> {
                if (hasData) {
                    data.append('\n');
                }
                data.append(value);
                hasData = true;
            }
            case "event" -> type = value;
            default -> {
                // id, retry and unknown fields: nothing the benchmark uses
            }
        }
        return null;
    }

    /** At the end of the body: the pending event if data came without its closing blank line, else null. */
    Event finish() {
        return dispatch();
    }

    private Event dispatch() {
        Event e = hasData ? new Event(type, data.toString()) : null;
        data.setLength(0);
        hasData = false;
        type = "message";
        return e;
    }
}
