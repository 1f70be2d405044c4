package dev.stasis.spi;

import dev.stasis.StorageException;

/**
 * Signalled by {@link StateStore#insert} when a record with the same flow id, the same correlation id or one of the
 * same key hashes already exists. The hub turns a correlation-id conflict into an idempotent start.
 */
public class DuplicateRecordException extends StorageException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the error.
     *
     * @param message which unique field conflicted (never a key)
     */
    public DuplicateRecordException(String message) {
        super(message);
    }

    /**
     * Creates the error with the driver's cause.
     *
     * @param message which unique field conflicted
     * @param cause the driver's error
     */
    public DuplicateRecordException(String message, Throwable cause) {
        super(message, cause);
    }
}
