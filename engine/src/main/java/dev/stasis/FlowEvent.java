package dev.stasis;

import java.time.Instant;
import java.util.List;

/**
 * Something that happened to a flow, published on {@link PersistenceHub#events()} after the store change is
 * durable. Carries no key and no state.
 *
 * @param type what happened
 * @param flowId the flow id
 * @param flowName the flow name
 * @param awaitIds the waits concerned (the new waits for {@code SUSPENDED}, the resumed one for {@code RESUMED})
 * @param at when it happened (the hub's clock)
 */
public record FlowEvent(Type type, String flowId, String flowName, List<String> awaitIds, Instant at) {

    /**
     * Copies the await ids.
     *
     * @param type the type
     * @param flowId the flow id
     * @param flowName the flow name
     * @param awaitIds the await ids
     * @param at the instant
     */
    public FlowEvent {
        awaitIds = List.copyOf(awaitIds);
    }

    /** The kinds of event. */
    public enum Type {
        /** The flow stopped at one or more waits. */
        SUSPENDED,
        /** A wait received its input (claimed). */
        RESUMED,
        /** The flow finished with an output. */
        COMPLETED,
        /** The flow finished with an error. */
        FAILED,
        /** A wait passed its deadline and was fired. */
        EXPIRED,
        /** The flow was cancelled. */
        CANCELLED
    }
}
