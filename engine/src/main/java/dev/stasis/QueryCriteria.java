package dev.stasis;

import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Filters for {@link PersistenceHub#query} and {@link PersistenceHub#cleanup}, passed down to the store, which
 * evaluates them on its indexes. All set filters must hold (AND). Results are ordered by flow id, which is
 * time-ordered, so {@link #afterFlowId()} is the cursor: pass the last id of one page to get the next.
 *
 * @param flowName only flows of this name
 * @param awaitId only flows with a wait (pending or past) of this id
 * @param statuses only flows in one of these statuses; empty means any
 * @param correlationId only the flow with this correlation id
 * @param createdAfter created at or after
 * @param createdBefore created strictly before
 * @param deadlineBefore earliest pending deadline strictly before
 * @param deadlineAfter earliest pending deadline at or after
 * @param updatedBefore last changed strictly before
 * @param retainedBefore retention ended strictly before (finished flows due for cleanup)
 * @param metadata plain metadata entries that must all match exactly
 * @param afterFlowId cursor: only flow ids strictly greater
 * @param limit at most this many results (1 to 10,000)
 */
public record QueryCriteria(
        @Nullable String flowName,
        @Nullable String awaitId,
        Set<FlowStatus> statuses,
        @Nullable String correlationId,
        @Nullable Instant createdAfter,
        @Nullable Instant createdBefore,
        @Nullable Instant deadlineBefore,
        @Nullable Instant deadlineAfter,
        @Nullable Instant updatedBefore,
        @Nullable Instant retainedBefore,
        Map<String, String> metadata,
        @Nullable String afterFlowId,
        int limit) {

    /** The largest page a query returns. */
    public static final int MAX_LIMIT = 10_000;

    /**
     * Validates and copies.
     *
     * @param flowName flow name filter
     * @param awaitId await id filter
     * @param statuses status filter
     * @param correlationId correlation id filter
     * @param createdAfter created at or after
     * @param createdBefore created before
     * @param deadlineBefore deadline before
     * @param deadlineAfter deadline at or after
     * @param updatedBefore updated before
     * @param retainedBefore retention ended before
     * @param metadata metadata filter
     * @param afterFlowId cursor
     * @param limit page size
     */
    public QueryCriteria {
        statuses = statuses.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(statuses));
        metadata = Map.copyOf(metadata);
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + ", was " + limit);
        }
    }

    /**
     * Starts a builder (no filters, limit 100).
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether a record passes every filter (cursor included, limit excluded). Stores without a query language
     * (in-memory, filesystem) use this; database stores translate the criteria into their own queries instead.
     *
     * @param r a record
     * @return whether it matches
     */
    public boolean matches(FlowRecord r) {
        if (flowName != null && !flowName.equals(r.flowName())) return false;
        if (!statuses.isEmpty() && !statuses.contains(r.status())) return false;
        if (correlationId != null && !correlationId.equals(r.correlationId())) return false;
        if (createdAfter != null && r.createdAt().isBefore(createdAfter)) return false;
        if (createdBefore != null && !r.createdAt().isBefore(createdBefore)) return false;
        if (deadlineBefore != null && (r.deadline() == null || !r.deadline().isBefore(deadlineBefore))) return false;
        if (deadlineAfter != null && (r.deadline() == null || r.deadline().isBefore(deadlineAfter))) return false;
        if (updatedBefore != null && !r.updatedAt().isBefore(updatedBefore)) return false;
        if (retainedBefore != null && (r.retainUntil() == null || !r.retainUntil().isBefore(retainedBefore))) {
            return false;
        }
        if (afterFlowId != null && r.id().compareTo(afterFlowId) <= 0) return false;
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (!e.getValue().equals(r.metadata().get(e.getKey()))) return false;
        }
        if (awaitId != null) {
            boolean found = false;
            for (WaitRecord w : r.waits()) {
                if (w.awaitId().equals(awaitId)) {
                    found = true;
                    break;
                }
            }
            if (!found) return false;
        }
        return true;
    }

    /** Builds {@link QueryCriteria}. */
    public static final class Builder {
        private @Nullable String flowName;
        private @Nullable String awaitId;
        private final Set<FlowStatus> statuses = EnumSet.noneOf(FlowStatus.class);
        private @Nullable String correlationId;
        private @Nullable Instant createdAfter;
        private @Nullable Instant createdBefore;
        private @Nullable Instant deadlineBefore;
        private @Nullable Instant deadlineAfter;
        private @Nullable Instant updatedBefore;
        private @Nullable Instant retainedBefore;
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private @Nullable String afterFlowId;
        private int limit = 100;

        private Builder() {}

        /**
         * Only flows of this name.
         *
         * @param flowName the name
         * @return this builder
         */
        public Builder flowName(String flowName) {
            this.flowName = Objects.requireNonNull(flowName);
            return this;
        }

        /**
         * Only flows with a wait of this id.
         *
         * @param awaitId the await id
         * @return this builder
         */
        public Builder awaitId(String awaitId) {
            this.awaitId = Objects.requireNonNull(awaitId);
            return this;
        }

        /**
         * Only flows in one of these statuses.
         *
         * @param statuses the statuses
         * @return this builder
         */
        public Builder status(FlowStatus... statuses) {
            this.statuses.addAll(Set.of(statuses));
            return this;
        }

        /**
         * Only the flow with this correlation id.
         *
         * @param correlationId the correlation id
         * @return this builder
         */
        public Builder correlationId(String correlationId) {
            this.correlationId = Objects.requireNonNull(correlationId);
            return this;
        }

        /**
         * Created at or after.
         *
         * @param t the instant
         * @return this builder
         */
        public Builder createdAfter(Instant t) {
            this.createdAfter = t;
            return this;
        }

        /**
         * Created strictly before.
         *
         * @param t the instant
         * @return this builder
         */
        public Builder createdBefore(Instant t) {
            this.createdBefore = t;
            return this;
        }

        /**
         * Earliest pending deadline strictly before.
         *
         * @param t the instant
         * @return this builder
         */
        public Builder deadlineBefore(Instant t) {
            this.deadlineBefore = t;
            return this;
        }

        /**
         * Earliest pending deadline at or after.
         *
         * @param t the instant
         * @return this builder
         */
        public Builder deadlineAfter(Instant t) {
            this.deadlineAfter = t;
            return this;
        }

        /**
         * Last changed strictly before.
         *
         * @param t the instant
         * @return this builder
         */
        public Builder updatedBefore(Instant t) {
            this.updatedBefore = t;
            return this;
        }

        /**
         * Retention ended strictly before (finished flows due for cleanup).
         *
         * @param t the instant
         * @return this builder
         */
        public Builder retainedBefore(Instant t) {
            this.retainedBefore = t;
            return this;
        }

        /**
         * A plain metadata entry that must match.
         *
         * @param key the key
         * @param value the value
         * @return this builder
         */
        public Builder metadata(String key, String value) {
            this.metadata.put(key, value);
            return this;
        }

        /**
         * Cursor: only flow ids strictly greater than this one (the last id of the previous page).
         *
         * @param flowId the last id seen
         * @return this builder
         */
        public Builder afterFlowId(String flowId) {
            this.afterFlowId = flowId;
            return this;
        }

        /**
         * At most this many results.
         *
         * @param limit 1 to {@link #MAX_LIMIT}
         * @return this builder
         */
        public Builder limit(int limit) {
            this.limit = limit;
            return this;
        }

        /**
         * Builds the criteria.
         *
         * @return the criteria
         */
        public QueryCriteria build() {
            return new QueryCriteria(
                    flowName, awaitId, statuses, correlationId, createdAfter, createdBefore, deadlineBefore,
                    deadlineAfter, updatedBefore, retainedBefore, metadata, afterFlowId, limit);
        }
    }
}
