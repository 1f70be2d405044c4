package dev.stasis;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Options for {@link PersistenceHub#start(Flow, Object, StartOptions)}.
 *
 * @param correlationId makes start idempotent: a second start with the same id returns the existing flow (for
 *     example {@code "return-" + orderId}); {@code null} for none
 * @param inputs inputs supplied up front by await id (the supervisor pattern): the first occurrence of an await
 *     with such an id returns the input instead of suspending
 * @param metadata plain (unencrypted, queryable) metadata for the flow record
 */
public record StartOptions(@Nullable String correlationId, Map<String, Object> inputs, Map<String, String> metadata) {

    /**
     * Copies the maps.
     *
     * @param correlationId the correlation id or null
     * @param inputs inputs by await id
     * @param metadata plain metadata
     */
    public StartOptions {
        inputs = Map.copyOf(inputs);
        metadata = Map.copyOf(metadata);
    }

    /**
     * No options.
     *
     * @return options without correlation id, inputs or metadata
     */
    public static StartOptions none() {
        return new StartOptions(null, Map.of(), Map.of());
    }

    /**
     * Options with a correlation id.
     *
     * @param correlationId the correlation id
     * @return the options
     */
    public static StartOptions correlationId(String correlationId) {
        return new StartOptions(Objects.requireNonNull(correlationId), Map.of(), Map.of());
    }

    /**
     * These options with one more up-front input.
     *
     * @param awaitId the await id
     * @param input its input
     * @return new options
     */
    public StartOptions withInput(String awaitId, Object input) {
        Map<String, Object> copy = new LinkedHashMap<>(inputs);
        copy.put(awaitId, input);
        return new StartOptions(correlationId, copy, metadata);
    }

    /**
     * These options with one more metadata entry.
     *
     * @param key the key
     * @param value the value
     * @return new options
     */
    public StartOptions withMetadata(String key, String value) {
        Map<String, String> copy = new LinkedHashMap<>(metadata);
        copy.put(key, value);
        return new StartOptions(correlationId, inputs, copy);
    }
}
