package dev.stasis;

/**
 * The status of a stored flow: {@code SUSPENDED → RUNNING → (SUSPENDED | COMPLETED | FAILED)}, or
 * {@code CANCELLED}, {@code EXPIRED}.
 */
public enum FlowStatus {
    /** Waiting for input at one or more waits; its keys work. */
    SUSPENDED,
    /** Claimed by a hub that is replaying it (under a lease). */
    RUNNING,
    /** Finished with an output; kept for the retention period. */
    COMPLETED,
    /** Finished with an error; kept for the retention period. */
    FAILED,
    /** Ended by {@link PersistenceHub#cancel}; its keys stopped working. */
    CANCELLED,
    /** Ended because a wait passed its deadline and the flow could not continue. */
    EXPIRED;

    /**
     * Whether the flow can never run again.
     *
     * @return {@code true} for completed, failed, cancelled and expired flows
     */
    public boolean isTerminal() {
        return this != SUSPENDED && this != RUNNING;
    }
}
