package dev.stasis.backend.postgres;

import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.GroupCommit;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.pool.PoolMetrics;
import io.r2dbc.postgresql.codec.Json;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Option;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link StateStore} on PostgreSQL, through r2dbc-postgresql (non-blocking) and r2dbc-pool.
 *
 * <pre>{@code
 * StateStore store = PostgresStore.builder("r2dbc:postgresql://app@db.internal:5432/app")
 *         .schema("stasis")
 *         .maxPoolSize(20)
 *         .build();
 * }</pre>
 *
 * <p><b>What it creates</b> ({@link #provision()}, schema version 1): in schema {@code stasis} (configurable), a table
 * {@code flows} (configurable) with one row per flow, a table {@code flows_keys} with one row per wait key hash
 * (primary key on the hash, foreign key to the flow {@code ON DELETE CASCADE}), and {@code stasis_schema_version},
 * which records the version each table has so later releases can migrate. Indexes: key hash (primary key of
 * {@code flows_keys}), correlation id (unique), suspended deadlines and running lease expiries (partial indexes that
 * serve {@link #dueForTimeout} and {@link #expiredLeases}), status, flow name, creation time, retention end, await ids
 * (GIN over a text array) and metadata (GIN, {@code jsonb_path_ops}). Provisioning is idempotent and safe when many
 * instances start at once: the DDL runs in one transaction under {@code pg_advisory_xact_lock}, because concurrent
 * {@code CREATE … IF NOT EXISTS} can still fail in PostgreSQL with unique violations on the catalogs. With
 * {@code provision(false)} the store only checks that the schema is there (for deployments where a DBA applies the
 * DDL; the module's README lists it).
 *
 * <p><b>Atomicity.</b> {@link #compareAndSet} is <em>one</em> SQL statement: a data-modifying CTE whose
 * {@code UPDATE … WHERE id = $1 AND version = $2 RETURNING id} decides, and whose {@code DELETE} of dropped key
 * hashes and {@code INSERT … ON CONFLICT DO NOTHING} of new ones join that {@code RETURNING}, so they happen only when
 * the update did. Concurrent calls for the same version queue on the row lock and re-check the version after the
 * winner commits (PostgreSQL's READ COMMITTED re-evaluation), so exactly one sees its update applied; there is no
 * read-modify-write window. {@link #insert} is likewise one statement (the row and its key hashes, rejected as a whole
 * by any unique violation). {@link #findByKeyHash} also checks that the hash is among the record's current waits, so
 * an index row could never resolve to a record that no longer holds it.
 *
 * <p><b>Group commit.</b> Inserts, compare-and-sets and key lookups go through a small batcher per kind: at most
 * {@link Builder#writeConcurrency(int)} statements of a kind are in flight, and calls that arrive meanwhile go out
 * together, up to {@link Builder#maxBatch(int)} records and about 4 MiB, as <em>one</em> statement over a JSON
 * document of the records ({@code jsonb_to_recordset}): one bind value, one round trip, one commit and WAL flush for
 * the whole batch. There is no timer: a call that finds a free slot goes out at once, alone, as the plain statement
 * above, so latency at low load is unchanged. The batch compare-and-set first locks the rows whose version matches, in id order, so
 * concurrent batches cannot deadlock, and it re-checks each version under the lock exactly as the single statement
 * does; two compare-and-sets of the same flow never share a batch. When one record makes a batch fail with an
 * answer from the server (a duplicate correlation id, say) nothing of it was written, and its records are run again
 * one by one, so only that record's caller sees the error; a lost connection fails the whole batch with
 * {@link StorageUnavailableException} (outcome unknown, as for any write). Each call answers only after its
 * statement committed, so a key is still handed out only once its record is durable. Health details report how
 * many records went in how many statements.
 *
 * <p><b>Connections.</b> {@link #builder(String)} creates an r2dbc-pool {@link ConnectionPool} that the store owns and
 * {@link #close() closes}; {@link #builder(ConnectionFactory)} uses the application's factory (pooled or not) and
 * leaves it open. Every operation holds a connection only for its statement (auto-commit), except provisioning.
 *
 * <p><b>Errors.</b> Unique violations on insert are {@link DuplicateRecordException}; connection failures, closed
 * connections, pool acquire timeouts, statement timeouts, serialization failures and a read-only standby are
 * {@link StorageUnavailableException}; anything else is {@link StorageException}.
 *
 * <p><b>Scale-out.</b> Any number of hub instances may share the tables: every state change is a version-checked
 * statement on the primary. Read replicas are not used (a resume must read its own writes).
 */
public final class PostgresStore implements StateStore {

    private static final String STORE = "postgres";
    /** Client-side grace over the statement timeout, so that the server's own timeout normally fires first. */
    private static final Duration GUARD_GRACE = Duration.ofSeconds(2);

    private final ConnectionFactory connections;
    private final @Nullable ConnectionPool ownedPool;
    private final Sql sql;
    private final Duration acquireTimeout;
    private final Duration guard;
    private final boolean autoProvision;
    private final GroupCommit<FlowRecord, Void> inserts;
    private final GroupCommit<Swap, Boolean> swaps;
    private final GroupCommit<String, FlowRecord> keyLookups;
    private final boolean batchStatementsAlways;

    /**
     * The most bytes of records one group-commit statement carries (a record that is larger alone still goes, alone):
     * a few records with multi-megabyte states must not become one giant statement.
     */
    static final long MAX_BATCH_BYTES = 4L * 1024 * 1024;

    /** A record's share of a batch: its sealed state in base64 plus its other fields, roughly. */
    private static long batchWeight(FlowRecord record) {
        return record.state().length * 4L / 3 + 512L * (1 + record.waits().size());
    }

    /** One compare-and-set request. */
    private record Swap(long expectedVersion, FlowRecord next) {}

    private PostgresStore(ConnectionFactory connections, @Nullable ConnectionPool ownedPool, Builder b) {
        this.connections = connections;
        this.ownedPool = ownedPool;
        this.sql = new Sql(b.schema, b.table);
        this.acquireTimeout = b.acquireTimeout;
        this.guard = b.statementTimeout.plus(GUARD_GRACE);
        this.autoProvision = b.provision;
        this.batchStatementsAlways = b.batchStatementsAlways;
        this.inserts = new GroupCommit<>(this::runInserts, FlowRecord::id, b.maxBatch, b.writeConcurrency,
                PostgresStore::batchWeight, MAX_BATCH_BYTES);
        this.swaps = new GroupCommit<>(this::runSwaps, swap -> swap.next().id(), b.maxBatch, b.writeConcurrency,
                swap -> batchWeight(swap.next()), MAX_BATCH_BYTES);
        this.keyLookups = new GroupCommit<>(this::runKeyLookups, null, b.maxBatch, b.writeConcurrency);
    }

    /**
     * Starts a builder for a store on the application's connection factory (typically its own
     * {@link ConnectionPool}). {@link #close()} leaves the factory open, and the pool options of the builder do not
     * apply.
     *
     * @param connectionFactory a factory of PostgreSQL connections
     * @return a builder
     */
    public static Builder builder(ConnectionFactory connectionFactory) {
        return new Builder(Objects.requireNonNull(connectionFactory, "connectionFactory"), null);
    }

    /**
     * Starts a builder for a store that creates and owns an r2dbc-pool {@link ConnectionPool} on the given URL, for
     * example {@code r2dbc:postgresql://postgres@127.0.0.1:5432/test} (driver options such as {@code sslMode} may be
     * given as query parameters). {@link #close()} closes the pool.
     *
     * @param r2dbcUrl an {@code r2dbc:postgresql:} URL (not {@code r2dbc:pool:}: the store pools by itself)
     * @return a builder
     * @throws IllegalArgumentException when the URL is malformed or names another driver
     */
    public static Builder builder(String r2dbcUrl) {
        Objects.requireNonNull(r2dbcUrl, "r2dbcUrl");
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(r2dbcUrl);
        Object driver = options.getValue(ConnectionFactoryOptions.DRIVER);
        if ("pool".equals(driver)) {
            throw new IllegalArgumentException(
                    "pass an r2dbc:postgresql: URL, not r2dbc:pool: (the store creates its own pool)");
        }
        if (!"postgresql".equals(driver) && !"postgres".equals(driver)) {
            throw new IllegalArgumentException("not a PostgreSQL R2DBC URL (driver '" + driver + "')");
        }
        return new Builder(null, options);
    }

    // ------------------------------------------------------------------ provisioning

    /**
     * Creates the schema, tables and indexes if they are missing (schema version 1) and records the version; with
     * {@code provision(false)}, only checks that they exist. Idempotent; safe when many instances run it at once (one
     * transaction under a constant advisory lock; an instance that finds the version recorded does no DDL).
     *
     * @return completes when the store is ready; signals {@link StorageException} when it is not provisioned and may
     *     not provision itself, or when the DDL fails (for example for lack of privileges)
     */
    @Override
    public Mono<Void> provision() {
        return withConnection("provision", c -> relations(c).flatMap(rel -> {
                    if (rel.version() >= Sql.SCHEMA_VERSION && rel.flows() && rel.keys()) {
                        return Mono.empty();
                    }
                    if (!autoProvision) {
                        return Mono.error(new StorageException("postgres store not provisioned: " + sql.flows
                                + " (schema version " + rel.version() + ", expected " + Sql.SCHEMA_VERSION
                                + "); enable provision(true) or apply the DDL from the module's README"));
                    }
                    return migrate(c);
                }))
                .then();
    }

    private Mono<Void> migrate(Connection c) {
        Mono<Void> ddl = Mono.defer(() -> rows(c, sql.lockProvisioning(), List.of(), (row, md) -> 1).then())
                .then(Mono.defer(() -> rows(c, sql.schemaExists(), List.of(sql.schemaName), (row, md) -> count(row))
                        .single()))
                .flatMap(n -> n > 0 ? Mono.<Long>empty() : update(c, sql.createSchema(), List.of()))
                .then(Mono.defer(() -> update(c, sql.createVersionTable(), List.of())))
                // every statement is idempotent: an instance that lost the race re-runs them harmlessly
                .thenMany(Flux.defer(() -> Flux.fromIterable(sql.ddlVersion1())))
                .concatMap(statement -> update(c, statement, List.of()))
                .then(Mono.defer(() -> update(c, sql.recordVersion(), List.of(sql.tableName, Sql.SCHEMA_VERSION))))
                .then();
        return Mono.from(c.beginTransaction())
                .then(ddl)
                .then(Mono.defer(() -> Mono.from(c.commitTransaction())))
                .onErrorResume(e -> Mono.from(c.rollbackTransaction())
                        .onErrorResume(ignored -> Mono.empty())
                        .then(Mono.error(e)));
    }

    /** What exists: the three relations, the recorded schema version, the server version. */
    private record Relations(boolean versions, boolean flows, boolean keys, int version, String serverVersion) {}

    private Mono<Relations> relations(Connection c) {
        return rows(c, sql.relationsExist(), List.of(sql.versions, sql.flows, sql.keys),
                        (row, md) -> new Relations(row.get("versions", String.class) != null,
                                row.get("flows", String.class) != null, row.get("keys", String.class) != null, 0,
                                String.valueOf(row.get("server_version", String.class))))
                .single()
                .flatMap(rel -> !rel.versions()
                        ? Mono.just(rel)
                        : rows(c, sql.storedVersion(), List.of(sql.tableName),
                                        (row, md) -> Objects.requireNonNull(row.get("version", Integer.class)))
                                .single()
                                .map(v -> new Relations(true, rel.flows(), rel.keys(), v, rel.serverVersion())));
    }

    // ------------------------------------------------------------------ the SPI

    /**
     * Inserts the record and its key hashes in one statement, shared with the inserts that arrive while earlier ones
     * are in flight (group commit, see the class documentation).
     *
     * @param record the record
     * @return completes when committed; {@link DuplicateRecordException} on a duplicate flow id, correlation id or
     *     key hash (nothing is written)
     */
    @Override
    public Mono<Void> insert(FlowRecord record) {
        Objects.requireNonNull(record, "record");
        return inserts.submit(record);
    }

    private Mono<List<GroupCommit.Outcome<Void>>> runInserts(List<FlowRecord> batch) {
        Mono<Long> statement = batch.size() == 1 && !batchStatementsAlways
                // alone: the plain statement, which the server runs faster than the batch form
                ? withConnection("insert", c -> update(c, sql.insert, RecordCodec.insertParams(batch.get(0)))).next()
                : withConnection("insert", c -> update(c, sql.insertBatch,
                        List.of(Json.of(RecordCodec.batchJson(batch, null))))).next();
        Mono<List<GroupCommit.Outcome<Void>>> all = statement.then(Mono.fromSupplier(() -> {
            List<GroupCommit.Outcome<Void>> ok = new ArrayList<>(batch.size());
            batch.forEach(r -> ok.add(GroupCommit.Outcome.ok(null)));
            return ok;
        }));
        return orOneByOne(all, batch, this::runInserts);
    }

    /**
     * Finds a record by its primary key.
     *
     * @param flowId the flow id
     * @return the record, or empty
     */
    @Override
    public Mono<FlowRecord> findById(String flowId) {
        Objects.requireNonNull(flowId, "flowId");
        return withConnection("findById", c -> records(c, sql.findById, List.of(flowId))).singleOrEmpty();
    }

    /**
     * Finds a record through the primary key of the key-hash table; lookups that arrive while others are in flight
     * share one statement ({@code key_hash = ANY(…)}).
     *
     * @param keyHash the SHA-256 hex of a resume key
     * @return the record whose current waits hold the hash, or empty
     */
    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        Objects.requireNonNull(keyHash, "keyHash");
        return keyLookups.submit(keyHash);
    }

    private Mono<List<GroupCommit.Outcome<FlowRecord>>> runKeyLookups(List<String> hashes) {
        Flux<Map.Entry<String, GroupCommit.Outcome<FlowRecord>>> rows = hashes.size() == 1 && !batchStatementsAlways
                ? withConnection("findByKeyHash", c -> rows(c, sql.findByKeyHash, List.of(hashes.get(0)),
                        (row, md) -> Map.entry(hashes.get(0), decodeOutcome(row))))
                : withConnection("findByKeyHash", c -> rows(c, sql.findByKeyHashes,
                        List.of((Object) hashes.toArray(new String[0])),
                        (row, md) -> Map.entry(Objects.requireNonNull(row.get("matched", String.class)),
                                decodeOutcome(row))));
        // the index row must agree with the record's current waits
        return rows.collectMap(Map.Entry::getKey, Map.Entry::getValue)
                .map(found -> GroupCommit.inRequestOrder(hashes, found, (h, r) -> r.keyHashes().contains(h)));
    }

    /** A row as a record, or the error of that row alone (a record that cannot be read fails only its lookups). */
    private static GroupCommit.Outcome<FlowRecord> decodeOutcome(Row row) {
        try {
            return GroupCommit.Outcome.ok(RecordCodec.decode(row));
        } catch (RuntimeException e) {
            return GroupCommit.Outcome.failed(e);
        }
    }

    /**
     * Finds a record through the unique correlation-id index.
     *
     * @param correlationId the correlation id
     * @return the record, or empty
     */
    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        Objects.requireNonNull(correlationId, "correlationId");
        return withConnection("findByCorrelationId", c -> records(c, sql.findByCorrelationId, List.of(correlationId)))
                .singleOrEmpty();
    }

    /**
     * Replaces the record if its stored version is {@code expectedVersion}, moving its key hashes with it, in one
     * statement (see the class documentation). The correlation id is not changed. A new key hash that another flow
     * already holds is not re-pointed (hashes of fresh random keys do not collide).
     *
     * @param expectedVersion the version the caller read
     * @param next the new record
     * @return {@code true} when applied and committed, {@code false} when the version differs or the record is gone
     */
    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        Objects.requireNonNull(next, "next");
        return swaps.submit(new Swap(expectedVersion, next));
    }

    private Mono<List<GroupCommit.Outcome<Boolean>>> runSwaps(List<Swap> batch) {
        List<FlowRecord> records = new ArrayList<>(batch.size());
        long[] expected = new long[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            records.add(batch.get(i).next());
            expected[i] = batch.get(i).expectedVersion();
        }
        Mono<Set<String>> applied = batch.size() == 1 && !batchStatementsAlways
                // alone: the plain statement, which answers how many rows it updated
                ? withConnection("compareAndSet", c -> rows(c, sql.compareAndSet,
                                RecordCodec.compareAndSetParams(expected[0], records.get(0)), (row, md) -> count(row)))
                        .filter(n -> n > 0)
                        .map(n -> records.get(0).id())
                        .collect(HashSet<String>::new, Set::add)
                : withConnection("compareAndSet", c -> rows(c, sql.compareAndSetBatch,
                                List.of(Json.of(RecordCodec.batchJson(records, expected))),
                                (row, md) -> Objects.requireNonNull(row.get(0, String.class))))
                        .collect(HashSet<String>::new, Set::add);
        Mono<List<GroupCommit.Outcome<Boolean>>> all = applied.map(ids -> {
            List<GroupCommit.Outcome<Boolean>> outcomes = new ArrayList<>(batch.size());
            for (FlowRecord r : records) {
                outcomes.add(GroupCommit.Outcome.ok(ids.contains(r.id())));
            }
            return outcomes;
        });
        return orOneByOne(all, batch, this::runSwaps);
    }

    /**
     * The outcomes of a batch statement, with its errors handled: an error of a batch of one is that record's (the
     * batcher hands it to its caller); a larger batch that one record made fail (a duplicate, say: the statement
     * rolled back whole) runs again record by record, so that only that record's caller gets the error; any other
     * error (a lost connection: the outcome is unknown) fails every caller of the batch.
     */
    private static <Q, A> Mono<List<GroupCommit.Outcome<A>>> orOneByOne(Mono<List<GroupCommit.Outcome<A>>> all,
            List<Q> batch, Function<List<Q>, Mono<List<GroupCommit.Outcome<A>>>> run) {
        if (batch.size() == 1) {
            return all;
        }
        return all.onErrorResume(PostgresStore::answeredAndRolledBack, e -> Flux.fromIterable(batch)
                .concatMap(q -> run.apply(List.of(q)).onErrorResume(one -> Mono.just(List.of(
                        GroupCommit.Outcome.failed(one)))))
                .map(one -> one.get(0))
                .collectList());
    }

    /**
     * Whether a failed batch statement certainly changed nothing and may be run again record by record: the server
     * answered with an error of the statement (a constraint, a deadlock, a serialization failure, bad data), not of
     * the connection, a timeout or a shutdown, after which the outcome is unknown and the callers must re-read.
     */
    private static boolean answeredAndRolledBack(Throwable e) {
        String state = PgErrors.sqlState(e);
        if (state == null) {
            return false;
        }
        return "40001".equals(state) || "40P01".equals(state) || !PgErrors.isTransient(e, state);
    }

    /**
     * Deletes the record at the expected version; its key hashes go with it ({@code ON DELETE CASCADE}).
     *
     * @param flowId the flow id
     * @param expectedVersion the version the caller read
     * @return {@code true} when deleted
     */
    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        Objects.requireNonNull(flowId, "flowId");
        return withConnection("delete", c -> update(c, sql.delete, List.of(flowId, expectedVersion)))
                .singleOrEmpty()
                .map(n -> n > 0)
                .defaultIfEmpty(false);
    }

    /**
     * Runs the criteria as one parameterised {@code SELECT … ORDER BY id LIMIT n} (metadata through
     * {@code metadata @> $n::jsonb}, await id through the GIN index, the cursor as {@code id > $n}).
     *
     * @param criteria the filters, cursor and limit
     * @return the records in flow-id order
     */
    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        Objects.requireNonNull(criteria, "criteria");
        return withConnection("query", c -> {
            Sql.Bound q = sql.query(criteria, RecordCodec.metadataJson(criteria.metadata()));
            return records(c, q.sql(), q.params());
        });
    }

    /**
     * Deletes up to the limit of matching records, lowest ids first, in one statement; rows that a concurrent
     * compare-and-set holds locked are skipped (they are found again by the next call).
     *
     * @param criteria the filters and limit
     * @return how many were deleted
     */
    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        Objects.requireNonNull(criteria, "criteria");
        return withConnection("deleteMatching", c -> {
                    Sql.Bound q = sql.deleteMatching(criteria, RecordCodec.metadataJson(criteria.metadata()));
                    return update(c, q.sql(), q.params());
                })
                .reduce(0L, Long::sum);
    }

    /**
     * Suspended records whose deadline is at or before {@code now}, earliest first (partial index on deadline).
     *
     * @param now the hub's time
     * @param limit at most this many; none when below 1
     * @return the records
     */
    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        Objects.requireNonNull(now, "now");
        if (limit < 1) {
            return Flux.empty();
        }
        return withConnection("dueForTimeout", c -> records(c, sql.dueForTimeout, List.of(Sql.millis(now), limit)));
    }

    /**
     * Running records whose lease expired at or before {@code now}, oldest first (partial index on lease expiry).
     *
     * @param now the hub's time
     * @param limit at most this many; none when below 1
     * @return the records
     */
    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        Objects.requireNonNull(now, "now");
        if (limit < 1) {
            return Flux.empty();
        }
        return withConnection("expiredLeases", c -> records(c, sql.expiredLeases, List.of(Sql.millis(now), limit)));
    }

    /**
     * Runs one catalog query ({@code to_regclass} of the tables, the server version) and reads the schema version.
     * Details: schema, table, server and schema versions, and the pool's metrics when the factory is an r2dbc-pool.
     *
     * @return the health; {@code up = false} with an {@code error} detail when the server cannot be reached
     */
    @Override
    public Mono<StoreHealth> health() {
        return withConnection("health", this::relations)
                .singleOrEmpty()
                .map(rel -> {
                    Map<String, String> details = baseDetails();
                    details.put("serverVersion", rel.serverVersion());
                    details.put("schemaVersion", String.valueOf(rel.version()));
                    return new StoreHealth(STORE, true, rel.flows() && rel.keys() && rel.version() >= 1, details);
                })
                .onErrorResume(e -> {
                    Map<String, String> details = baseDetails();
                    details.put("error", PgErrors.map(e, "health").getMessage());
                    return Mono.just(new StoreHealth(STORE, false, false, details));
                });
    }

    /** How many statements and records group commit sent so far (health details; tests). */
    record Batching(long insertStatements, long inserts, long compareAndSetStatements, long compareAndSets,
            long keyLookupStatements, long keyLookups) {}

    Batching batching() {
        return new Batching(inserts.batches(), inserts.requests(), swaps.batches(), swaps.requests(),
                keyLookups.batches(), keyLookups.requests());
    }

    private Map<String, String> baseDetails() {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("schema", sql.schemaName);
        details.put("table", sql.tableName);
        Batching b = batching();
        details.put("groupCommit.insert", b.inserts() + " records in " + b.insertStatements() + " statements");
        details.put("groupCommit.compareAndSet",
                b.compareAndSets() + " records in " + b.compareAndSetStatements() + " statements");
        details.put("groupCommit.findByKeyHash",
                b.keyLookups() + " lookups in " + b.keyLookupStatements() + " statements");
        if (connections instanceof ConnectionPool pool) {
            pool.getMetrics().ifPresent(m -> putPoolMetrics(details, m));
        }
        return details;
    }

    private static void putPoolMetrics(Map<String, String> details, PoolMetrics m) {
        details.put("pool.acquired", String.valueOf(m.acquiredSize()));
        details.put("pool.allocated", String.valueOf(m.allocatedSize()));
        details.put("pool.idle", String.valueOf(m.idleSize()));
        details.put("pool.pendingAcquire", String.valueOf(m.pendingAcquireSize()));
        details.put("pool.maxAllocated", String.valueOf(m.getMaxAllocatedSize()));
    }

    /**
     * Closes the pool the store created from a URL; a connection factory passed in by the application is left open.
     *
     * @return completes when closed
     */
    @Override
    public Mono<Void> close() {
        return Mono.defer(() -> ownedPool == null ? Mono.empty() : ownedPool.disposeLater());
    }

    @Override
    public String toString() {
        return "PostgresStore[" + sql.flows + "]";
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * Runs {@code work} on a connection that is released afterwards (also on error and cancel), with the acquire and
     * statement guards, and maps every error in {@link PgErrors}.
     */
    private <T> Flux<T> withConnection(String operation, Function<Connection, ? extends Publisher<T>> work) {
        return Flux.usingWhen(
                        acquire(),
                        c -> Flux.from(work.apply(c)).timeout(guard, Flux.defer(() -> Flux.error(new TimeoutException(
                                "no answer within " + guard.toMillis() + " ms")))),
                        Connection::close,
                        (c, error) -> c.close(),
                        Connection::close)
                .onErrorMap(e -> PgErrors.map(e, operation));
    }

    private Mono<Connection> acquire() {
        Mono<Connection> connection = Mono.defer(() -> Mono.from(connections.create()));
        if (ownedPool != null) {
            return connection; // the pool enforces maxAcquireTime itself
        }
        return connection.timeout(acquireTimeout, Mono.defer(() -> Mono.error(new TimeoutException(
                "no connection within " + acquireTimeout.toMillis() + " ms"))));
    }

    private static Flux<FlowRecord> records(Connection c, String sql, List<Object> params) {
        return rows(c, sql, params, (row, md) -> RecordCodec.decode(row));
    }

    private static <T> Flux<T> rows(
            Connection c, String sql, List<Object> params, BiFunction<Row, RowMetadata, T> mapper) {
        return Flux.defer(() -> Flux.from(RecordCodec.bind(c.createStatement(sql), params).execute()))
                .concatMap(result -> result.map(mapper));
    }

    private static Mono<Long> update(Connection c, String sql, List<Object> params) {
        return Flux.defer(() -> Flux.from(RecordCodec.bind(c.createStatement(sql), params).execute()))
                .concatMap(Result::getRowsUpdated)
                .reduce(0L, Long::sum);
    }

    private static long count(Row row) {
        Long n = row.get(0, Long.class);
        return n == null ? 0 : n;
    }

    // ------------------------------------------------------------------ builder

    /** Configures a {@link PostgresStore}. */
    public static final class Builder {

        private static final Option<String> APPLICATION_NAME = Option.valueOf("applicationName");

        /** The default of {@link #maxBatch(int)}. */
        public static final int DEFAULT_MAX_BATCH = 32;
        /** The default of {@link #writeConcurrency(int)}. */
        public static final int DEFAULT_WRITE_CONCURRENCY = 2;

        private final @Nullable ConnectionFactory connectionFactory;
        private final @Nullable ConnectionFactoryOptions urlOptions;
        private String schema = "stasis";
        private String table = "flows";
        private int maxPoolSize = 10;
        private boolean maxPoolSizeSet;
        private Duration acquireTimeout = Duration.ofSeconds(10);
        private Duration statementTimeout = Duration.ofSeconds(30);
        private boolean provision = true;
        private int maxBatch = DEFAULT_MAX_BATCH;
        private int writeConcurrency = DEFAULT_WRITE_CONCURRENCY;
        private boolean batchStatementsAlways;

        private Builder(@Nullable ConnectionFactory connectionFactory, @Nullable ConnectionFactoryOptions urlOptions) {
            this.connectionFactory = connectionFactory;
            this.urlOptions = urlOptions;
        }

        /**
         * The schema of the store's tables (default {@code stasis}); created by {@link #provision()} when missing.
         *
         * @param schema lowercase letters, digits and underscores, not starting with a digit, at most 63 characters
         * @return this builder
         * @throws IllegalArgumentException when the name is not such an identifier
         */
        public Builder schema(String schema) {
            this.schema = Sql.requireIdentifier("schema", schema, 63);
            return this;
        }

        /**
         * The name of the flows table (default {@code flows}); the key-hash table is named {@code <table>_keys} and
         * indexes {@code <table>_…}. Several stores can share a schema under different table names.
         *
         * @param table lowercase letters, digits and underscores, not starting with a digit, at most 40 characters
         * @return this builder
         * @throws IllegalArgumentException when the name is not such an identifier
         */
        public Builder table(String table) {
            this.table = Sql.requireIdentifier("table", table, Sql.MAX_TABLE_LENGTH);
            return this;
        }

        /**
         * The most connections the store's own pool opens (default 10). Only for {@link #builder(String)}.
         *
         * @param maxPoolSize at least 1
         * @return this builder
         * @throws IllegalArgumentException when below 1
         */
        public Builder maxPoolSize(int maxPoolSize) {
            if (maxPoolSize < 1) {
                throw new IllegalArgumentException("maxPoolSize must be at least 1, was " + maxPoolSize);
            }
            this.maxPoolSize = maxPoolSize;
            this.maxPoolSizeSet = true;
            return this;
        }

        /**
         * How long an operation waits for a connection (default 10 s): the pool's {@code maxAcquireTime} and connect
         * timeout for a store built from a URL, a timeout on {@code ConnectionFactory.create()} otherwise. When it
         * passes the operation fails with {@link StorageUnavailableException}.
         *
         * @param acquireTimeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException when not positive
         */
        public Builder acquireTimeout(Duration acquireTimeout) {
            this.acquireTimeout = positive("acquireTimeout", acquireTimeout);
            return this;
        }

        /**
         * How long one statement may run (default 30 s). For a store built from a URL it is the session's
         * {@code statement_timeout} (the server cancels the statement, nothing is committed; it replaces a
         * {@code statementTimeout} given in the URL). In every case the store also stops waiting for an answer
         * 2 s after it (a guard against a silent network), and signals {@link StorageUnavailableException}.
         *
         * @param statementTimeout a positive duration
         * @return this builder
         * @throws IllegalArgumentException when not positive
         */
        public Builder statementTimeout(Duration statementTimeout) {
            this.statementTimeout = positive("statementTimeout", statementTimeout);
            return this;
        }

        /**
         * Whether {@link #provision()} may create the schema, tables and indexes (default {@code true}). With
         * {@code false} it only checks that they exist, for databases whose DDL is applied by an administrator.
         *
         * @param provision whether to run DDL
         * @return this builder
         */
        public Builder provision(boolean provision) {
            this.provision = provision;
            return this;
        }

        /**
         * The most records one group-commit statement writes (default {@value #DEFAULT_MAX_BATCH}); 1 turns batching
         * off (every insert and compare-and-set is its own statement; still at most {@link #writeConcurrency(int)} of
         * each kind in flight, so raise that with it).
         *
         * @param maxBatch 1 to 1000
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder maxBatch(int maxBatch) {
            if (maxBatch < 1 || maxBatch > 1000) {
                throw new IllegalArgumentException("maxBatch must be between 1 and 1000, was " + maxBatch);
            }
            this.maxBatch = maxBatch;
            return this;
        }

        /**
         * How many insert statements, and separately how many compare-and-set statements and key-lookup statements,
         * may be in flight at once (default {@value #DEFAULT_WRITE_CONCURRENCY}). Calls that arrive while all are busy
         * wait and go out together in the next statement, so fewer slots make larger batches: on the 2-core test
         * machine at 64 concurrent flows, 2 slots gave 7,041 suspends/s, 3 gave 6,607 and 8 gave 5,448 (bench/README).
         * With a distant server (long round trips) more slots may pay. The other operations are not limited by it.
         *
         * @param writeConcurrency at least 1
         * @return this builder
         * @throws IllegalArgumentException when below 1
         */
        public Builder writeConcurrency(int writeConcurrency) {
            if (writeConcurrency < 1) {
                throw new IllegalArgumentException("writeConcurrency must be at least 1, was " + writeConcurrency);
            }
            this.writeConcurrency = writeConcurrency;
            return this;
        }

        /**
         * Tests only: send even a lone insert, compare-and-set or key lookup as the group-commit statement, so that
         * the contract suite covers that statement in full.
         *
         * @return this builder
         */
        Builder batchStatementsAlways() {
            this.batchStatementsAlways = true;
            return this;
        }

        /**
         * Builds the store. For a URL this creates the connection pool (no connection is opened until first use).
         *
         * @return the store
         * @throws IllegalStateException when pool options were set for an application-owned connection factory
         */
        public PostgresStore build() {
            if (connectionFactory != null) {
                if (maxPoolSizeSet) {
                    throw new IllegalStateException("maxPoolSize applies only to stores built from a URL;"
                            + " size the application's pool instead");
                }
                return new PostgresStore(connectionFactory, null, this);
            }
            ConnectionFactoryOptions options = Objects.requireNonNull(urlOptions);
            ConnectionFactoryOptions.Builder o = options.mutate()
                    .option(ConnectionFactoryOptions.STATEMENT_TIMEOUT, statementTimeout);
            if (!options.hasOption(ConnectionFactoryOptions.CONNECT_TIMEOUT)) {
                o.option(ConnectionFactoryOptions.CONNECT_TIMEOUT, acquireTimeout);
            }
            if (!options.hasOption(APPLICATION_NAME)) {
                o.option(APPLICATION_NAME, "stasis");
            }
            ConnectionFactory raw = ConnectionFactories.get(o.build());
            ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(raw)
                    .name("stasis-" + schema + "-" + table)
                    .initialSize(0)
                    .maxSize(maxPoolSize)
                    .maxAcquireTime(acquireTimeout)
                    .maxCreateConnectionTime(acquireTimeout)
                    .maxIdleTime(Duration.ofMinutes(10))
                    .build());
            return new PostgresStore(pool, pool, this);
        }

        private static Duration positive(String what, Duration d) {
            Objects.requireNonNull(d, what);
            if (d.isZero() || d.isNegative()) {
                throw new IllegalArgumentException(what + " must be positive, was " + d);
            }
            return d;
        }
    }
}
