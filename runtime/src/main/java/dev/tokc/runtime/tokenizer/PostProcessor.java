package dev.tokc.runtime.tokenizer;

import java.util.List;

/**
 * A tokenizer.json post-processor, reduced to what inference needs: the special tokens it puts around a single
 * sequence when special tokens are requested. (Pairs, type ids and offsets are training concerns.)
 */
public sealed interface PostProcessor {

    int[] addSpecial(int[] ids);

    /** Leaves ids alone (ByteLevel's post-processor only adjusts offsets). */
    record Identity() implements PostProcessor {
        @Override
        public int[] addSpecial(int[] ids) {
            return ids;
        }
    }

    /** One element of a TemplateProcessing "single" template: fixed special ids, or the sequence itself (ids null). */
    record Piece(int[] ids) {
        static final Piece SEQUENCE = new Piece(null);
    }

    /** TemplateProcessing: the "single" template, e.g. {@code [<s>, $A]} or {@code [<|begin_of_text|>, $A]}. */
    record Template(List<Piece> single) implements PostProcessor {
        public Template {
            single = List.copyOf(single);
        }

        @Override
        public int[] addSpecial(int[] ids) {
            IntList out = new IntList(ids.length + 4);
            for (Piece piece : single) {
                out.addAll(piece.ids() == null ? ids : piece.ids());
            }
            return out.toArray();
        }
    }

    /** RobertaProcessing and BertProcessing: {@code cls, ids..., sep}. */
    record Surround(int clsId, int sepId) implements PostProcessor {
        @Override
        public int[] addSpecial(int[] ids) {
            int[] out = new int[ids.length + 2];
            out[0] = clsId;
            System.arraycopy(ids, 0, out, 1, ids.length);
            out[ids.length + 1] = sepId;
            return out;
        }
    }

    /** Applies each processor in turn. */
    record Sequence(List<PostProcessor> processors) implements PostProcessor {
        public Sequence {
            processors = List.copyOf(processors);
        }

        @Override
        public int[] addSpecial(int[] ids) {
            for (PostProcessor p : processors) {
                ids = p.addSpecial(ids);
            }
            return ids;
        }
    }
}
