package dev.stasis;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What {@link PersistenceHub#cleanup} removes. Without any filter it removes the finished flows whose retention
 * ended ({@link #expiredOnly()}). Suspended and running flows are removed only when their status is named
 * explicitly.
 *
 * @param expiredOnly only records whose retention period ended
 * @param olderThan only records created more than this long ago
 * @param statuses only records in these statuses (empty: completed, failed, cancelled, expired)
 * @param flowName only flows of this name
 * @param batchSize how many records one store call removes at most (the cleanup loops until none remain)
 */
public record CleanupCriteria(
        boolean expiredOnly,
        @Nullable Duration olderThan,
        Set<FlowStatus> statuses,
        @Nullable String flowName,
        int batchSize) {

    /**
     * Copies the statuses.
     *
     * @param expiredOnly retention ended
     * @param olderThan age filter
     * @param statuses status filter
     * @param flowName flow name filter
     * @param batchSize batch size
     */
    public CleanupCriteria {
        statuses = statuses.isEmpty()
                ? Set.copyOf(EnumSet.of(FlowStatus.COMPLETED, FlowStatus.FAILED, FlowStatus.CANCELLED, FlowStatus.EXPIRED))
                : Set.copyOf(statuses);
        if (batchSize < 1 || batchSize > QueryCriteria.MAX_LIMIT) {
            throw new IllegalArgumentException("batchSize must be between 1 and " + QueryCriteria.MAX_LIMIT);
        }
    }

    /**
     * Finished flows whose retention ended: the usual periodic cleanup.
     *
     * @return the criteria
     */
    public static CleanupCriteria expired() {
        return new CleanupCriteria(true, null, Set.of(), null, 1000);
    }

    /**
     * Finished flows created more than {@code age} ago, whatever their retention.
     *
     * @param age the age
     * @return the criteria
     */
    public static CleanupCriteria olderThan(Duration age) {
        return new CleanupCriteria(false, Objects.requireNonNull(age), Set.of(), null, 1000);
    }

    /**
     * These criteria restricted to some statuses.
     *
     * @param statuses the statuses
     * @return new criteria
     */
    public CleanupCriteria withStatuses(FlowStatus... statuses) {
        return new CleanupCriteria(expiredOnly, olderThan, Set.of(statuses), flowName, batchSize);
    }

    /**
     * These criteria restricted to one flow name.
     *
     * @param flowName the name
     * @return new criteria
     */
    public CleanupCriteria withFlowName(String flowName) {
        return new CleanupCriteria(expiredOnly, olderThan, statuses, flowName, batchSize);
    }
}
