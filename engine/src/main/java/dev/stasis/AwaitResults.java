package dev.stasis;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The inputs a group wait ({@link FlowContext#awaitAll}, {@link FlowContext#awaitAny},
 * {@link FlowContext#awaitQuorum}) received, by await id.
 */
public final class AwaitResults {

    private final Map<String, Object> values;

    /**
     * Creates results; used by the engine.
     *
     * @param values the inputs by await id, in arrival order
     */
    public AwaitResults(Map<String, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /**
     * The input of one wait.
     *
     * @param wait the wait
     * @param <T> its input type
     * @return the input, or empty when that wait did not contribute
     */
    public <T> Optional<T> get(AwaitInput<T> wait) {
        return Optional.ofNullable(values.get(wait.id())).map(wait.inputType()::cast);
    }

    /**
     * The input of one wait that must be present.
     *
     * @param wait the wait
     * @param <T> its input type
     * @return the input
     * @throws IllegalStateException when that wait did not contribute
     */
    public <T> T require(AwaitInput<T> wait) {
        return get(wait).orElseThrow(() -> new IllegalStateException("no input for wait '" + wait.id() + "'"));
    }

    /**
     * The ids of the waits that contributed, in arrival order.
     *
     * @return the await ids
     */
    public Set<String> awaitIds() {
        return values.keySet();
    }

    /**
     * How many waits contributed.
     *
     * @return the count
     */
    public int size() {
        return values.size();
    }

    @Override
    public String toString() {
        return "AwaitResults" + values.keySet();
    }
}
