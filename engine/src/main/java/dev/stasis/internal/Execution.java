package dev.stasis.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.stasis.AwaitInput;
import dev.stasis.AwaitResults;
import dev.stasis.AwaitTimeoutException;
import dev.stasis.Flow;
import dev.stasis.FlowContext;
import dev.stasis.NonDeterministicFlowException;
import dev.stasis.internal.FlowState.JournalEntry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * One run of a flow body: the {@link FlowContext} it sees, with journaled replay.
 *
 * <p>Journal entries are matched by identity (kind, name, occurrence). A replay fails with
 * {@link NonDeterministicFlowException} when an identity names a different kind of entry than recorded, when a
 * recorded value no longer reads as the requested type, or when the flow completes while recorded entries were
 * never replayed. The first wait that has no input registers the suspension; every later step or wait of the run
 * then unwinds with the same signal instead of running.
 */
public final class Execution implements FlowContext {

    private final String flowId;
    private final @Nullable String correlationId;
    private final ObjectMapper mapper;
    private final Map<String, JournalEntry> recorded = new LinkedHashMap<>();
    private final Set<String> consumed = ConcurrentHashMap.newKeySet();
    private final List<JournalEntry> appended = new ArrayList<>();
    private final Map<String, AtomicInteger> occurrences = new ConcurrentHashMap<>();
    private final Map<String, JsonNode> injected;
    private final SuspendSignal signal = new SuspendSignal();
    private volatile @Nullable Suspension suspension;
    private volatile @Nullable NonDeterministicFlowException divergence;
    private final @Nullable Function<Execution, Mono<Void>> checkpointer;
    private final @Nullable Supplier<Mono<Void>> beforeNewStep;

    /**
     * Prepares a run.
     *
     * @param flowId the flow id
     * @param correlationId the correlation id or null
     * @param state the state whose journal and up-front inputs the run replays (not modified)
     * @param mapper the mapper for values
     */
    public Execution(String flowId, @Nullable String correlationId, FlowState state, ObjectMapper mapper) {
        this(flowId, correlationId, state, mapper, null, null);
    }

    /**
     * Prepares a run that may checkpoint its journal after every new step, and whose new steps may wait for a gate
     * before their action runs.
     *
     * @param flowId the flow id
     * @param correlationId the correlation id or null
     * @param state the state whose journal and up-front inputs the run replays (not modified)
     * @param mapper the mapper for values
     * @param checkpointer writes the journal durably after every new step (the step's value is emitted only after it
     *     completes), or null
     * @param beforeNewStep subscribed before the action of every step that is not replayed from the journal (the
     *     hub makes a deferred claim durable there); an error from it fails the step without running its action.
     *     Replayed steps, waits and the code between them do not pass through it. Null for no gate.
     */
    public Execution(
            String flowId, @Nullable String correlationId, FlowState state, ObjectMapper mapper,
            @Nullable Function<Execution, Mono<Void>> checkpointer, @Nullable Supplier<Mono<Void>> beforeNewStep) {
        this.checkpointer = checkpointer;
        this.beforeNewStep = beforeNewStep;
        this.flowId = flowId;
        this.correlationId = correlationId;
        this.mapper = mapper;
        for (JournalEntry e : state.journal) {
            recorded.put(e.id, e);
        }
        this.injected = new ConcurrentHashMap<>(state.injected);
    }

    /**
     * Runs the flow body and classifies the outcome. Never signals an error.
     *
     * @param flow the definition
     * @param input the input
     * @param <I> input type
     * @param <O> output type
     * @return the outcome
     */
    public <I, O> Mono<Outcome> run(Flow<I, O> flow, I input) {
        return Mono.defer(() -> flow.function().apply(this, input))
                .map(v -> Outcome.completed(mapper.valueToTree(v)))
                .defaultIfEmpty(Outcome.completed(null))
                .onErrorResume(e -> Mono.just(Outcome.failed(e)))
                .map(this::classify);
    }

    private Outcome classify(Outcome raw) {
        NonDeterministicFlowException d = divergence;
        if (d != null) {
            return Outcome.failed(d);
        }
        Suspension s = suspension;
        if (s != null) {
            return Outcome.suspended(s);
        }
        if (raw.kind() == Outcome.Kind.COMPLETED) {
            Set<String> missing = new TreeSet<>(recorded.keySet());
            missing.removeAll(consumed);
            if (!missing.isEmpty()) {
                return Outcome.failed(new NonDeterministicFlowException(
                        "flow " + flowId + " completed without replaying its recorded entries " + missing
                                + ": the flow's code changed the order of its steps or waits; register the old"
                                + " version for flows suspended under it"));
            }
        }
        return raw;
    }

    /**
     * The journal after this run: the recorded entries followed by the ones this run added.
     *
     * @return the entries
     */
    public List<JournalEntry> journal() {
        List<JournalEntry> all = new ArrayList<>(recorded.values());
        synchronized (appended) {
            all.addAll(appended);
        }
        return all;
    }

    /**
     * The up-front inputs this run did not consume.
     *
     * @return by await id
     */
    public Map<String, JsonNode> remainingInjected() {
        return new LinkedHashMap<>(injected);
    }

    @Override
    public String flowId() {
        return flowId;
    }

    @Override
    public @Nullable String correlationId() {
        return correlationId;
    }

    @Override
    public <T> Mono<T> step(String name, Class<T> type, Supplier<? extends Mono<? extends T>> action) {
        String id = identity("step:" + name);
        return Mono.defer(() -> {
            if (suspension != null) {
                return Mono.error(signal);
            }
            JournalEntry e = recorded.get(id);
            if (e != null) {
                if (!"step".equals(e.kind)) {
                    return diverge("step " + id + " replays a recorded " + e.kind);
                }
                consumed.add(id);
                if (e.value == null || e.value.isNull()) {
                    return Mono.empty();
                }
                try {
                    return Mono.just(mapper.treeToValue(e.value, type));
                } catch (JsonProcessingException ex) {
                    return diverge("recorded value of " + id + " does not read as " + type.getName());
                }
            }
            Mono<T> executed = Mono.<T>defer(() -> castMono(action.get()))
                    .map(v -> {
                        record(JournalEntry.step(id, mapper.valueToTree(v)));
                        return v;
                    })
                    .switchIfEmpty(Mono.fromRunnable(() -> record(JournalEntry.step(id, null))));
            Supplier<Mono<Void>> gate = beforeNewStep;
            if (gate != null) {
                executed = Mono.defer(gate).then(executed);
            }
            Function<Execution, Mono<Void>> cp = checkpointer;
            if (cp == null) {
                return executed;
            }
            return executed
                    .flatMap(v -> cp.apply(this).thenReturn(v))
                    .switchIfEmpty(Mono.defer(() -> cp.apply(this)).then(Mono.empty()));
        });
    }

    @SuppressWarnings("unchecked")
    private static <T> Mono<T> castMono(Mono<? extends T> mono) {
        return (Mono<T>) mono;
    }

    @Override
    public <T> Mono<T> await(AwaitInput<T> wait) {
        return group("await:" + wait.id(), 1, List.of(wait))
                .flatMap(results -> Mono.justOrEmpty(results.get(wait)));
    }

    @Override
    public Mono<AwaitResults> awaitAll(List<? extends AwaitInput<?>> waits) {
        return group("all:" + ids(waits), waits.size(), waits);
    }

    @Override
    public Mono<AwaitResults> awaitAny(List<? extends AwaitInput<?>> waits) {
        return group("any:" + ids(waits), 1, waits);
    }

    @Override
    public Mono<AwaitResults> awaitQuorum(int required, List<? extends AwaitInput<?>> waits) {
        if (required < 1 || required > waits.size()) {
            throw new IllegalArgumentException("quorum must be between 1 and " + waits.size() + ", was " + required);
        }
        return group("quorum" + required + ":" + ids(waits), required, waits);
    }

    private static String ids(List<? extends AwaitInput<?>> waits) {
        if (waits.isEmpty()) {
            throw new IllegalArgumentException("a wait group needs at least one wait");
        }
        Set<String> seen = new HashSet<>();
        StringBuilder sb = new StringBuilder();
        for (AwaitInput<?> w : waits) {
            if (!seen.add(w.id())) {
                throw new IllegalArgumentException("duplicate await id in a group: " + w.id());
            }
            if (sb.length() > 0) sb.append('+');
            sb.append(w.id());
        }
        return sb.toString();
    }

    private Mono<AwaitResults> group(String base, int required, List<? extends AwaitInput<?>> waits) {
        String id = identity(base);
        return Mono.defer(() -> {
            if (suspension != null) {
                return Mono.error(signal);
            }
            JournalEntry e = recorded.get(id);
            if (e != null) {
                if (!"await".equals(e.kind)) {
                    return diverge("wait " + id + " replays a recorded " + e.kind);
                }
                consumed.add(id);
                return results(id, e, required, waits);
            }
            Map<String, JsonNode> early = new LinkedHashMap<>();
            for (AwaitInput<?> w : waits) {
                JsonNode given = injected.remove(w.id());
                if (given != null) {
                    early.put(w.id(), given);
                }
            }
            if (early.size() >= required) {
                JournalEntry entry = JournalEntry.await(id, early, List.of());
                record(entry);
                return results(id, entry, required, waits);
            }
            synchronized (this) {
                if (suspension == null) {
                    suspension = new Suspension(id, required, List.copyOf(waits), early);
                }
            }
            return Mono.error(signal);
        });
    }

    private Mono<AwaitResults> results(String id, JournalEntry e, int required, List<? extends AwaitInput<?>> waits) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, JsonNode> inputs = e.inputs == null ? Map.of() : e.inputs;
        for (Map.Entry<String, JsonNode> in : inputs.entrySet()) {
            AwaitInput<?> w = find(waits, in.getKey());
            if (w == null) {
                return diverge("recorded wait " + id + " has an input for unknown await id '" + in.getKey() + "'");
            }
            JsonNode node = in.getValue() == null ? NullNode.getInstance() : in.getValue();
            if (node.isNull()) {
                continue;
            }
            try {
                values.put(in.getKey(), mapper.treeToValue(node, w.inputType()));
            } catch (JsonProcessingException ex) {
                return diverge("recorded input of " + id + " does not read as " + w.inputType().getName());
            }
        }
        if (inputs.size() < required) {
            List<String> timedOut = e.timedOut == null ? List.of() : e.timedOut;
            String which = timedOut.isEmpty() ? waits.get(0).id() : timedOut.get(0);
            return Mono.error(new AwaitTimeoutException(which));
        }
        return Mono.just(new dev.stasis.AwaitResults(values));
    }

    private static @Nullable AwaitInput<?> find(List<? extends AwaitInput<?>> waits, String awaitId) {
        for (AwaitInput<?> w : waits) {
            if (w.id().equals(awaitId)) return w;
        }
        return null;
    }

    private <T> Mono<T> diverge(String message) {
        NonDeterministicFlowException ex = new NonDeterministicFlowException(
                "replay of flow " + flowId + " diverged from its journal: " + message);
        if (divergence == null) {
            divergence = ex;
        }
        return Mono.error(ex);
    }

    private String identity(String base) {
        int n = occurrences.computeIfAbsent(base, k -> new AtomicInteger()).getAndIncrement();
        return base + "#" + n;
    }

    private void record(JournalEntry entry) {
        synchronized (appended) {
            appended.add(entry);
        }
    }

    /**
     * The wait group a run stopped at.
     *
     * @param id the journal identity the group will resolve
     * @param required how many inputs decide it
     * @param waits the waits
     * @param early inputs already supplied up front for some of the waits
     */
    public record Suspension(String id, int required, List<AwaitInput<?>> waits, Map<String, JsonNode> early) {}

    /**
     * How a run ended.
     *
     * @param kind completed, suspended or failed
     * @param output the output of a completed run (null for empty)
     * @param suspension the group of a suspended run
     * @param error the error of a failed run
     */
    public record Outcome(
            Kind kind, @Nullable JsonNode output, @Nullable Suspension suspension, @Nullable Throwable error) {

        /** The kinds of outcome. */
        public enum Kind {
            /** The body produced its output. */
            COMPLETED,
            /** The body stopped at a wait. */
            SUSPENDED,
            /** The body failed. */
            FAILED
        }

        static Outcome completed(@Nullable JsonNode output) {
            return new Outcome(Kind.COMPLETED, output, null, null);
        }

        static Outcome suspended(Suspension s) {
            return new Outcome(Kind.SUSPENDED, null, s, null);
        }

        static Outcome failed(Throwable e) {
            return new Outcome(Kind.FAILED, null, null, e);
        }
    }
}
