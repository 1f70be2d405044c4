package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * The input of a document review wait ({@link AwaitInput#documentReview(String)}).
 *
 * @param decision the reviewer's decision
 * @param reviewer who reviewed
 * @param comments optional remarks
 */
public record DocumentReview(Decision decision, String reviewer, @Nullable String comments) {

    /** A reviewer's decision. */
    public enum Decision {
        /** The document is accepted as it is. */
        APPROVE,
        /** The document goes back to its author. */
        REQUEST_CHANGES,
        /** The document is refused. */
        REJECT
    }
}
