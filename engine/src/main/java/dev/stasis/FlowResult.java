package dev.stasis;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link PersistenceHub#start} or {@link PersistenceHub#resume} call produced: the flow
 * {@link Completed completed}, {@link Suspended suspended} at one or more waits, or {@link Failed failed}.
 * Suspension is a value, not an error.
 */
public sealed interface FlowResult permits FlowResult.Completed, FlowResult.Suspended, FlowResult.Failed {

    /**
     * The flow this result belongs to.
     *
     * @return the flow id
     */
    String flowId();

    /**
     * The stored status this result stands for.
     *
     * @return the status
     */
    FlowStatus status();

    /**
     * The flow finished with an output.
     *
     * @param flowId the flow id
     * @param output the output, or {@code null} when the flow completed empty
     */
    record Completed(String flowId, @Nullable Object output) implements FlowResult {

        /**
         * The output cast to its type.
         *
         * @param type the flow's output class
         * @param <T> the output type
         * @return the output, or {@code null}
         */
        public <T> @Nullable T output(Class<T> type) {
            return type.cast(output);
        }

        @Override
        public FlowStatus status() {
            return FlowStatus.COMPLETED;
        }
    }

    /**
     * The flow is waiting for input.
     *
     * @param flowId the flow id
     * @param waits the open waits; a wait created by this call carries its key
     * @param expiresAt the earliest deadline among the waits, or {@code null}
     */
    record Suspended(String flowId, List<WaitHandle> waits, @Nullable Instant expiresAt) implements FlowResult {

        /**
         * Copies the waits.
         *
         * @param flowId the flow id
         * @param waits the open waits
         * @param expiresAt the earliest deadline
         */
        public Suspended {
            waits = List.copyOf(waits);
        }

        /**
         * The keys handed out by this call, in wait order.
         *
         * @return the keys; empty when this result reports waits created by an earlier call
         */
        public List<String> keys() {
            return waits.stream().map(WaitHandle::key).filter(Objects::nonNull).toList();
        }

        /**
         * The key of the first wait, for the common single-wait case.
         *
         * @return the key
         * @throws IllegalStateException when this result carries no key
         */
        public String key() {
            List<String> keys = keys();
            if (keys.isEmpty()) {
                throw new IllegalStateException("this result carries no key (the waits were created earlier)");
            }
            return keys.get(0);
        }

        @Override
        public FlowStatus status() {
            return FlowStatus.SUSPENDED;
        }
    }

    /**
     * The flow ended without an output: its body failed, it was cancelled, or it expired.
     *
     * @param flowId the flow id
     * @param status {@code FAILED}, {@code CANCELLED} or {@code EXPIRED}
     * @param errorType the error's class name (or the reason's kind)
     * @param message the error's message
     */
    record Failed(String flowId, FlowStatus status, String errorType, String message) implements FlowResult {}
}
