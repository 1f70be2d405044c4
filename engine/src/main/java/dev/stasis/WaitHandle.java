package dev.stasis;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One wait of a suspended flow, as handed to the caller.
 *
 * <p>The {@link #key()} is present only in the result of the call that created the wait (and in the replayed
 * result of an idempotent duplicate of that call); the store keeps only its SHA-256. {@link #toString()} never
 * shows the key.
 *
 * @param awaitId the wait's id
 * @param name the wait's human-readable name
 * @param description the wait's description
 * @param key the resume key (a bearer capability: hand it only to whoever may resume), or {@code null}
 * @param deadline when the wait times out, or {@code null}
 * @param metadata the wait's plain metadata
 */
public record WaitHandle(
        String awaitId,
        String name,
        String description,
        @Nullable String key,
        @Nullable Instant deadline,
        Map<String, String> metadata) {

    /**
     * Copies the metadata.
     *
     * @param awaitId the wait's id
     * @param name the name
     * @param description the description
     * @param key the key or null
     * @param deadline the deadline or null
     * @param metadata the metadata
     */
    public WaitHandle {
        metadata = Map.copyOf(metadata);
    }

    @Override
    public String toString() {
        return "WaitHandle[" + awaitId + (key == null ? "" : ", key=<redacted>")
                + (deadline == null ? "" : ", deadline=" + deadline) + "]";
    }
}
