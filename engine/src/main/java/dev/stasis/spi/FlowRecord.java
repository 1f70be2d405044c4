package dev.stasis.spi;

import dev.stasis.FlowStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One stored flow: sealed state plus the plain fields a store indexes. Immutable (the {@link #state()} array is not
 * copied: stores and the hub never mutate it).
 *
 * <p>Everything except {@link #state()} is stored <b>unencrypted</b>: ids, names, statuses, times, key
 * <em>hashes</em>, lease fields and the plain metadata. The state is an AES-256-GCM envelope whose associated data
 * binds it to {@link #id()}, {@link #flowName()}, {@link #flowVersion()} and {@link #version()}: a blob copied to
 * another record, or an older blob of the same record, does not open.
 *
 * @param id the flow id (time-ordered, 32 lowercase hex characters)
 * @param flowName the flow's name
 * @param flowVersion the flow's definition version
 * @param status the status
 * @param version the compare-and-set counter: 1 on insert, +1 on every change
 * @param createdAt when the flow started
 * @param updatedAt when the record last changed
 * @param deadline the earliest deadline among the pending waits of a suspended flow, or {@code null}
 * @param correlationId the unique correlation id, or {@code null}
 * @param waits the waits, pending ones and recent past ones
 * @param leaseOwner the hub instance running the flow, or {@code null}
 * @param leaseExpiresAt when that lease lapses, or {@code null}
 * @param retainUntil when a finished record may be removed by cleanup, or {@code null}
 * @param metadata plain metadata
 * @param state the sealed state
 */
public record FlowRecord(
        String id,
        String flowName,
        int flowVersion,
        FlowStatus status,
        long version,
        Instant createdAt,
        Instant updatedAt,
        @Nullable Instant deadline,
        @Nullable String correlationId,
        List<WaitRecord> waits,
        @Nullable String leaseOwner,
        @Nullable Instant leaseExpiresAt,
        @Nullable Instant retainUntil,
        Map<String, String> metadata,
        byte[] state) {

    /**
     * Validates and copies the collections.
     *
     * @param id id
     * @param flowName flow name
     * @param flowVersion flow version
     * @param status status
     * @param version version
     * @param createdAt created
     * @param updatedAt updated
     * @param deadline deadline
     * @param correlationId correlation id
     * @param waits waits
     * @param leaseOwner lease owner
     * @param leaseExpiresAt lease expiry
     * @param retainUntil retention
     * @param metadata metadata
     * @param state sealed state
     */
    public FlowRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(flowName, "flowName");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
        Objects.requireNonNull(state, "state");
        waits = List.copyOf(waits);
        metadata = Map.copyOf(metadata);
    }

    /**
     * The key hashes of all waits.
     *
     * @return the hashes, in wait order
     */
    public List<String> keyHashes() {
        List<String> hashes = new ArrayList<>(waits.size());
        for (WaitRecord w : waits) {
            hashes.add(w.keyHash());
        }
        return hashes;
    }

    /**
     * A builder holding this record's values, to derive the next version.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Starts an empty builder.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String toString() {
        return "FlowRecord[" + id + " " + flowName + " v" + flowVersion + " " + status + " #" + version + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FlowRecord r && id.equals(r.id) && version == r.version;
    }

    @Override
    public int hashCode() {
        return id.hashCode() * 31 + Long.hashCode(version);
    }

    /** Builds a {@link FlowRecord}. */
    public static final class Builder {
        private @Nullable String id;
        private @Nullable String flowName;
        private int flowVersion;
        private @Nullable FlowStatus status;
        private long version;
        private @Nullable Instant createdAt;
        private @Nullable Instant updatedAt;
        private @Nullable Instant deadline;
        private @Nullable String correlationId;
        private List<WaitRecord> waits = List.of();
        private @Nullable String leaseOwner;
        private @Nullable Instant leaseExpiresAt;
        private @Nullable Instant retainUntil;
        private Map<String, String> metadata = Map.of();
        private byte @Nullable [] state;

        private Builder() {}

        private Builder(FlowRecord r) {
            id = r.id;
            flowName = r.flowName;
            flowVersion = r.flowVersion;
            status = r.status;
            version = r.version;
            createdAt = r.createdAt;
            updatedAt = r.updatedAt;
            deadline = r.deadline;
            correlationId = r.correlationId;
            waits = r.waits;
            leaseOwner = r.leaseOwner;
            leaseExpiresAt = r.leaseExpiresAt;
            retainUntil = r.retainUntil;
            metadata = r.metadata;
            state = r.state;
        }

        /** @param v the id @return this builder */
        public Builder id(String v) { id = v; return this; }
        /** @param v the flow name @return this builder */
        public Builder flowName(String v) { flowName = v; return this; }
        /** @param v the flow version @return this builder */
        public Builder flowVersion(int v) { flowVersion = v; return this; }
        /** @param v the status @return this builder */
        public Builder status(FlowStatus v) { status = v; return this; }
        /** @param v the record version @return this builder */
        public Builder version(long v) { version = v; return this; }
        /** @param v created @return this builder */
        public Builder createdAt(Instant v) { createdAt = v; return this; }
        /** @param v updated @return this builder */
        public Builder updatedAt(Instant v) { updatedAt = v; return this; }
        /** @param v earliest pending deadline @return this builder */
        public Builder deadline(@Nullable Instant v) { deadline = v; return this; }
        /** @param v correlation id @return this builder */
        public Builder correlationId(@Nullable String v) { correlationId = v; return this; }
        /** @param v waits @return this builder */
        public Builder waits(List<WaitRecord> v) { waits = v; return this; }
        /** @param v lease owner @return this builder */
        public Builder leaseOwner(@Nullable String v) { leaseOwner = v; return this; }
        /** @param v lease expiry @return this builder */
        public Builder leaseExpiresAt(@Nullable Instant v) { leaseExpiresAt = v; return this; }
        /** @param v retention end @return this builder */
        public Builder retainUntil(@Nullable Instant v) { retainUntil = v; return this; }
        /** @param v metadata @return this builder */
        public Builder metadata(Map<String, String> v) { metadata = v; return this; }
        /** @param v sealed state @return this builder */
        public Builder state(byte[] v) { state = v; return this; }

        /**
         * Builds the record.
         *
         * @return the record
         * @throws NullPointerException when a required field is missing
         */
        public FlowRecord build() {
            return new FlowRecord(
                    Objects.requireNonNull(id, "id"), Objects.requireNonNull(flowName, "flowName"), flowVersion,
                    Objects.requireNonNull(status, "status"), version, Objects.requireNonNull(createdAt, "createdAt"),
                    Objects.requireNonNull(updatedAt, "updatedAt"), deadline, correlationId, waits, leaseOwner,
                    leaseExpiresAt, retainUntil, metadata, Objects.requireNonNull(state, "state"));
        }
    }
}
