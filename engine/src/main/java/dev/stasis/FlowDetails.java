package dev.stasis;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A stored flow with its open waits described from the sealed state: what an approval inbox shows. Carries no key
 * and no journal.
 *
 * @param info the plain fields
 * @param waits the waits of the open group (pending and already answered ones)
 */
public record FlowDetails(SuspensionInfo info, List<Wait> waits) {

    /**
     * Copies the waits.
     *
     * @param info the plain fields
     * @param waits the waits
     */
    public FlowDetails {
        waits = List.copyOf(waits);
    }

    /**
     * One wait of the open group.
     *
     * @param awaitId the await id
     * @param name the human-readable name
     * @param description the description
     * @param schema the JSON schema its input must satisfy
     * @param deadline the deadline, or null
     * @param metadata plain metadata
     * @param status pending, resolved, timed out or closed
     */
    public record Wait(
            String awaitId,
            String name,
            String description,
            @Nullable JsonNode schema,
            @Nullable Instant deadline,
            Map<String, String> metadata,
            dev.stasis.spi.WaitRecord.Status status) {

        /**
         * Copies the metadata.
         *
         * @param awaitId the await id
         * @param name the name
         * @param description the description
         * @param schema the schema
         * @param deadline the deadline
         * @param metadata the metadata
         * @param status the status
         */
        public Wait {
            metadata = Map.copyOf(metadata);
        }
    }
}
