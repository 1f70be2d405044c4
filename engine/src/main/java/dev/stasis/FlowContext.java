package dev.stasis;

import java.util.List;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * What a flow body uses to do side effects and to wait. One context serves one run (the first run or a replay).
 *
 * <p><b>Step identity.</b> A step or wait is identified by its name plus its occurrence: the n-th call of
 * {@code step("charge", …)} in a run is {@code charge#n}. A loop that awaits three times therefore has three
 * distinct waits. The occurrence is counted when the method is <em>called</em>, so concurrent branches
 * ({@code flatMap} over several items) must give each item's steps a distinct name (for example
 * {@code "charge-" + item.id()}), because their call order can differ between runs.
 *
 * <p><b>Replay.</b> A step whose result is in the journal returns the recorded value without running again. A
 * step that fails is not journaled: it runs again on the next replay. A replay that asks for a different kind of
 * entry than the journal holds, or that leaves recorded entries unreplayed, fails with
 * {@link NonDeterministicFlowException}.
 *
 * <p><b>Side effects belong in steps.</b> Code between steps and waits runs again on every replay, and after a wait
 * it may run in several concurrent resumes of the same key before one of them wins: the winning resume's claim is
 * made durable just before its first new step (or with its outcome when it reaches the next wait or its end without
 * one), so only a step is guaranteed to run after the claim and not for the resumes that lose.
 */
public interface FlowContext {

    /**
     * The id of the flow this run belongs to.
     *
     * @return the flow id (time-ordered, 32 hex characters)
     */
    String flowId();

    /**
     * The correlation id the flow was started with.
     *
     * @return the correlation id, or {@code null}
     */
    @Nullable
    String correlationId();

    /**
     * A journaled side effect: runs {@code action} once, records its value, and returns the recorded value on
     * every later replay without running it again.
     *
     * @param name the step's name (with its occurrence, its identity)
     * @param type the value's class, used to read the recorded JSON back
     * @param action the side effect, subscribed at most once per successful completion
     * @param <T> the value type
     * @return the value; empty when the action completed empty (recorded as such)
     */
    <T> Mono<T> step(String name, Class<T> type, Supplier<? extends Mono<? extends T>> action);

    /**
     * A journaled synchronous, non-blocking computation: like {@link #step} for a value computed in place
     * (a random id, the current time, a decision that must not change on replay).
     *
     * @param name the step's name
     * @param type the value's class
     * @param action computes the value; may return {@code null} for an empty result
     * @param <T> the value type
     * @return the value
     */
    default <T> Mono<T> stepValue(String name, Class<T> type, Supplier<? extends @Nullable T> action) {
        return step(name, type, () -> Mono.justOrEmpty(action.get()));
    }

    /**
     * Waits for one input. When the input is already in the journal (a resume) or supplied at start
     * ({@link StartOptions#inputs()}), it is returned; otherwise the flow suspends here: the hub persists the
     * journal and hands out one resume key for this wait.
     *
     * @param wait the wait's definition
     * @param <T> the input type
     * @return the input; the wait's default value when it timed out with one; {@link AwaitTimeoutException}
     *     when it timed out without one
     */
    <T> Mono<T> await(AwaitInput<T> wait);

    /**
     * Waits for all of several inputs: one suspension, one key per wait. Each resume records its input; the flow
     * continues once every wait has one. A wait that times out contributes its default value, or fails the group
     * with {@link AwaitTimeoutException} when it has none.
     *
     * @param waits the waits, with distinct ids
     * @return the inputs
     */
    Mono<AwaitResults> awaitAll(List<? extends AwaitInput<?>> waits);

    /**
     * Waits for the first of several inputs: one suspension, one key per wait; the first resume continues the
     * flow and the other keys stop working.
     *
     * @param waits the waits, with distinct ids
     * @return the input that arrived (exactly one)
     */
    Mono<AwaitResults> awaitAny(List<? extends AwaitInput<?>> waits);

    /**
     * Waits for {@code required} of several inputs ("two of three approvers"): one suspension, one key per wait;
     * the flow continues as soon as {@code required} inputs arrived. When timeouts make the quorum unreachable the
     * group fails with {@link AwaitTimeoutException}.
     *
     * @param required how many inputs are needed, between 1 and {@code waits.size()}
     * @param waits the waits, with distinct ids
     * @return the inputs that arrived
     */
    Mono<AwaitResults> awaitQuorum(int required, List<? extends AwaitInput<?>> waits);
}
