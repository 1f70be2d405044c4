package dev.stasis;

import java.util.List;

/**
 * What a {@link PersistenceHub#cleanup} removed.
 *
 * @param deleted how many records were removed
 * @param errors what went wrong, one line per failed batch (empty when all went well)
 */
public record CleanupReport(long deleted, List<String> errors) {

    /**
     * Copies the errors.
     *
     * @param deleted removed records
     * @param errors failures
     */
    public CleanupReport {
        errors = List.copyOf(errors);
    }
}
