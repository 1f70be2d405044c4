package dev.stasis.backend.neo4j;

import dev.stasis.QueryCriteria;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.GroupCommit;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.neo4j.driver.BookmarkManager;
import org.neo4j.driver.BookmarkManagerConfig;
import org.neo4j.driver.BookmarkManagers;
import org.neo4j.driver.Driver;
import org.neo4j.driver.Record;
import org.neo4j.driver.SessionConfig;
import org.neo4j.driver.Value;
import org.neo4j.driver.reactivestreams.ReactiveResult;
import org.neo4j.driver.reactivestreams.ReactiveSession;
import org.neo4j.driver.reactivestreams.ReactiveTransactionContext;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * A {@link StateStore} on Neo4j 5 or later, through the reactive sessions of the Neo4j Java driver.
 *
 * <p>Each flow is a node {@code (:Flow {id, flowName, flowVersion, status, version, createdAt, updatedAt, deadline,
 * correlationId, leaseOwner, leaseExpiresAt, retainUntil, meta.<key>…, state, digest})} with one
 * {@code -[:AWAITS]->(:Wait {keyHash, awaitId, deadline, status, ordinal})} per wait. Instants are epoch
 * milliseconds; absent values are absent properties. {@link #provision()} creates uniqueness constraints on
 * {@code Flow.id}, {@code Flow.correlationId} and {@code Wait.keyHash} and range indexes for the queries. Any
 * number of instances may provision at once: the server's {@code IF NOT EXISTS} checks for a rule before it takes the
 * schema lock, so an instance that loses that race gets {@code EquivalentSchemaRuleAlreadyExists}; the store runs
 * the statement again, which then finds the rule.
 *
 * <p>Key-hash lookups (every resume starts with one) share read transactions under load: while
 * {@value #LOOKUPS_IN_FLIGHT} lookup transactions are in flight, further lookups wait and go out together, up to
 * {@value #LOOKUP_BATCH}, as one {@code UNWIND} statement ({@link GroupCommit}); a lookup that finds a free slot goes
 * out alone at once.
 *
 * <p>Every write is one Cypher statement in a managed write transaction ({@code executeWrite}), which the driver
 * retries on transient errors only. The compare-and-set locks the flow node before it checks the version, so it is
 * linearizable; a retried attempt first checks whether the previous attempt already committed, so a lost commit
 * answer does not turn a won compare-and-set (or an insert) into a loss. Reads run in managed read transactions and
 * check each record against its {@code digest}, reading it again when a concurrent commit tore it. In a cluster,
 * writes go to the leader and reads may go to followers; the store's bookmark manager makes its reads see its
 * earlier writes. At most {@link Builder#maxConcurrentTransactions(int)} transactions run at once; further calls
 * queue without holding a thread.
 *
 * <pre>{@code
 * Driver driver = GraphDatabase.driver("neo4j://db:7687", AuthTokens.basic("neo4j", secret));
 * StateStore store = Neo4jStore.builder(driver).database("flows").build();
 * }</pre>
 *
 * <p>The driver belongs to the application: {@link #close()} leaves it open.
 */
public final class Neo4jStore implements StateStore {

    /** How many times a torn read is read again before the call fails as transient. */
    private static final int TORN_READ_ATTEMPTS = 5;

    /** The most key-hash lookups one read transaction serves. */
    static final int LOOKUP_BATCH = 32;
    /** Key-lookup transactions in flight at once; lookups arriving meanwhile share the next one. */
    static final int LOOKUPS_IN_FLIGHT = 4;
    /** How often a schema statement is run again after losing a race with another instance's identical one. */
    private static final int SCHEMA_RACE_RETRIES = 5;

    private final Driver driver;
    private final @Nullable String database;
    private final Cypher cypher;
    private final SessionConfig sessionConfig;
    private final Permits permits;
    private final GroupCommit<String, FlowRecord> keyLookups;

    private Neo4jStore(Builder b) {
        this.driver = b.driver;
        this.database = b.database;
        this.cypher = new Cypher(b.labelPrefix);
        SessionConfig.Builder config = SessionConfig.builder();
        if (b.database != null) {
            config.withDatabase(b.database);
        }
        BookmarkManager bookmarks = b.bookmarksSet
                ? b.bookmarkManager
                : BookmarkManagers.defaultManager(BookmarkManagerConfig.builder().build());
        if (bookmarks != null) {
            config.withBookmarkManager(bookmarks);
        }
        this.sessionConfig = config.build();
        this.permits = new Permits(b.maxConcurrentTransactions);
        this.keyLookups = new GroupCommit<>(this::runKeyLookups, null, LOOKUP_BATCH, LOOKUPS_IN_FLIGHT);
    }

    /**
     * Starts a builder.
     *
     * @param driver the application's driver; the store opens sessions on it and never closes it
     * @return a builder
     */
    public static Builder builder(Driver driver) {
        return new Builder(driver);
    }

    @Override
    public Mono<Void> provision() {
        return Flux.fromIterable(cypher.schema().values())
                .concatMap(statement -> write("provision", tx -> consume(tx, statement, Map.of()))
                        // another instance created the same rule between our check and our commit: run the
                        // IF NOT EXISTS statement again, which now finds it (a few times, for a crowd of instances)
                        .retryWhen(Retry.max(SCHEMA_RACE_RETRIES).filter(Neo4jErrors::isSchemaRuleRace)
                                .onRetryExhaustedThrow((spec, signal) -> signal.failure())))
                .then(write("provision", tx -> consume(tx, "CALL db.awaitIndexes(300)", Map.of())))
                .then();
    }

    @Override
    public Mono<Void> insert(FlowRecord record) {
        return Mono.defer(() -> {
            AtomicInteger attempts = new AtomicInteger();
            return write("insert", tx -> {
                        Cypher.Statement st = attempts.getAndIncrement() == 0
                                ? cypher.insert(record)
                                : cypher.insertRetry(record);
                        return consume(tx, st.text(), st.params());
                    })
                    .then();
        });
    }

    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return readRecords("findById", cypher.findById(flowId)).singleOrEmpty();
    }

    /**
     * Finds the record holding a key hash; lookups that arrive while others are in flight share one read transaction
     * ({@code UNWIND}), see the class documentation.
     *
     * @param keyHash the SHA-256 hex of a resume key
     * @return the record whose current waits hold the hash, or empty
     */
    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return keyLookups.submit(keyHash);
    }

    /** Key lookups so far and the transactions they took (tests). */
    long[] keyLookupCounts() {
        return new long[] {keyLookups.requests(), keyLookups.batches()};
    }

    private Mono<List<GroupCommit.Outcome<FlowRecord>>> runKeyLookups(List<String> hashes) {
        if (hashes.size() == 1) {
            String keyHash = hashes.get(0);
            // a record read after a compare-and-set dropped this hash no longer holds it: not found
            return readRecords("findByKeyHash", cypher.findByKeyHash(keyHash))
                    .filter(r -> r.keyHashes().contains(keyHash))
                    .singleOrEmpty()
                    .map(r -> List.of(GroupCommit.Outcome.ok(r)))
                    .defaultIfEmpty(List.of(GroupCommit.Outcome.ok(null)));
        }
        Cypher.Statement st = cypher.findByKeyHashes(hashes);
        return read("findByKeyHash", tx -> rows(tx, st).map(r -> Map.entry(r.get("matched").asString(), raw(r))))
                .collectList()
                .flatMap(found -> Flux.fromIterable(found)
                        // each row checked whole (a torn read is read again by id); an unreadable one fails only its
                        // own lookup
                        .concatMap(e -> verified("findByKeyHash", e.getValue(), 1)
                                .map(r -> Map.entry(e.getKey(), GroupCommit.Outcome.ok(r)))
                                .onErrorResume(err -> Mono.just(Map.entry(e.getKey(),
                                        GroupCommit.Outcome.<FlowRecord>failed(Neo4jErrors.map("findByKeyHash", err))))))
                        .collectMap(Map.Entry::getKey, Map.Entry::getValue))
                // a record read after a compare-and-set dropped a hash no longer holds it: not found
                .map(byHash -> GroupCommit.inRequestOrder(hashes, byHash, (h, r) -> r.keyHashes().contains(h)));
    }

    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return readRecords("findByCorrelationId", cypher.findByCorrelationId(correlationId)).singleOrEmpty();
    }

    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return Mono.defer(() -> {
            AtomicInteger attempts = new AtomicInteger();
            return write("compareAndSet", tx -> {
                        Cypher.Statement cas = cypher.compareAndSet(expectedVersion, next);
                        if (attempts.getAndIncrement() == 0) {
                            return single(tx, cas, "applied", Value::asLong);
                        }
                        // a retry: the previous attempt may have committed before its answer was lost
                        return single(tx, cypher.alreadyApplied(next), "done", Value::asBoolean)
                                .filter(done -> done)
                                .map(done -> 1L)
                                .switchIfEmpty(single(tx, cas, "applied", Value::asLong));
                    })
                    .map(applied -> !applied.isEmpty() && applied.get(0) > 0);
        });
    }

    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        Cypher.Statement st = cypher.delete(flowId, expectedVersion);
        return write("delete", tx -> single(tx, st, "deleted", Value::asLong))
                .map(deleted -> !deleted.isEmpty() && deleted.get(0) > 0);
    }

    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return Flux.defer(() -> readRecords("query", cypher.query(criteria)));
    }

    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return Mono.defer(() -> {
            Cypher.Statement st = cypher.deleteMatching(criteria);
            return write("deleteMatching", tx -> single(tx, st, "deleted", Value::asLong))
                    .map(deleted -> deleted.isEmpty() ? 0L : deleted.get(0));
        });
    }

    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return Flux.defer(() -> readRecords("dueForTimeout", cypher.dueForTimeout(now, limit)));
    }

    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return Flux.defer(() -> readRecords("expiredLeases", cypher.expiredLeases(now, limit)));
    }

    /**
     * Reports the server's name, version and edition and whether all of the store's constraints and indexes are
     * online. An unreachable server gives {@code up = false} with the error's class in the details.
     *
     * @return the health
     */
    @Override
    public Mono<StoreHealth> health() {
        Cypher.Statement info = cypher.serverInfo();
        Cypher.Statement online = cypher.onlineSchema();
        int expected = cypher.schema().size();
        Mono<Map<String, String>> server = read("health", tx -> rows(tx, info).map(r -> {
                    Map<String, String> d = new LinkedHashMap<>();
                    d.put("server", r.get("name").asString("") + " " + r.get("version").asString(""));
                    d.put("edition", r.get("edition").asString(""));
                    return d;
                }))
                .last(new LinkedHashMap<>());
        Mono<Long> onlineCount = read("health", tx -> single(tx, online, "online", Value::asLong)).last(0L);
        return Mono.zip(server, onlineCount)
                .map(t -> {
                    Map<String, String> details = new LinkedHashMap<>(t.getT1());
                    details.put("database", database == null ? "(default)" : database);
                    details.put("labels", cypher.flowLabel() + ", " + cypher.waitLabel());
                    details.put("schema", t.getT2() + "/" + expected + " online");
                    return new StoreHealth("neo4j", true, t.getT2() == expected, details);
                })
                .onErrorResume(e -> Mono.just(new StoreHealth("neo4j", false, false, Map.of(
                        "database", database == null ? "(default)" : database,
                        "error", Neo4jErrors.map("health", e).getClass().getSimpleName()))));
    }

    /**
     * Does nothing: the driver belongs to the application, which closes it.
     *
     * @return completes empty
     */
    @Override
    public Mono<Void> close() {
        return Mono.empty();
    }

    // ------------------------------------------------------------------ driver plumbing

    /**
     * Reads records and checks each against its digest. The rows are collected before any re-read, so that a
     * re-read never waits for a permit while its own query still holds one.
     */
    private Flux<FlowRecord> readRecords(String operation, Cypher.Statement st) {
        return read(operation, tx -> rows(tx, st).map(Neo4jStore::raw))
                .collectList()
                .flatMapMany(rows -> Flux.fromIterable(rows).concatMap(raw -> verified(operation, raw, 1)))
                .onErrorMap(e -> Neo4jErrors.map(operation, e));
    }

    /**
     * The record, once it was read whole: a torn read (a commit landed while the statement read the node) is read
     * again by id. A mismatch that reads the same twice is not torn but stable (a node changed outside the store,
     * for example tampered with): it is returned as it is, and the hub's authentication of the sealed state judges
     * it. A record deleted meanwhile is skipped.
     */
    private Mono<FlowRecord> verified(String operation, RecordMapper.Raw raw, int attempt) {
        if (RecordMapper.intact(raw)) {
            return Mono.fromCallable(() -> RecordMapper.toRecord(raw));
        }
        Object id = raw.flow().get("id");
        if (!(id instanceof String flowId)) {
            return Mono.error(new IllegalStateException("a flow node without an id"));
        }
        return read(operation, tx -> rows(tx, cypher.findById(flowId)).map(Neo4jStore::raw))
                .collectList()
                .flatMap(again -> {
                    if (again.isEmpty()) {
                        return Mono.empty();
                    }
                    RecordMapper.Raw now = again.get(0);
                    if (RecordMapper.intact(now) || sameContent(now, raw)) {
                        return Mono.fromCallable(() -> RecordMapper.toRecord(now));
                    }
                    if (attempt >= TORN_READ_ATTEMPTS) {
                        return Mono.error(new StorageUnavailableException("flow " + flowId + " read torn "
                                + attempt + " times in a row under concurrent writes; retry"));
                    }
                    return verified(operation, now, attempt + 1);
                });
    }

    private static boolean sameContent(RecordMapper.Raw a, RecordMapper.Raw b) {
        return Objects.equals(a.flow().get(RecordMapper.DIGEST), b.flow().get(RecordMapper.DIGEST))
                && RecordMapper.digest(a.flow(), a.waits()).equals(RecordMapper.digest(b.flow(), b.waits()));
    }

    private static RecordMapper.Raw raw(Record r) {
        return new RecordMapper.Raw(r.get("flow").asMap(), r.get("waits").asList(Value::asMap));
    }

    private <T> Flux<T> read(String operation, Function<ReactiveTransactionContext, Publisher<T>> work) {
        return inSession(operation, s -> s.executeRead(work::apply));
    }

    /**
     * Runs a managed write transaction and collects what it emits. Collecting matters: the driver emits the
     * callback's items before it commits and rolls the transaction back when its subscriber cancels, so taking the
     * first item with {@code next()} or {@code Mono.from} would undo the write.
     */
    private <T> Mono<List<T>> write(String operation, Function<ReactiveTransactionContext, Publisher<T>> work) {
        return inSession(operation, s -> s.executeWrite(work::apply)).collectList();
    }

    private <T> Flux<T> inSession(String operation, Function<ReactiveSession, Publisher<T>> work) {
        return permits.limit(Flux.usingWhen(
                        Mono.fromSupplier(() -> driver.session(ReactiveSession.class, sessionConfig)),
                        work,
                        ReactiveSession::close))
                .onErrorMap(e -> Neo4jErrors.map(operation, e));
    }

    private static Flux<Record> rows(ReactiveTransactionContext tx, Cypher.Statement st) {
        return Flux.from(tx.run(st.text(), st.params())).concatMap(ReactiveResult::records);
    }

    private static <T> Mono<T> single(
            ReactiveTransactionContext tx, Cypher.Statement st, String column, Function<Value, T> convert) {
        // singleOrEmpty waits for the end of the result instead of cancelling it after the first row
        return rows(tx, st).map(r -> convert.apply(r.get(column))).singleOrEmpty();
    }

    private static Mono<Void> consume(ReactiveTransactionContext tx, String text, Map<String, Object> params) {
        return Flux.from(tx.run(text, params)).concatMap(ReactiveResult::consume).then();
    }

    /** Builds a {@link Neo4jStore}. */
    public static final class Builder {
        /** The default of {@link #maxConcurrentTransactions(int)}: the driver's default pool size. */
        public static final int DEFAULT_MAX_CONCURRENT_TRANSACTIONS = 100;

        private final Driver driver;
        private @Nullable String database;
        private String labelPrefix = "";
        private @Nullable BookmarkManager bookmarkManager;
        private boolean bookmarksSet;
        private int maxConcurrentTransactions = DEFAULT_MAX_CONCURRENT_TRANSACTIONS;

        private Builder(Driver driver) {
            this.driver = Objects.requireNonNull(driver, "driver");
        }

        /**
         * The database to use.
         *
         * @param database a database name, or {@code null} for the server's default database (the default)
         * @return this builder
         */
        public Builder database(@Nullable String database) {
            this.database = database;
            return this;
        }

        /**
         * A prefix for the store's labels, constraint and index names, so that several stores (or an application's
         * own {@code :Flow} nodes) share one database: {@code "acme_"} gives {@code :acme_Flow} and
         * {@code :acme_Wait}.
         *
         * @param labelPrefix empty (the default) or letters, digits and underscores, not starting with a digit, at
         *     most 64 characters
         * @return this builder
         * @throws IllegalArgumentException when the prefix is not a plain identifier
         */
        public Builder labelPrefix(String labelPrefix) {
            new Cypher(Objects.requireNonNull(labelPrefix, "labelPrefix"));
            this.labelPrefix = labelPrefix;
            return this;
        }

        /**
         * The bookmark manager that chains the store's transactions for causal consistency in a cluster. By default
         * the store creates its own, so that its reads see its earlier writes; pass a shared manager (for example
         * {@code driver.executableQueryBookmarkManager()}) to chain with the application's other work, or
         * {@code null} to use no bookmarks (reads may then lag behind writes on a follower).
         *
         * @param bookmarkManager the manager, or {@code null} for none
         * @return this builder
         */
        public Builder bookmarkManager(@Nullable BookmarkManager bookmarkManager) {
            this.bookmarkManager = bookmarkManager;
            this.bookmarksSet = true;
            return this;
        }

        /**
         * How many transactions the store runs at once; further calls wait in FIFO order without holding a thread.
         * Keep it at or below the driver's {@code maxConnectionPoolSize} (100 by default): the driver queues only 100
         * connection requests beyond its pool and fails the rest with a transient error, which its managed
         * transactions retry after back-offs of a second or more.
         *
         * @param max at least 1; {@value #DEFAULT_MAX_CONCURRENT_TRANSACTIONS} by default
         * @return this builder
         * @throws IllegalArgumentException when {@code max} is below 1
         */
        public Builder maxConcurrentTransactions(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConcurrentTransactions must be at least 1, was " + max);
            }
            this.maxConcurrentTransactions = max;
            return this;
        }

        /**
         * Builds the store. It does not connect until its first call.
         *
         * @return the store
         */
        public Neo4jStore build() {
            return new Neo4jStore(this);
        }
    }
}
