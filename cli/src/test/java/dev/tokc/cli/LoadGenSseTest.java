package dev.tokc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadGenSseTest {
    /** Feeds the lines and returns the events in order, the end-of-body one included. */
    private static List<LoadGenSse.Event> parse(String... lines) {
        LoadGenSse p = new LoadGenSse();
        List<LoadGenSse.Event> out = new ArrayList<>();
        for (String l : lines) {
            LoadGenSse.Event e = p.feed(l);
            if (e != null) {
                out.add(e);
            }
        }
        LoadGenSse.Event last = p.finish();
        if (last != null) {
            out.add(last);
        }
        return out;
    }

    private static LoadGenSse.Event msg(String data) {
        return new LoadGenSse.Event("message", data);
    }

    @Test
    void openAiChunksAndDone() {
        assertEquals(List.of(msg("{\"a\":1}"), msg("{\"b\":2}"), msg("[DONE]")),
                parse("data: {\"a\":1}", "", "data: {\"b\":2}", "", "data: [DONE]", ""));
    }

    @Test
    void onlyOneSpaceAfterTheColonIsDropped() {
        assertEquals(List.of(msg("x"), msg(" y"), msg("")), parse("data:x", "", "data:  y", "", "data", ""));
    }

    @Test
    void multiLineDataJoinsWithNewlines() {
        assertEquals(List.of(msg("one\ntwo\n")), parse("data: one", "data: two", "data:", ""));
    }

    @Test
    void commentsIdsRetriesAndStrayBlankLinesAreIgnored() {
        assertEquals(List.of(msg("x")), parse("", ": keep-alive", "", "id: 7", "retry: 100", "data: x", "", ""));
    }

    @Test
    void eventTypeAppliesToOneEvent() {
        assertEquals(List.of(new LoadGenSse.Event("error", "bad"), msg("ok")),
                parse("event: error", "data: bad", "", "data: ok", ""));
    }

    @Test
    void finishHandsBackAnEventWithoutItsBlankLine() {
        assertEquals(List.of(msg("a"), msg("[DONE]")), parse("data: a", "", "data: [DONE]"));
        assertNull(new LoadGenSse().finish());
    }
}
