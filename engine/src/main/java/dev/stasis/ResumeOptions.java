package dev.stasis;

import org.jspecify.annotations.Nullable;

/**
 * Options for {@link PersistenceHub#resume(String, Object, ResumeOptions)}.
 *
 * @param idempotencyKey a caller-chosen id of this delivery (an {@code Idempotency-Key} or {@code webhook-id}
 *     header): a resume that carries the winner's idempotency key receives the winner's result instead of
 *     {@link AlreadyResumedException}. Only its SHA-256 is stored.
 */
public record ResumeOptions(@Nullable String idempotencyKey) {

    /**
     * No options.
     *
     * @return options without idempotency key
     */
    public static ResumeOptions none() {
        return new ResumeOptions(null);
    }

    /**
     * Options with an idempotency key.
     *
     * @param idempotencyKey the delivery's id
     * @return the options
     */
    public static ResumeOptions idempotencyKey(String idempotencyKey) {
        return new ResumeOptions(idempotencyKey);
    }
}
