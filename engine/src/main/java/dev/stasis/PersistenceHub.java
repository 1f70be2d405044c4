package dev.stasis;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.stasis.internal.Execution;
import dev.stasis.internal.FlowIds;
import dev.stasis.internal.FlowState;
import dev.stasis.internal.FlowState.JournalEntry;
import dev.stasis.internal.FlowState.PendingGroup;
import dev.stasis.internal.FlowState.PendingWait;
import dev.stasis.internal.FlowState.StoredResult;
import dev.stasis.internal.FlowState.StoredWait;
import dev.stasis.internal.InputSchema;
import dev.stasis.internal.Json;
import dev.stasis.internal.StateCodec;
import dev.stasis.security.AeadCipher;
import dev.stasis.security.EnvelopeSealer;
import dev.stasis.security.KeyRing;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import dev.stasis.spi.WaitRecord;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The one object an application holds: starts flows, resumes them by key, queries, cleans up and cancels. Every
 * method returns a lazy {@code Mono}/{@code Flux} and never blocks the caller's thread.
 *
 * <pre>{@code
 * PersistenceHub hub = PersistenceHub.builder(store, KeyRing.fromEnvironment()).register(purchase).build();
 * hub.start(purchase, order)                       // Suspended(keys…) once the suspension is durable
 *    .flatMap(r -> hub.resume(key, approval))      // exactly one resume of a key wins
 * }</pre>
 *
 * <p><b>Guarantees</b> (proved on every store by the backend TCK):
 * <ol>
 *   <li>A key is handed out only after its suspension is durable in the store.</li>
 *   <li>Exactly one resume of a key wins; the others get {@link AlreadyResumedException}, except those carrying the
 *       winner's idempotency key, which get the winner's result.</li>
 *   <li>Input that fails the wait's schema gets {@link InputValidationException}; nothing changes.</li>
 *   <li>The resume input is written durably when the wait is claimed (with a lease), before the flow runs any step
 *       after the wait. The claim is written just before the first new step; when the resumed segment reaches its
 *       next wait, its completion or a failure without running a step, the claim and that outcome are one write (a
 *       crash before it leaves the wait open and its key working, as if the resume had not arrived).</li>
 *   <li>A record whose sealed bytes were changed, truncated or swapped fails with {@link StateIntegrityException}
 *       and is never executed.</li>
 *   <li>A flow suspended under version N resumes under version N; if N is not registered the resume fails with
 *       {@link FlowDefinitionNotFoundException} and the flow stays suspended.</li>
 * </ol>
 *
 * <p>Flows that complete or fail without ever suspending and without a correlation id are not stored (there is no
 * key that could ask about them later). Completed, failed, cancelled and expired flows are kept for
 * {@link Builder#retention(Duration)} so that a late duplicate resume gets a clear answer; {@link #cleanup} removes
 * them afterwards.
 */
public final class PersistenceHub {

    private static final Logger log = LoggerFactory.getLogger(PersistenceHub.class);
    private static final int MAX_CAS_ATTEMPTS = 32;
    private static final int MAX_WAIT_HISTORY = 64;
    private static final int MAX_STORED_RESULTS = 32;

    private final StateStore store;
    private final FlowRegistry registry;
    private final StateCodec codec;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final String instanceId;
    private final Duration retention;
    private final Duration leaseDuration;
    private final Duration leaseRenewEvery;
    private final LeaseKeeper leaseKeeper = new LeaseKeeper();
    private final Duration runningWait;
    private final Duration pollInterval;
    private final Scheduler timer;
    private final int sweepConcurrency;
    private final Sinks.Many<FlowEvent> events = Sinks.many().multicast().directBestEffort();
    private final Mono<Void> provisioned;
    private final Map<String, Inflight> inflight = new ConcurrentHashMap<>();
    private static final int MAX_WARNED = 10_000;
    /** The most records one sweep read asks for when it has to look past records this hub cannot run. */
    public static final int MAX_SWEEP_WINDOW = 10_000;
    private final java.util.concurrent.atomic.AtomicBoolean windowWarned = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.Set<String> warnedUnregistered = ConcurrentHashMap.newKeySet();

    private PersistenceHub(Builder b) {
        this.store = b.store;
        this.registry = b.registry;
        this.mapper = b.mapper == null ? Json.defaultMapper() : b.mapper;
        AeadCipher cipher = b.cipher == null ? AeadCipher.jce() : b.cipher;
        this.codec = new StateCodec(new EnvelopeSealer(b.keyRing, cipher), mapper, b.gzipLevel);
        this.clock = b.clock;
        this.instanceId = b.instanceId == null ? "hub-" + UUID.randomUUID() : b.instanceId;
        this.sweepConcurrency = b.sweepConcurrency;
        this.retention = b.retention;
        this.leaseDuration = b.leaseDuration;
        this.leaseRenewEvery = b.leaseDuration.dividedBy(3); // Duration.dividedBy goes through BigDecimal: once, here
        this.runningWait = b.runningWait;
        this.pollInterval = b.pollInterval;
        this.timer = b.timer;
        this.provisioned = Mono.defer(store::provision)
                .cache(v -> Duration.ofMillis(Long.MAX_VALUE), e -> Duration.ZERO, () -> Duration.ofMillis(Long.MAX_VALUE));
    }

    /**
     * Starts a builder. The key ring is required: there is no hub without a key (fail closed).
     *
     * @param store where records are kept
     * @param keyRing the AES-256 keys that seal the state ({@link KeyRing#fromEnvironment()})
     * @return a builder
     */
    public static Builder builder(StateStore store, KeyRing keyRing) {
        return new Builder(store, keyRing);
    }

    /**
     * The flows this hub knows. {@link #start} registers the flow it is given; flows that may be resumed must be
     * registered before their first resume (usually at application start).
     *
     * @return the registry
     */
    public FlowRegistry registry() {
        return registry;
    }

    /**
     * This hub's instance id, written as the lease owner of the flows it runs.
     *
     * @return the id
     */
    public String instanceId() {
        return instanceId;
    }

    /**
     * Creates the store's tables, indexes or directories. Every other method does this on first use; call it at
     * application start to fail fast.
     *
     * @return completes when the store is ready
     */
    public Mono<Void> provision() {
        return provisioned;
    }

    /**
     * Starts a flow without options.
     *
     * @param flow the definition (registered if it is not yet)
     * @param input the input
     * @param <I> input type
     * @param <O> output type
     * @return the result: completed, suspended (keys handed out once durable) or failed
     */
    public <I, O> Mono<FlowResult> start(Flow<I, O> flow, I input) {
        return start(flow, input, StartOptions.none());
    }

    /**
     * Starts a flow.
     *
     * <p>With a correlation id the start is idempotent: the first call stores a running record that claims the id,
     * and any later (or concurrent) start with the same id returns that flow's current result instead of starting
     * a duplicate (without keys: those were handed to the first caller).
     *
     * @param flow the definition (registered if it is not yet)
     * @param input the input
     * @param options correlation id, up-front inputs, plain metadata
     * @param <I> input type
     * @param <O> output type
     * @return the result
     */
    public <I, O> Mono<FlowResult> start(Flow<I, O> flow, I input, StartOptions options) {
        return Mono.defer(() -> {
            registry.register(flow);
            Instant now = clock.instant();
            FlowState state = new FlowState();
            state.input = mapper.valueToTree(input);
            state.startMetadata.putAll(options.metadata());
            options.inputs().forEach((k, v) -> state.injected.put(k, mapper.valueToTree(v)));
            String id = FlowIds.next(now);
            FlowRecord.Builder base = FlowRecord.builder()
                    .id(id)
                    .status(FlowStatus.RUNNING)
                    .flowName(flow.name())
                    .flowVersion(flow.version())
                    .createdAt(now)
                    .updatedAt(now)
                    .correlationId(options.correlationId())
                    .metadata(options.metadata());
            String correlationId = options.correlationId();
            if (correlationId == null) {
                return provisioned.then(runAndPersist(flow, input, base, state, null, null, null));
            }
            state.status = FlowStatus.RUNNING;
            FlowRecord placeholder = seal(base.status(FlowStatus.RUNNING).version(1).leaseOwner(instanceId)
                    .leaseExpiresAt(now.plus(leaseDuration)), state);
            return provisioned
                    .then(store.insert(placeholder).thenReturn(true))
                    .onErrorResume(DuplicateRecordException.class, e -> Mono.just(false))
                    .flatMap(inserted -> inserted
                            ? runAndPersist(flow, input, placeholder.toBuilder(), state, placeholder, null, null)
                            : existing(correlationId));
        });
    }

    private Mono<FlowResult> existing(String correlationId) {
        return store.findByCorrelationId(correlationId)
                .switchIfEmpty(Mono.error(() -> new StorageException(
                        "correlation id conflicted but its record is gone; retry the start")))
                .flatMap(r -> r.status() == FlowStatus.RUNNING
                        ? awaitSettled(r.id(), null).switchIfEmpty(Mono.error(() ->
                                new FlowRunningException("flow " + r.id() + " is still running")))
                        : Mono.just(currentResult(r, open(r))));
    }

    /**
     * Resumes a wait without options. See {@link #resume(String, Object, ResumeOptions)}.
     *
     * @param key the resume key
     * @param input the input (an object of the wait's input type, a {@link JsonNode}, or a map)
     * @return the next result
     */
    public Mono<FlowResult> resume(String key, Object input) {
        return resume(key, input, ResumeOptions.none());
    }

    /**
     * Resumes a wait from a JSON document (for webhooks).
     *
     * @param key the resume key
     * @param json the input as JSON text
     * @param options the idempotency key
     * @return the next result; {@link InputValidationException} for malformed JSON
     */
    public Mono<FlowResult> resumeJson(String key, String json, ResumeOptions options) {
        return Mono.defer(() -> {
            JsonNode node;
            try {
                node = mapper.readTree(json);
            } catch (JsonProcessingException e) {
                return Mono.error(new InputValidationException(
                        "(unknown)", List.of(new InputValidationException.Violation("", "malformed JSON"))));
            }
            return resume(key, node == null ? NullNode.getInstance() : node, options);
        });
    }

    /**
     * Resumes the wait a key belongs to.
     *
     * <ol>
     *   <li>Finds the record by the key's SHA-256 and opens its sealed state ({@link StateIntegrityException} when
     *       it does not authenticate).</li>
     *   <li>Unknown key or cancelled flow: {@link SuspensionKeyNotFoundException}; deadline passed:
     *       {@link SuspensionExpiredException}; already claimed: {@link AlreadyResumedException} (or the winner's
     *       result when the idempotency keys match); version not registered:
     *       {@link FlowDefinitionNotFoundException}.</li>
     *   <li>Validates the input against the wait's schema ({@link InputValidationException}; nothing changes).</li>
     *   <li>Claims the wait with one compare-and-set that writes the input durably. When the wait's group is not
     *       yet decided (all/quorum), the flow stays suspended; otherwise it is marked running under this hub's
     *       lease, replayed from its journal, and its next state written with another compare-and-set.</li>
     * </ol>
     *
     * @param key the resume key
     * @param input the input (an object of the wait's input type, a {@link JsonNode}, or a map)
     * @param options the idempotency key
     * @return the next result
     */
    public Mono<FlowResult> resume(String key, Object input, ResumeOptions options) {
        return Mono.defer(() -> {
            if (!ResumeKeys.isWellFormed(key)) {
                return Mono.error(new SuspensionKeyNotFoundException("no suspension answers to this key"));
            }
            String keyHash = ResumeKeys.hash(key);
            String idem = options.idempotencyKey() == null ? null : ResumeKeys.hash(options.idempotencyKey());
            JsonNode json = toJson(input);
            if (idem == null) {
                return provisioned.then(attemptResume(keyHash, null, json, 0));
            }
            Inflight fresh = new Inflight(idem);
            // build the shared result before publishing it (cache() is lazy): a concurrent duplicate that finds it
            // in the map must never see an unfinished entry
            fresh.result = provisioned.then(attemptResume(keyHash, idem, json, 0))
                    .doFinally(s -> inflight.remove(keyHash, fresh))
                    .cache();
            Inflight running = inflight.putIfAbsent(keyHash, fresh);
            if (running == null) {
                return fresh.result;
            }
            if (running.idempotencyKeyHash.equals(idem)) {
                return running.result;
            }
            return provisioned.then(attemptResume(keyHash, idem, json, 0));
        });
    }

    /**
     * Resumes a wait by flow id and await id instead of by key: for trusted callers that hold no key, such as an
     * approval inbox behind the admin token. Otherwise exactly like {@link #resume(String, Object, ResumeOptions)}
     * (same validation, same exactly-once claim). A call carrying the idempotency key of a resume that already won
     * gets that resume's result, also after the wait left the open group (the flow completed, or a loop opened the next
     * wait of the same await id, which the redelivery does not touch), for as long as the record keeps its answers.
     *
     * @param flowId the flow id
     * @param awaitId the await id of a pending wait of its open group
     * @param input the input
     * @param options the idempotency key
     * @return the next result; {@link SuspensionKeyNotFoundException} when the flow has no such pending wait and no
     *     answer for the idempotency key
     */
    public Mono<FlowResult> resumeWait(String flowId, String awaitId, Object input, ResumeOptions options) {
        return provisioned.then(Mono.defer(() -> store.findById(flowId)))
                .switchIfEmpty(Mono.error(() -> new SuspensionKeyNotFoundException("no such flow")))
                .flatMap(record -> {
                    FlowState state = open(record);
                    String idem = options.idempotencyKey() == null ? null : ResumeKeys.hash(options.idempotencyKey());
                    if (idem != null) {
                        // a redelivery of a resume that already won gets that resume's answer, even when the flow has
                        // moved on (completed, or a loop opened the next wait of the same id)
                        for (StoredResult stored : state.results.values()) {
                            if (idem.equals(stored.idempotencyKeyHash)) {
                                return Mono.just(toResult(record, stored));
                            }
                        }
                    }
                    PendingGroup group = state.pending;
                    if (group != null) {
                        for (PendingWait w : group.waits) {
                            if (w.awaitId.equals(awaitId)) {
                                return attemptResume(w.keyHash, idem, toJson(input), 0);
                            }
                        }
                    }
                    return Mono.error(new SuspensionKeyNotFoundException("the flow has no open wait '" + awaitId + "'"));
                });
    }

    /**
     * Describes a stored flow and its open waits (names, descriptions, schemas, deadlines) from its sealed state.
     *
     * @param flowId the flow id
     * @return the details; empty when no such flow is stored
     */
    public Mono<FlowDetails> describe(String flowId) {
        return provisioned.then(Mono.defer(() -> store.findById(flowId))).map(record -> {
            FlowState state = open(record);
            List<FlowDetails.Wait> waits = new ArrayList<>();
            if (state.pending != null) {
                for (PendingWait w : state.pending.waits) {
                    waits.add(new FlowDetails.Wait(w.awaitId, w.name, w.description, w.schema, w.deadline, w.metadata,
                            w.status));
                }
            }
            return new FlowDetails(SuspensionInfo.of(record), waits);
        });
    }

    private JsonNode toJson(Object input) {
        if (input instanceof JsonNode node) {
            return node;
        }
        return mapper.valueToTree(input);
    }

    private Mono<FlowResult> attemptResume(String keyHash, @Nullable String idem, JsonNode json, int attempt) {
        if (attempt >= MAX_CAS_ATTEMPTS) {
            return Mono.error(new StorageException("could not claim the wait after " + attempt + " attempts"));
        }
        return store.findByKeyHash(keyHash)
                .switchIfEmpty(Mono.error(() -> new SuspensionKeyNotFoundException("no suspension answers to this key")))
                .flatMap(record -> {
                    FlowState state = open(record);
                    PendingGroup group = state.pending;
                    PendingWait wait = group == null ? null : group.byKeyHash(keyHash);
                    if (wait == null || record.status().isTerminal()) {
                        return answerPastWait(record, state, keyHash, idem);
                    }
                    if (wait.status == WaitRecord.Status.RESOLVED) {
                        if (idem != null && idem.equals(wait.idempotencyKeyHash)) {
                            return awaitSettled(record.id(), keyHash).switchIfEmpty(Mono.error(() ->
                                    new FlowRunningException("the winning resume of this key is still running")));
                        }
                        return Mono.error(new AlreadyResumedException("this wait was already resumed"));
                    }
                    if (wait.status == WaitRecord.Status.TIMED_OUT) {
                        return Mono.error(new SuspensionExpiredException("this wait passed its deadline"));
                    }
                    if (wait.status == WaitRecord.Status.CLOSED || record.status() != FlowStatus.SUSPENDED) {
                        return Mono.error(new AlreadyResumedException("this wait's group was already decided"));
                    }
                    Instant now = clock.instant();
                    if (wait.deadline != null && !now.isBefore(wait.deadline)) {
                        return Mono.error(new SuspensionExpiredException("this wait passed its deadline"));
                    }
                    Flow<?, ?> flow = registry.find(record.flowName(), record.flowVersion()).orElse(null);
                    if (flow == null) {
                        return Mono.error(notRegistered(record));
                    }
                    JsonNode schema = wait.schema;
                    if (schema != null) {
                        List<InputValidationException.Violation> violations = InputSchema.of(schema).validate(json);
                        if (!violations.isEmpty()) {
                            return Mono.error(new InputValidationException(wait.awaitId, violations));
                        }
                    }
                    wait.arrival = nextArrival(group);
                    wait.status = WaitRecord.Status.RESOLVED;
                    wait.hasInput = true;
                    wait.input = json;
                    wait.idempotencyKeyHash = idem;
                    return claim(flow, record, state, group, now, new ResumeContext(keyHash, idem, wait.awaitId), List.of())
                            .switchIfEmpty(Mono.defer(() -> attemptResume(keyHash, idem, json, attempt + 1)));
                });
    }

    private Mono<FlowResult> answerPastWait(FlowRecord record, FlowState state, String keyHash, @Nullable String idem) {
        StoredResult stored = state.results.get(keyHash);
        if (stored != null && idem != null && idem.equals(stored.idempotencyKeyHash)) {
            return Mono.just(toResult(record, stored));
        }
        if (record.status() == FlowStatus.CANCELLED) {
            return Mono.error(new SuspensionKeyNotFoundException("the flow of this key was cancelled"));
        }
        if (record.status() == FlowStatus.EXPIRED) {
            return Mono.error(new SuspensionExpiredException("the flow of this key expired"));
        }
        for (WaitRecord w : record.waits()) {
            if (w.keyHash().equals(keyHash)) {
                if (w.status() == WaitRecord.Status.TIMED_OUT) {
                    return Mono.error(new SuspensionExpiredException("this wait passed its deadline"));
                }
                return Mono.error(new AlreadyResumedException("this wait was already resumed"));
            }
        }
        return Mono.error(new StateIntegrityException(
                "record " + record.id() + " is indexed under a key its sealed state does not know"));
    }

    /**
     * Writes a claim (the input durably, and for a decided group the running status under a lease), then continues.
     * Completes empty when the compare-and-set lost (the caller re-reads and retries).
     */
    private Mono<FlowResult> claim(
            Flow<?, ?> flow, FlowRecord record, FlowState state, PendingGroup group, Instant now,
            @Nullable ResumeContext rc, List<String> expired) {
        List<String> resolvedIds = new ArrayList<>();
        for (PendingWait w : group.waits) {
            if (w.status == WaitRecord.Status.RESOLVED && rc != null && w.keyHash.equals(rc.keyHash)) {
                resolvedIds.add(w.awaitId);
            }
        }
        if (!group.decided()) {
            state.status = FlowStatus.SUSPENDED;
            FlowResult result = suspendedResult(record.id(), group, Map.of());
            if (rc != null) {
                putResult(state, rc.keyHash, stored(result, rc.idempotencyKeyHash, Map.of()));
            }
            FlowRecord next = seal(record.toBuilder()
                    .version(record.version() + 1)
                    .updatedAt(now)
                    .deadline(group.earliestDeadline())
                    .waits(mergeWaits(record.waits(), group)), state);
            return store.compareAndSet(record.version(), next).flatMap(ok -> {
                if (!ok) return Mono.empty();
                if (!expired.isEmpty()) emit(FlowEvent.Type.EXPIRED, next, expired, now);
                if (!resolvedIds.isEmpty()) emit(FlowEvent.Type.RESUMED, next, resolvedIds, now);
                return Mono.just(result);
            });
        }
        List<String> timedOut = new ArrayList<>();
        Map<String, JsonNode> inputs = new LinkedHashMap<>();
        group.waits.stream()
                .filter(w -> w.hasInput)
                .sorted(Comparator.comparingInt(w -> w.arrival))
                .forEach(w -> inputs.put(w.awaitId, w.input == null ? NullNode.getInstance() : w.input));
        for (PendingWait w : group.waits) {
            if (w.status == WaitRecord.Status.PENDING) {
                w.status = WaitRecord.Status.CLOSED;
            } else if (w.status == WaitRecord.Status.TIMED_OUT && !w.hasInput) {
                timedOut.add(w.awaitId);
            }
        }
        List<WaitRecord> waits = mergeWaits(record.waits(), group);
        state.journal.add(journalAwait(group.id, inputs, timedOut));
        state.pending = null;
        state.status = FlowStatus.RUNNING;
        state.claimKeyHash = rc == null ? null : rc.keyHash;
        state.claimIdempotencyKeyHash = rc == null ? null : rc.idempotencyKeyHash;
        FlowRecord claimed = record.toBuilder()
                .version(record.version() + 1)
                .status(FlowStatus.RUNNING)
                .updatedAt(now)
                .deadline(null)
                .waits(waits)
                .leaseOwner(instanceId)
                .leaseExpiresAt(now.plus(leaseDuration))
                .state(new byte[0])
                .build();
        DeferredClaim deferred = new DeferredClaim(record, claimed, state, next -> {
            if (!expired.isEmpty()) emit(FlowEvent.Type.EXPIRED, next, expired, now);
            if (!resolvedIds.isEmpty()) emit(FlowEvent.Type.RESUMED, next, resolvedIds, now);
        });
        return replay(flow, record, deferred, state, rc);
    }

    /**
     * A claim that is not written yet. The flow continues in memory from the claimed state, and the claim becomes
     * durable with the first write the run needs: before the action of the first step that is not replayed (that
     * step may have side effects, so guarantee 4 holds for it exactly as if the claim had been written first), or,
     * when the run reaches its next wait, its completion or its failure without running a new step, in the same
     * compare-and-set as that outcome. So a resume whose next segment has no step costs one write instead of two.
     * Either way the write starts from the version that was read, so exactly one resume wins; a run whose claim
     * lost has run no step and writes nothing (the resume is retried and answered from the winner's record).
     */
    private final class DeferredClaim {
        /** The record as read (still suspended): the compare-and-set starts from its version. */
        final FlowRecord read;
        /** The claimed record with an empty state (sealed only when the claim is written on its own). */
        final FlowRecord claimed;
        private final FlowState claimedState;
        private final java.util.function.Consumer<FlowRecord> onWritten;
        private final Sinks.One<Boolean> written = Sinks.one();
        /** 0: not written; 1: sent on its own (before a step); 2: goes with the outcome (no step may start now). */
        private final java.util.concurrent.atomic.AtomicInteger phase = new java.util.concurrent.atomic.AtomicInteger();

        DeferredClaim(FlowRecord read, FlowRecord claimed, FlowState claimedState,
                java.util.function.Consumer<FlowRecord> onWritten) {
            this.read = read;
            this.claimed = claimed;
            this.claimedState = claimedState;
            this.onWritten = onWritten;
        }

        /**
         * The gate in front of every new step: the first call writes the claim (sealed now, before the run changes
         * the state), the others wait for that write. The write is subscribed here and not by the step, so a step
         * cancelled while the claim is in flight does not leave its outcome unknown to {@link #settled}. A step that
         * starts after the run's outcome took the claim (a subscription that outlived the flow's body) is refused.
         */
        Mono<Void> gate(Run run) {
            if (phase.compareAndSet(0, 1)) {
                FlowRecord next;
                try {
                    next = seal(claimed.toBuilder(), claimedState);
                } catch (RuntimeException e) {
                    written.tryEmitError(e);
                    return written.asMono().then();
                }
                store.compareAndSet(read.version(), next).subscribe(ok -> {
                    if (ok) {
                        run.current = next;
                        writtenWith(next);
                    }
                    written.tryEmitValue(ok);
                }, written::tryEmitError);
            } else if (phase.get() == 2) {
                return Mono.error(new ClaimLostException());
            }
            return written.asMono().flatMap(ok -> ok ? Mono.<Void>empty() : Mono.error(new ClaimLostException()));
        }

        /** Whether the outcome's write carries the claim; the first call with no claim sent closes the gate. */
        boolean fuse() {
            return phase.compareAndSet(0, 2) || phase.get() == 2;
        }

        /** After the run: true when the claim is durable or goes with the outcome, false when it lost. */
        Mono<Boolean> settled() {
            return fuse() ? Mono.just(true) : written.asMono();
        }

        /** Runs the claim's events once the claim is durable (on its own, or in the outcome's write). */
        void writtenWith(FlowRecord next) {
            onWritten.accept(next);
        }
    }

    /** A step's gate found that another resume (or a timeout) took the flow first: the step does not run. */
    private static final class ClaimLostException extends RuntimeException {
        ClaimLostException() {
            super("another resume claimed this flow first", null, false, false);
        }
    }

    private static JournalEntry journalAwait(String id, Map<String, JsonNode> inputs, List<String> timedOut) {
        JournalEntry e = new JournalEntry();
        e.id = id;
        e.kind = "await";
        e.inputs = inputs;
        e.timedOut = timedOut.isEmpty() ? null : timedOut;
        return e;
    }

    /**
     * Runs a flow on from {@code current}: the record as read when {@code deferred} holds a claim not written yet,
     * else the record this hub has written its claim (or lease takeover) to.
     */
    private <I, O> Mono<FlowResult> replay(
            Flow<I, O> flow, FlowRecord current, @Nullable DeferredClaim deferred, FlowState state,
            @Nullable ResumeContext rc) {
        I input;
        try {
            input = mapper.treeToValue(state.input == null ? NullNode.getInstance() : state.input, flow.inputType());
        } catch (JsonProcessingException e) {
            Run run = new Run(current, current, deferred);
            Execution.Outcome failed = new Execution.Outcome(Execution.Outcome.Kind.FAILED, null, null,
                    new NonDeterministicFlowException("stored input of flow " + current.id() + " does not read as "
                            + flow.inputType().getName()));
            return persist(flow, run, state, null, failed, rc);
        }
        return runAndPersist(flow, input, current.toBuilder(), state, current, deferred, rc);
    }

    /**
     * Runs a flow body and writes its outcome. While it runs with a stored record, the lease is renewed every third
     * of its duration; with {@link FlowOptions#checkpointSteps()} the journal is written after every step.
     */
    private <I, O> Mono<FlowResult> runAndPersist(
            Flow<I, O> flow, I input, FlowRecord.Builder base, FlowState state, @Nullable FlowRecord current,
            @Nullable DeferredClaim deferred, @Nullable ResumeContext rc) {
        return Mono.defer(() -> {
            FlowRecord identity = base.state(new byte[0]).build();
            Run run = new Run(identity, current, deferred);
            Execution exec = new Execution(identity.id(), identity.correlationId(), state, mapper,
                    flow.options().checkpointSteps() ? e -> checkpoint(run, state, e) : null,
                    deferred == null ? null : () -> deferred.gate(run));
            Mono<Execution.Outcome> outcome = exec.run(flow, input);
            Mono<Execution.Outcome> renewed = Mono.using(() -> leaseKeeper.add(run), r -> outcome, leaseKeeper::remove);
            if (deferred == null) {
                return renewed.flatMap(o -> run.serialized(() -> persist(flow, run, state, exec, o, rc)));
            }
            // a claim that lost means no step ran and nothing is written: the caller retries and gets the winner's answer
            return renewed.flatMap(o -> deferred.settled().flatMap(claimedOrFused -> claimedOrFused
                    ? run.serialized(() -> persist(flow, run, state, exec, o, rc))
                    : Mono.empty()));
        });
    }

    /** Writes the journal so far under the run's lease (inserting a running record when none is stored yet). */
    private Mono<Void> checkpoint(Run run, FlowState state, Execution exec) {
        return run.serialized(() -> {
            Instant now = clock.instant();
            FlowState snapshot = state.copyWith(exec.journal(), exec.remainingInjected());
            snapshot.status = FlowStatus.RUNNING;
            FlowRecord current = run.current;
            FlowRecord.Builder b = (current != null ? current : run.identity).toBuilder()
                    .status(FlowStatus.RUNNING)
                    .updatedAt(now)
                    .leaseOwner(instanceId)
                    .leaseExpiresAt(now.plus(leaseDuration));
            if (current == null) {
                FlowRecord next = seal(b.version(1).deadline(null).waits(List.of()).retainUntil(null), snapshot);
                return store.insert(next).then(Mono.fromRunnable(() -> run.current = next));
            }
            FlowRecord next = seal(b.version(current.version() + 1), snapshot);
            return store.compareAndSet(current.version(), next).flatMap(ok -> {
                if (!ok) {
                    return Mono.error(lostLease(next.id()));
                }
                run.current = next;
                return Mono.empty();
            });
        }).then();
    }

    private Mono<Void> renewLease(Run run) {
        FlowRecord current = run.current;
        if (current == null || current.status() != FlowStatus.RUNNING) {
            return Mono.empty();
        }
        Instant now = clock.instant();
        FlowState state = open(current);
        FlowRecord next = seal(current.toBuilder()
                .version(current.version() + 1)
                .updatedAt(now)
                .leaseOwner(instanceId)
                .leaseExpiresAt(now.plus(leaseDuration)), state);
        return store.compareAndSet(current.version(), next).flatMap(ok -> {
            if (ok) {
                run.current = next;
            } else {
                log.warn("flow {} lost its lease: another instance took it over", current.id());
            }
            return Mono.<Void>empty();
        });
    }

    private static StorageException lostLease(String flowId) {
        return new StorageException("flow " + flowId
                + " changed while this hub ran it (its lease lapsed and another instance took it over)");
    }

    private Mono<FlowResult> persist(
            @Nullable Flow<?, ?> flow, Run run, FlowState state, @Nullable Execution exec,
            Execution.Outcome outcome, @Nullable ResumeContext rc) {
        Instant now = clock.instant();
        if (exec != null) {
            state.journal = exec.journal();
            state.injected = exec.remainingInjected();
        }
        DeferredClaim fused = run.deferred != null && run.deferred.fuse() ? run.deferred : null;
        // the claim was never written on its own: the outcome's write takes it along, from the version that was read
        FlowRecord current = fused != null ? fused.claimed : run.current;
        FlowRecord.Builder base = (current != null ? current : run.identity).toBuilder();
        String flowId = run.identity.id();
        List<WaitRecord> history = current == null ? List.of() : current.waits();
        FlowResult result;
        Map<String, String> newKeys = new LinkedHashMap<>();
        switch (outcome.kind()) {
            case SUSPENDED -> {
                Execution.Suspension s = Objects.requireNonNull(outcome.suspension());
                PendingGroup group = new PendingGroup();
                group.id = s.id();
                group.required = s.required();
                int arrival = 0;
                for (AwaitInput<?> w : s.waits()) {
                    String key = ResumeKeys.generate();
                    PendingWait pw = new PendingWait();
                    pw.awaitId = w.id();
                    pw.name = w.name();
                    pw.description = w.description();
                    pw.keyHash = ResumeKeys.hash(key);
                    pw.deadline = w.timeout() == null ? null : now.plus(w.timeout());
                    pw.schema = w.schema();
                    pw.hasDefault = w.hasDefaultValue();
                    pw.defaultValue = w.hasDefaultValue() ? mapper.valueToTree(w.defaultValue()) : null;
                    pw.metadata.putAll(w.metadata());
                    JsonNode early = s.early().get(w.id());
                    if (early != null) {
                        pw.status = WaitRecord.Status.RESOLVED;
                        pw.hasInput = true;
                        pw.input = early;
                        pw.arrival = arrival++;
                    } else {
                        newKeys.put(pw.keyHash, key);
                    }
                    group.waits.add(pw);
                }
                state.pending = group;
                state.status = FlowStatus.SUSPENDED;
                result = suspendedResult(flowId, group, newKeys);
                Map<String, String> metadata = new LinkedHashMap<>(state.startMetadata);
                for (AwaitInput<?> w : s.waits()) {
                    metadata.putAll(w.metadata());
                }
                base.status(FlowStatus.SUSPENDED)
                        .deadline(group.earliestDeadline())
                        .waits(mergeWaits(history, group))
                        .metadata(metadata)
                        .retainUntil(null);
            }
            case COMPLETED -> {
                forgetRun(state);
                state.status = FlowStatus.COMPLETED;
                state.output = outcome.output();
                result = new FlowResult.Completed(flowId, readOutput(flow, outcome.output()));
                base.status(FlowStatus.COMPLETED).deadline(null).waits(history).retainUntil(now.plus(retention))
                        .metadata(state.startMetadata);
            }
            default -> {
                Throwable error = Objects.requireNonNull(outcome.error());
                FlowStatus status = error instanceof AwaitTimeoutException ? FlowStatus.EXPIRED : FlowStatus.FAILED;
                forgetRun(state);
                state.status = status;
                state.errorType = error.getClass().getName();
                state.errorMessage = String.valueOf(error.getMessage());
                result = new FlowResult.Failed(flowId, status, state.errorType, state.errorMessage);
                base.status(status).deadline(null).waits(history).retainUntil(now.plus(retention))
                        .metadata(state.startMetadata);
                if (!(error instanceof AwaitTimeoutException)) {
                    log.debug("flow {} failed: {}", flowId, error.toString());
                }
            }
        }
        String claimKey = rc != null ? rc.keyHash : state.claimKeyHash;
        String claimIdem = rc != null ? rc.idempotencyKeyHash : state.claimIdempotencyKeyHash;
        if (claimKey != null) {
            putResult(state, claimKey, stored(result, claimIdem, newKeys));
        }
        state.claimKeyHash = null;
        state.claimIdempotencyKeyHash = null;
        base.updatedAt(now).leaseOwner(null).leaseExpiresAt(null);
        FlowEvent.Type type = switch (result.status()) {
            case SUSPENDED -> FlowEvent.Type.SUSPENDED;
            case COMPLETED -> FlowEvent.Type.COMPLETED;
            case EXPIRED -> FlowEvent.Type.EXPIRED;
            default -> FlowEvent.Type.FAILED;
        };
        List<String> awaitIds = result instanceof FlowResult.Suspended sus
                ? sus.waits().stream().map(WaitHandle::awaitId).toList()
                : List.of();
        if (current == null) {
            if (result.status() != FlowStatus.SUSPENDED) {
                emit(type, run.identity, awaitIds, now);
                return Mono.just(result);
            }
            FlowRecord next = seal(base.version(1), state);
            return store.insert(next).then(Mono.fromSupplier(() -> {
                run.current = next;
                emit(type, next, awaitIds, now);
                return result;
            }));
        }
        long expected = fused != null ? fused.read.version() : current.version();
        FlowRecord next = seal(base.version(expected + 1), state);
        return store.compareAndSet(expected, next).flatMap(ok -> {
            if (!ok) {
                // a fused claim that lost ran no step: the caller retries and is answered from the winner's record
                return fused != null ? Mono.empty() : Mono.error(lostLease(flowId));
            }
            run.current = next;
            if (fused != null) {
                fused.writtenWith(next);
            }
            emit(type, next, awaitIds, now);
            return Mono.just(result);
        });
    }

    /**
     * Renews the leases of every run in flight on this hub, every third of the lease, with one timer for the hub.
     *
     * <p>Why one timer and not one per run: scheduling and cancelling a periodic task per run went through the
     * timer's shared, lock-guarded delay queue twice per flow; under load the runs queued on that lock (BlockHound saw
     * the parked threads). A run registers when it starts and leaves when its body ends; a run that registered just
     * after a tick is renewed at the next one, at most a third of the lease later, as before. The timer stops itself
     * on a tick that finds no run (so an idle hub holds no scheduled task) and starts again with the next run.
     */
    private final class LeaseKeeper {
        private final java.util.Set<Run> runs = ConcurrentHashMap.newKeySet();
        private @Nullable Disposable ticks;

        Run add(Run run) {
            synchronized (this) {
                runs.add(run);
                if (ticks == null) {
                    ticks = Flux.interval(leaseRenewEvery, leaseRenewEvery, timer)
                            .onBackpressureDrop()
                            .concatMap(tick -> renewAll(), 1)
                            .subscribe();
                }
            }
            return run;
        }

        void remove(Run run) {
            runs.remove(run);
        }

        private Mono<Void> renewAll() {
            List<Run> due;
            synchronized (this) {
                if (runs.isEmpty()) {
                    Disposable t = ticks;
                    ticks = null;
                    if (t != null) {
                        t.dispose();
                    }
                    return Mono.empty();
                }
                due = List.copyOf(runs);
            }
            return Flux.fromIterable(due)
                    .flatMap(run -> run.serialized(() -> renewLease(run)).onErrorResume(e -> {
                        log.warn("lease renewal of flow {} failed: {}", run.identity.id(), e.toString());
                        return Mono.empty();
                    }), 16)
                    .then();
        }
    }

    /**
     * One run of a flow: its identity, the latest record it wrote, and a queue that orders its writes (lease
     * renewals, checkpoints, the final write) so that each compare-and-set starts from the previous one's version.
     */
    private static final class Run {
        final FlowRecord identity;
        volatile @Nullable FlowRecord current;
        /** The claim of a resume or a timeout that this run has not written yet, or null. */
        final @Nullable DeferredClaim deferred;
        private Mono<Object> tail = Mono.empty();

        Run(FlowRecord identity, @Nullable FlowRecord current, @Nullable DeferredClaim deferred) {
            this.identity = identity;
            this.current = current;
            this.deferred = deferred;
        }

        <T> Mono<T> serialized(java.util.function.Supplier<Mono<T>> write) {
            return Mono.defer(() -> {
                Mono<T> mine;
                synchronized (this) {
                    Mono<Object> previous = tail;
                    mine = previous.onErrorResume(e -> Mono.empty()).then(Mono.defer(write)).cache();
                    tail = mine.cast(Object.class).onErrorResume(e -> Mono.empty());
                }
                return mine;
            });
        }
    }

    /**
     * A finished flow never runs again, so its record keeps only what is still asked of it: the outcome (for
     * {@link #result}) and the stored results of its resumes (for late duplicate deliveries). The input, the journal
     * and unused injected inputs are dropped: the final seal is of a few hundred bytes instead of the whole state
     * (less CPU per resume, smaller retained records).
     */
    private static void forgetRun(FlowState state) {
        state.pending = null;
        state.input = null;
        state.journal = new ArrayList<>();
        state.injected = new LinkedHashMap<>();
    }

    private @Nullable Object readOutput(@Nullable Flow<?, ?> flow, @Nullable JsonNode output) {
        if (output == null || output.isNull()) {
            return null;
        }
        if (flow == null) {
            return output;
        }
        try {
            return mapper.treeToValue(output, flow.outputType());
        } catch (JsonProcessingException e) {
            return output;
        }
    }

    private static int nextArrival(PendingGroup group) {
        int max = -1;
        for (PendingWait w : group.waits) {
            if (w.hasInput) max = Math.max(max, w.arrival);
        }
        return max + 1;
    }

    private static void putResult(FlowState state, String keyHash, StoredResult result) {
        state.results.put(keyHash, result);
        while (state.results.size() > MAX_STORED_RESULTS) {
            String oldest = state.results.keySet().iterator().next();
            state.results.remove(oldest);
        }
    }

    private static List<WaitRecord> mergeWaits(List<WaitRecord> history, PendingGroup group) {
        Map<String, WaitRecord> byHash = new LinkedHashMap<>();
        for (WaitRecord w : history) {
            byHash.put(w.keyHash(), w);
        }
        for (PendingWait w : group.waits) {
            byHash.put(w.keyHash, new WaitRecord(w.keyHash, w.awaitId, w.deadline, w.status));
        }
        List<WaitRecord> all = new ArrayList<>(byHash.values());
        while (all.size() > MAX_WAIT_HISTORY) {
            int drop = -1;
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).status() != WaitRecord.Status.PENDING) {
                    drop = i;
                    break;
                }
            }
            if (drop < 0) break;
            all.remove(drop);
        }
        return all;
    }

    private static FlowResult.Suspended suspendedResult(String flowId, PendingGroup group, Map<String, String> keys) {
        List<WaitHandle> handles = new ArrayList<>();
        for (PendingWait w : group.waits) {
            if (w.status == WaitRecord.Status.PENDING) {
                handles.add(new WaitHandle(w.awaitId, w.name, w.description, keys.get(w.keyHash), w.deadline, w.metadata));
            }
        }
        return new FlowResult.Suspended(flowId, handles, group.earliestDeadline());
    }

    private StoredResult stored(FlowResult result, @Nullable String idem, Map<String, String> keys) {
        StoredResult s = new StoredResult();
        s.idempotencyKeyHash = idem;
        s.status = result.status();
        if (result instanceof FlowResult.Completed c) {
            s.output = c.output() == null ? null : mapper.valueToTree(c.output());
        } else if (result instanceof FlowResult.Suspended sus) {
            s.expiresAt = sus.expiresAt();
            for (WaitHandle h : sus.waits()) {
                StoredWait w = new StoredWait();
                w.awaitId = h.awaitId();
                w.name = h.name();
                w.description = h.description();
                w.key = h.key();
                w.deadline = h.deadline();
                w.metadata.putAll(h.metadata());
                s.waits.add(w);
            }
        } else if (result instanceof FlowResult.Failed f) {
            s.errorType = f.errorType();
            s.errorMessage = f.message();
        }
        return s;
    }

    private FlowResult toResult(FlowRecord record, StoredResult s) {
        return switch (s.status) {
            case SUSPENDED -> new FlowResult.Suspended(record.id(),
                    s.waits.stream().map(w -> new WaitHandle(w.awaitId, w.name, w.description, w.key, w.deadline,
                            w.metadata)).toList(),
                    s.expiresAt);
            case COMPLETED -> new FlowResult.Completed(record.id(),
                    readOutput(registry.find(record.flowName(), record.flowVersion()).orElse(null), s.output));
            default -> new FlowResult.Failed(record.id(), s.status, String.valueOf(s.errorType),
                    String.valueOf(s.errorMessage));
        };
    }

    private FlowResult currentResult(FlowRecord record, FlowState state) {
        return switch (state.status) {
            case SUSPENDED -> state.pending == null
                    ? new FlowResult.Suspended(record.id(), List.of(), null)
                    : suspendedResult(record.id(), state.pending, Map.of());
            case COMPLETED -> new FlowResult.Completed(record.id(),
                    readOutput(registry.find(record.flowName(), record.flowVersion()).orElse(null), state.output));
            case RUNNING -> throw new FlowRunningException("flow " + record.id() + " is running");
            default -> new FlowResult.Failed(record.id(), state.status, String.valueOf(state.errorType),
                    String.valueOf(state.errorMessage));
        };
    }

    /**
     * Waits (polling the store) until a running flow settles, then answers with the stored result for
     * {@code keyHash} (or the flow's current result when {@code keyHash} is null). Completes empty when the flow is
     * still running after {@link Builder#runningWait(Duration)}.
     */
    private Mono<FlowResult> awaitSettled(String flowId, @Nullable String keyHash) {
        long attempts = Math.max(1, runningWait.toMillis() / Math.max(1, pollInterval.toMillis()));
        return Mono.defer(() -> store.findById(flowId))
                .flatMap(r -> {
                    FlowState state = open(r);
                    if (keyHash != null) {
                        StoredResult s = state.results.get(keyHash);
                        if (s != null) return Mono.just(toResult(r, s));
                    }
                    if (r.status() == FlowStatus.RUNNING) return Mono.empty();
                    if (keyHash != null && r.status() == FlowStatus.SUSPENDED) {
                        return Mono.empty();
                    }
                    return Mono.just(currentResult(r, state));
                })
                .repeatWhenEmpty(Math.toIntExact(Math.min(Integer.MAX_VALUE, attempts)),
                        f -> f.concatMap(i -> Mono.delay(pollInterval, timer)));
    }

    /**
     * The current result of a flow, without keys (they were handed out when the waits were created).
     *
     * @param flowId the flow id
     * @return the result; empty when no such flow is stored; {@link FlowRunningException} while it runs
     */
    public Mono<FlowResult> result(String flowId) {
        return provisioned.then(store.findById(flowId)).map(r -> currentResult(r, open(r)));
    }

    /**
     * Fires every wait whose deadline passed, once: a wait with a default value resumes with it, one without makes
     * its {@code await} fail with {@link AwaitTimeoutException}. Each overdue record is taken with a compare-and-set,
     * so several hubs sweeping the same store fire each wait exactly once.
     *
     * @param batchSize how many overdue records to take
     * @return how many records were fired by this hub
     */
    public Mono<Long> fireDueTimeouts(int batchSize) {
        return timeoutBatch(batchSize).map(b -> b[1]);
    }

    /**
     * One batch of the timeout sweep: {records seen, records fired by this hub, records left as they were (this hub
     * cannot run them, or they needed nothing), the batch size asked for}.
     */
    private Mono<long[]> timeoutBatch(int batchSize) {
        return provisioned.then(Mono.defer(() -> {
            Instant now = clock.instant();
            AtomicLongArray counts = new AtomicLongArray(3);
            // the records of a batch are independent flows: fire them concurrently (each claim is its own
            // compare-and-set), so a burst of simultaneous deadlines drains at the store's pace, not one round trip
            // chain at a time
            return store.dueForTimeout(now, batchSize)
                    .doOnNext(r -> counts.incrementAndGet(0))
                    .flatMap(r -> Mono.defer(() -> fireTimeouts(r, now, counts))
                            .doOnNext(x -> counts.incrementAndGet(1))
                            .onErrorResume(StateIntegrityException.class, e -> quarantine(r, e, now)),
                            sweepConcurrency)
                    .then(Mono.fromSupplier(() -> new long[] {counts.get(0), counts.get(1), counts.get(2), batchSize}));
        }));
    }

    /**
     * Takes a record whose sealed state does not authenticate off the sweep indexes (status FAILED, no deadline, no
     * lease), leaving its bytes as they are for inspection. Its keys keep failing with
     * {@link StateIntegrityException}.
     */
    private Mono<FlowResult> quarantine(FlowRecord record, Throwable error, Instant now) {
        log.error("record {} failed authentication and is quarantined: {}", record.id(), error.getMessage());
        FlowRecord next = record.toBuilder()
                .version(record.version() + 1)
                .status(FlowStatus.FAILED)
                .updatedAt(now)
                .deadline(null)
                .leaseOwner(null)
                .leaseExpiresAt(null)
                .build();
        return store.compareAndSet(record.version(), next).then(Mono.empty());
    }

    private Mono<FlowResult> fireTimeouts(FlowRecord record, Instant now, AtomicLongArray counts) {
        // checked first, on the plain fields: a record this hub cannot run is not even opened
        Flow<?, ?> flow = registry.find(record.flowName(), record.flowVersion()).orElse(null);
        if (flow == null) {
            counts.incrementAndGet(2);
            warnOnce(record.id(), "flow {} is overdue but {} v{} is not registered here", record.id(), record.flowName(),
                    record.flowVersion());
            return Mono.empty();
        }
        FlowState state = open(record);
        PendingGroup group = state.pending;
        if (group == null || record.status() != FlowStatus.SUSPENDED) {
            counts.incrementAndGet(2);
            return Mono.empty();
        }
        List<String> expired = new ArrayList<>();
        for (PendingWait w : group.waits) {
            if (w.status == WaitRecord.Status.PENDING && w.deadline != null && !now.isBefore(w.deadline)) {
                w.status = WaitRecord.Status.TIMED_OUT;
                if (w.hasDefault) {
                    w.arrival = nextArrival(group);
                    w.hasInput = true;
                    w.input = w.defaultValue == null ? NullNode.getInstance() : w.defaultValue;
                }
                expired.add(w.awaitId);
            }
        }
        if (expired.isEmpty()) {
            counts.incrementAndGet(2);
            return Mono.empty();
        }
        return claim(flow, record, state, group, now, null, expired);
    }

    /**
     * Takes over flows whose lease lapsed (their hub died mid-run) and finishes them from their last checkpoint with
     * the input recorded when their wait was claimed. Each is taken with a compare-and-set, so with many hubs on one
     * store every orphaned flow is finished by exactly one of them.
     *
     * @param batchSize how many orphaned flows to take
     * @return how many flows this hub took over
     */
    public Mono<Long> recoverExpiredLeases(int batchSize) {
        return leaseBatch(batchSize).map(b -> b[1]);
    }

    /** One batch of the recovery sweep: {records seen, taken over by this hub, left as they were, batch size}. */
    private Mono<long[]> leaseBatch(int batchSize) {
        return provisioned.then(Mono.defer(() -> {
            Instant now = clock.instant();
            AtomicLongArray counts = new AtomicLongArray(3);
            return store.expiredLeases(now, batchSize)
                    .doOnNext(r -> counts.incrementAndGet(0))
                    .flatMap(r -> Mono.defer(() -> recover(r, now, counts))
                            .doOnNext(x -> counts.incrementAndGet(1))
                            .onErrorResume(StateIntegrityException.class, e -> quarantine(r, e, now))
                            .onErrorResume(e -> !(e instanceof StorageUnavailableException), e -> {
                                // left as it was: it comes back in the next batch (see sweepPhase)
                                counts.incrementAndGet(2);
                                log.warn("could not recover flow {}: {}", r.id(), e.toString());
                                return Mono.empty();
                            }), sweepConcurrency)
                    .then(Mono.fromSupplier(() -> new long[] {counts.get(0), counts.get(1), counts.get(2), batchSize}));
        }));
    }

    /**
     * Warns about a flow this hub cannot run once per flow (then at debug level): every sweep meets it again until a
     * hub that has its definition takes it, and a warning per sweep tick would bury everything else in the log.
     */
    private void warnOnce(String flowId, String format, Object... args) {
        if (warnedUnregistered.size() < MAX_WARNED && warnedUnregistered.add(flowId)) {
            log.warn(format, args);
        } else {
            log.debug(format, args);
        }
    }

    private Mono<FlowResult> recover(FlowRecord record, Instant now, AtomicLongArray counts) {
        if (record.status() != FlowStatus.RUNNING) {
            counts.incrementAndGet(2);
            return Mono.empty();
        }
        Flow<?, ?> flow = registry.find(record.flowName(), record.flowVersion()).orElse(null);
        if (flow == null) {
            counts.incrementAndGet(2);
            warnOnce(record.id(), "flow {} needs recovery but {} v{} is not registered here", record.id(), record.flowName(),
                    record.flowVersion());
            return Mono.empty();
        }
        FlowState state = open(record);
        FlowRecord taken = seal(record.toBuilder()
                .version(record.version() + 1)
                .updatedAt(now)
                .leaseOwner(instanceId)
                .leaseExpiresAt(now.plus(leaseDuration)), state);
        return store.compareAndSet(record.version(), taken).flatMap(ok -> ok
                ? replay(flow, taken, null, state, null)
                : Mono.empty());
    }

    /**
     * Moves a pending wait's deadline (a heartbeat: "still working on it"). Only a wait that has not timed out can be
     * extended.
     *
     * @param flowId the flow id
     * @param awaitId the wait's await id
     * @param deadline the new deadline
     * @return {@code true} when moved; {@code false} when the flow has no such pending wait
     */
    public Mono<Boolean> extendDeadline(String flowId, String awaitId, Instant deadline) {
        return provisioned.then(extendAttempt(flowId, awaitId, deadline, 0));
    }

    private Mono<Boolean> extendAttempt(String flowId, String awaitId, Instant deadline, int attempt) {
        if (attempt >= MAX_CAS_ATTEMPTS) {
            return Mono.error(new StorageException("could not extend a wait of flow " + flowId));
        }
        return store.findById(flowId).flatMap(record -> {
            if (record.status() != FlowStatus.SUSPENDED) {
                return Mono.just(false);
            }
            FlowState state = open(record);
            PendingGroup group = state.pending;
            Instant now = clock.instant();
            boolean changed = false;
            if (group != null) {
                for (PendingWait w : group.waits) {
                    if (w.awaitId.equals(awaitId) && w.status == WaitRecord.Status.PENDING
                            && (w.deadline == null || now.isBefore(w.deadline))) {
                        w.deadline = deadline;
                        changed = true;
                    }
                }
            }
            if (!changed) {
                return Mono.just(false);
            }
            FlowRecord next = seal(record.toBuilder()
                    .version(record.version() + 1)
                    .updatedAt(now)
                    .deadline(group.earliestDeadline())
                    .waits(mergeWaits(record.waits(), group)), state);
            return store.compareAndSet(record.version(), next)
                    .flatMap(ok -> ok ? Mono.just(true) : extendAttempt(flowId, awaitId, deadline, attempt + 1));
        }).defaultIfEmpty(false);
    }

    /**
     * One sweep: fires overdue waits and recovers orphaned flows, in batches, until none are left (so a backlog
     * drains without loading it all at once). Due records this hub cannot run (flows it has not registered, such as
     * another application's on a shared store, or a version it no longer has) are left untouched for a hub that can;
     * the sweep reads past them, asking for up to {@value #MAX_SWEEP_WINDOW} records per call when they pile up, so
     * they do not hold up the records behind them.
     *
     * @param batchSize records per store call (at least 1)
     * @return how many records were handled by this hub; an {@link IllegalArgumentException} for a batch size below 1
     */
    public Mono<Long> sweep(int batchSize) {
        if (batchSize < 1) {
            return Mono.error(new IllegalArgumentException("batchSize must be at least 1, got " + batchSize));
        }
        return sweepPhase(batchSize, this::timeoutBatch).zipWith(sweepPhase(batchSize, this::leaseBatch), Long::sum);
    }

    /**
     * Pages through one sweep index (overdue waits or lapsed leases) in batches until it is drained.
     *
     * <p>Records fired here or taken by other hubs leave the index, so the next batch holds new ones. Records left as
     * they were — flows this hub cannot run (another application's, or a version not registered here) — stay at the
     * head of the index, earliest first, and would hide everything behind them from a fixed-size batch: the next
     * batch asks for that many more, so the hub looks past them (up to {@link #MAX_SWEEP_WINDOW} records per read,
     * warned about once). A sweep stops when a batch comes back short (drained) or when a batch made no progress and
     * cannot look further.
     */
    private Mono<Long> sweepPhase(int batchSize, java.util.function.IntFunction<Mono<long[]>> batch) {
        int window = Math.max(batchSize, MAX_SWEEP_WINDOW);
        return batch.apply(batchSize)
                .expand(b -> {
                    long seen = b[0];
                    long handled = b[1];
                    long leftAlone = b[2];
                    long limit = b[3];
                    if (seen < limit) {
                        return Mono.empty();
                    }
                    long next = Math.min(window, batchSize + leftAlone);
                    if (handled == 0 && leftAlone >= seen && next <= limit) {
                        if (limit >= window && windowWarned.compareAndSet(false, true)) {
                            log.warn("the sweep of hub {} met {} or more due records in a row that it cannot run;"
                                    + " records behind them wait for a hub that can", instanceId, limit);
                        }
                        return Mono.empty();
                    }
                    return batch.apply((int) next);
                })
                .reduce(0L, (sum, b) -> sum + b[1]);
    }

    /**
     * Starts sweeping on this hub's timer: every {@code interval}, {@link #sweep(int)} runs unless the previous sweep
     * is still running (ticks are dropped, not queued). Errors are logged and the next tick tries again.
     *
     * <p>Disposing stops at once: flows the current sweep has claimed but not finished stay {@code RUNNING} under
     * this hub's lease and are finished by a later sweep (of any hub) once that lease lapses, as after a crash.
     *
     * @param interval time between sweeps
     * @param batchSize records per store call
     * @return dispose it to stop sweeping
     */
    public Disposable startSweeper(Duration interval, int batchSize) {
        return Flux.interval(interval, interval, timer)
                .onBackpressureDrop()
                .concatMap(tick -> sweep(batchSize).onErrorResume(e -> {
                    log.warn("sweep failed", e);
                    return Mono.empty();
                }), 1)
                .subscribe();
    }

    /**
     * Finds stored flows by their plain fields (evaluated by the store).
     *
     * @param criteria filters, cursor, limit
     * @return the flows, ordered by flow id
     */
    public Flux<SuspensionInfo> query(QueryCriteria criteria) {
        return provisioned.thenMany(Flux.defer(() -> store.query(criteria))).map(SuspensionInfo::of);
    }

    /**
     * Removes stored flows in batches until none match.
     *
     * @param criteria what to remove
     * @return how many were removed and what failed
     */
    public Mono<CleanupReport> cleanup(CleanupCriteria criteria) {
        return provisioned.then(Mono.defer(() -> {
            Instant now = clock.instant();
            QueryCriteria.Builder q = QueryCriteria.builder().limit(criteria.batchSize());
            criteria.statuses().forEach(q::status);
            if (criteria.expiredOnly()) q.retainedBefore(now);
            if (criteria.olderThan() != null) q.createdBefore(now.minus(criteria.olderThan()));
            if (criteria.flowName() != null) q.flowName(criteria.flowName());
            QueryCriteria query = q.build();
            AtomicLong deleted = new AtomicLong();
            List<String> errors = new ArrayList<>();
            return Mono.defer(() -> store.deleteMatching(query))
                    .doOnNext(deleted::addAndGet)
                    .repeat()
                    .takeUntil(n -> n < criteria.batchSize())
                    .onErrorResume(e -> {
                        errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
                        return Mono.empty();
                    })
                    .then(Mono.fromSupplier(() -> new CleanupReport(deleted.get(), errors)));
        }));
    }

    /**
     * Cancels a suspended flow: its keys stop working ({@link SuspensionKeyNotFoundException}).
     *
     * @param flowId the flow id
     * @param reason why, recorded in the flow's (sealed) state
     * @return {@code true} when cancelled; {@code false} when there is no such flow or it is not suspended
     */
    public Mono<Boolean> cancel(String flowId, String reason) {
        return provisioned.then(cancelAttempt(flowId, reason, 0));
    }

    private Mono<Boolean> cancelAttempt(String flowId, String reason, int attempt) {
        if (attempt >= MAX_CAS_ATTEMPTS) {
            return Mono.error(new StorageException("could not cancel flow " + flowId + " after " + attempt + " attempts"));
        }
        return store.findById(flowId).flatMap(record -> {
            if (record.status() != FlowStatus.SUSPENDED) {
                return Mono.just(false);
            }
            FlowState state = open(record);
            Instant now = clock.instant();
            PendingGroup group = state.pending;
            if (group != null) {
                for (PendingWait w : group.waits) {
                    if (w.status == WaitRecord.Status.PENDING) w.status = WaitRecord.Status.CLOSED;
                }
            }
            state.status = FlowStatus.CANCELLED;
            state.errorType = "cancelled";
            state.errorMessage = reason;
            FlowRecord next = seal(record.toBuilder()
                    .version(record.version() + 1)
                    .status(FlowStatus.CANCELLED)
                    .updatedAt(now)
                    .deadline(null)
                    .waits(group == null ? record.waits() : mergeWaits(record.waits(), group))
                    .retainUntil(now.plus(retention)), state);
            return store.compareAndSet(record.version(), next).flatMap(ok -> {
                if (!ok) return cancelAttempt(flowId, reason, attempt + 1);
                emit(FlowEvent.Type.CANCELLED, next, List.of(), now);
                return Mono.just(true);
            });
        }).defaultIfEmpty(false);
    }

    /**
     * Lifecycle events, published after each change is durable. A hot stream: subscribers see events from the
     * moment they subscribe; a slow subscriber misses events rather than slowing the hub.
     *
     * @return the events
     */
    public Flux<FlowEvent> events() {
        return events.asFlux();
    }

    /**
     * The store's health.
     *
     * @return the health
     */
    public Mono<StoreHealth> health() {
        return store.health();
    }

    private void emit(FlowEvent.Type type, FlowRecord record, List<String> awaitIds, Instant now) {
        FlowEvent event = new FlowEvent(type, record.id(), record.flowName(), awaitIds, now);
        synchronized (events) {
            events.tryEmitNext(event);
        }
    }

    private FlowState open(FlowRecord record) {
        FlowState state = codec.open(record.state(),
                StateCodec.aad(record.id(), record.flowName(), record.flowVersion(), record.version()));
        if (state.status != record.status()) {
            throw new StateIntegrityException("record " + record.id() + " says " + record.status()
                    + " but its sealed state says " + state.status);
        }
        return state;
    }

    private FlowRecord seal(FlowRecord.Builder builder, FlowState state) {
        FlowRecord draft = builder.state(new byte[0]).build();
        byte[] sealed = codec.seal(state,
                StateCodec.aad(draft.id(), draft.flowName(), draft.flowVersion(), draft.version()));
        return builder.state(sealed).build();
    }

    private static FlowDefinitionNotFoundException notRegistered(FlowRecord record) {
        return new FlowDefinitionNotFoundException("flow " + record.flowName() + " v" + record.flowVersion()
                + " is not registered with this hub; the flow stays suspended until it is");
    }

    private record ResumeContext(String keyHash, @Nullable String idempotencyKeyHash, String awaitId) {}

    private static final class Inflight {
        final String idempotencyKeyHash;
        volatile Mono<FlowResult> result = Mono.empty();

        Inflight(String idempotencyKeyHash) {
            this.idempotencyKeyHash = idempotencyKeyHash;
        }
    }

    /** Builds a {@link PersistenceHub}. */
    public static final class Builder {
        private final StateStore store;
        private final KeyRing keyRing;
        private FlowRegistry registry = new FlowRegistry();
        private @Nullable ObjectMapper mapper;
        private @Nullable AeadCipher cipher;
        private int gzipLevel = 6;
        private Clock clock = Clock.systemUTC();
        private @Nullable String instanceId;
        private Duration retention = Duration.ofDays(7);
        private Duration leaseDuration = Duration.ofMinutes(1);
        private Duration runningWait = Duration.ofSeconds(30);
        private Duration pollInterval = Duration.ofMillis(50);
        private int sweepConcurrency = 8;
        private Scheduler timer = Schedulers.parallel();

        private Builder(StateStore store, KeyRing keyRing) {
            this.store = Objects.requireNonNull(store, "store");
            this.keyRing = Objects.requireNonNull(keyRing, "keyRing: no key ring, no hub (see KeyRing.fromEnvironment)");
        }

        /**
         * Registers a flow definition.
         *
         * @param flow the definition
         * @return this builder
         */
        public Builder register(Flow<?, ?> flow) {
            registry.register(flow);
            return this;
        }

        /**
         * Uses a shared registry.
         *
         * @param registry the registry
         * @return this builder
         */
        public Builder registry(FlowRegistry registry) {
            this.registry = Objects.requireNonNull(registry);
            return this;
        }

        /**
         * The Jackson mapper for inputs, outputs, step values and state (default: Java time, ISO dates, unknown
         * properties ignored).
         *
         * @param mapper the mapper
         * @return this builder
         */
        public Builder objectMapper(ObjectMapper mapper) {
            this.mapper = Objects.requireNonNull(mapper);
            return this;
        }

        /**
         * The AES-GCM implementation (default: JCE, the faster one as measured in {@code bench/}).
         *
         * @param cipher the cipher
         * @return this builder
         */
        public Builder cipher(AeadCipher cipher) {
            this.cipher = Objects.requireNonNull(cipher);
            return this;
        }

        /**
         * The gzip level for state: 1 fastest … 9 smallest, 0 never compress (default 6). Compression is skipped
         * anyway for states under 512 bytes of JSON (a finished flow's record usually is one: deflate would save a few
         * dozen bytes for a whole deflate cycle of CPU) and when it does not make the state smaller.
         *
         * @param level 0 to 9
         * @return this builder
         */
        public Builder compressionLevel(int level) {
            this.gzipLevel = level;
            return this;
        }

        /**
         * The clock for deadlines, leases and retention (inject a fixed or mutable clock in tests).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /**
         * This hub's id as lease owner (default: random).
         *
         * @param instanceId the id
         * @return this builder
         */
        public Builder instanceId(String instanceId) {
            this.instanceId = Objects.requireNonNull(instanceId);
            return this;
        }

        /**
         * How long finished flows are kept (default 7 days).
         *
         * @param retention the retention
         * @return this builder
         */
        public Builder retention(Duration retention) {
            this.retention = Objects.requireNonNull(retention);
            return this;
        }

        /**
         * How long a claim's lease lasts before another instance may take the flow over (default 1 minute).
         *
         * @param lease the lease duration
         * @return this builder
         */
        public Builder leaseDuration(Duration lease) {
            this.leaseDuration = Objects.requireNonNull(lease);
            return this;
        }

        /**
         * How long an idempotent duplicate (or a second start with the same correlation id) waits for the running
         * winner before {@link FlowRunningException} (default 30 s).
         *
         * @param wait the wait
         * @return this builder
         */
        public Builder runningWait(Duration wait) {
            this.runningWait = Objects.requireNonNull(wait);
            return this;
        }

        /**
         * The scheduler for polling delays (default: {@code Schedulers.parallel()}; a virtual-time scheduler in
         * tests).
         *
         * @param timer the scheduler
         * @return this builder
         */
        public Builder timer(Scheduler timer) {
            this.timer = Objects.requireNonNull(timer);
            return this;
        }

        /**
         * How many overdue or orphaned flows one sweep batch fires at once (default 8). Higher drains a burst of
         * simultaneous deadlines faster at the cost of more concurrent store calls.
         *
         * @param concurrency at least 1
         * @return this builder
         */
        public Builder sweepConcurrency(int concurrency) {
            if (concurrency < 1) {
                throw new IllegalArgumentException("sweepConcurrency must be at least 1, got " + concurrency);
            }
            this.sweepConcurrency = concurrency;
            return this;
        }

        /**
         * Builds the hub. Nothing touches the store until the first call.
         *
         * @return the hub
         */
        public PersistenceHub build() {
            return new PersistenceHub(this);
        }
    }
}
