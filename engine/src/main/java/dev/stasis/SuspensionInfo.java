package dev.stasis;

import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What {@link PersistenceHub#query} returns for a stored flow: its plain index fields only. The sealed state is
 * not opened, and no key is included.
 *
 * @param flowId the flow id
 * @param flowName the flow name
 * @param flowVersion the flow version
 * @param status the status
 * @param correlationId the correlation id, or null
 * @param createdAt when the flow was started
 * @param updatedAt when the record last changed
 * @param deadline the earliest pending deadline, or null
 * @param waits the waits with their await ids, deadlines and status (no keys)
 * @param metadata plain metadata
 */
public record SuspensionInfo(
        String flowId,
        String flowName,
        int flowVersion,
        FlowStatus status,
        @Nullable String correlationId,
        Instant createdAt,
        Instant updatedAt,
        @Nullable Instant deadline,
        List<WaitInfo> waits,
        Map<String, String> metadata) {

    /**
     * Copies the collections.
     *
     * @param flowId the flow id
     * @param flowName the flow name
     * @param flowVersion the flow version
     * @param status the status
     * @param correlationId the correlation id
     * @param createdAt created
     * @param updatedAt updated
     * @param deadline earliest deadline
     * @param waits the waits
     * @param metadata metadata
     */
    public SuspensionInfo {
        waits = List.copyOf(waits);
        metadata = Map.copyOf(metadata);
    }

    /**
     * Builds the info from a record's plain fields.
     *
     * @param r the record
     * @return the info
     */
    public static SuspensionInfo of(FlowRecord r) {
        return new SuspensionInfo(
                r.id(), r.flowName(), r.flowVersion(), r.status(), r.correlationId(), r.createdAt(), r.updatedAt(),
                r.deadline(),
                r.waits().stream()
                        .map(w -> new WaitInfo(w.awaitId(), w.deadline(), w.status()))
                        .toList(),
                r.metadata());
    }

    /**
     * One wait of a flow, without its key.
     *
     * @param awaitId the await id
     * @param deadline the deadline or null
     * @param status pending, resolved or closed
     */
    public record WaitInfo(String awaitId, @Nullable Instant deadline, WaitRecord.Status status) {}
}
