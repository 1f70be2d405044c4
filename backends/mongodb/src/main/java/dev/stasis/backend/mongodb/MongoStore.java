package dev.stasis.backend.mongodb;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCommandException;
import com.mongodb.MongoDriverInformation;
import com.mongodb.ReadPreference;
import com.mongodb.WriteConcern;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.result.DeleteResult;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.mongodb.reactivestreams.client.MongoDatabase;
import dev.stasis.QueryCriteria;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StateStore;
import dev.stasis.spi.StoreHealth;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonValue;
import org.bson.conversions.Bson;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * A {@link StateStore} on MongoDB, through the reactive streams driver. One document per flow, in one collection
 * (default {@code stasis.flows}); every change is a single-document atomic operation, so correctness needs neither
 * transactions nor a replica set.
 *
 * <pre>{@code
 * StateStore store = MongoStore.builder("mongodb://db1,db2,db3/?replicaSet=rs0")
 *         .database("stasis")
 *         .collection("flows")
 *         .build();
 * }</pre>
 *
 * <p><b>How each operation maps:</b>
 * <ul>
 *   <li>{@link #insert}: {@code insertOne}. The unique indexes on {@code _id}, on the waits' key hashes (a sparse
 *       multikey index over the top-level {@code keyHashes} array) and on {@code correlationId} (sparse) reject a
 *       duplicate atomically; error code 11000 becomes {@link DuplicateRecordException}.</li>
 *   <li>{@link #compareAndSet}: one {@code replaceOne} with the filter {@code {_id: id, version: expected}}. The
 *       whole record, its waits and its {@code keyHashes} change together in that one document, so the key-hash
 *       index moves with the record.</li>
 *   <li>{@link #delete}: {@code deleteOne} with the same filter.</li>
 *   <li>{@link #query}: every {@link QueryCriteria} filter becomes part of one MongoDB filter (metadata as
 *       {@code metadata.<key>: value}), sorted by {@code _id}, limited, with {@code _id > after} as the cursor.
 *       {@link #deleteMatching} finds the ids of the first page the same way, then {@code deleteMany} by those ids
 *       and the same filter (a record that changed in between is left alone).</li>
 *   <li>{@link #dueForTimeout} / {@link #expiredLeases}: {@code status} equality plus a range on
 *       {@code deadline} / {@code leaseExpiresAt}, on compound indexes.</li>
 * </ul>
 *
 * <p><b>Retention.</b> A finished record (completed, failed, cancelled, expired) whose {@code retainUntil} is set
 * also gets an {@code expireAt} date equal to it, and a TTL index ({@code expireAfterSeconds: 0}) lets MongoDB remove
 * it some time after that instant. The TTL monitor runs about once a minute and may lag; nothing depends on it.
 * {@link dev.stasis.PersistenceHub#cleanup} removes the same records deterministically, and the hub checks deadlines
 * and statuses itself on every read. Suspended and running records never carry {@code expireAt}.
 *
 * <p><b>Consistency.</b> The store reads from the primary and writes with the configured write concern (default
 * {@link WriteConcern#MAJORITY}), so a record reported written survives a failover. Instants are stored as BSON
 * dates (millisecond precision), the sealed state as BSON binary, and nothing but the fields listed in
 * {@link FlowRecord} (which are plain by design) is readable in the database.
 *
 * <p>Thread-safe; every method is lazy and non-blocking.
 */
public final class MongoStore implements StateStore {

    /** The database used when none is configured. */
    public static final String DEFAULT_DATABASE = "stasis";
    /** The collection used when none is configured. */
    public static final String DEFAULT_COLLECTION = "flows";

    /** Server codes a concurrent provisioning run can cause; the losing run simply tries again. */
    private static final Set<Integer> PROVISIONING_RACE_CODES = Set.of(
            48, // NamespaceExists
            68, // IndexAlreadyExists
            276, // IndexBuildAborted
            12587); // BackgroundOperationInProgressForNamespace

    private static final int INDEX_NOT_FOUND = 27;
    private static final int NAMESPACE_NOT_FOUND = 26;

    private final MongoClient client;
    private final boolean ownsClient;
    private final MongoDatabase database;
    private final MongoCollection<BsonDocument> collection;
    private final boolean retentionTtl;
    private final Duration healthTimeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MongoStore(Builder b, MongoClient client, boolean ownsClient) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.database = client.getDatabase(b.database)
                .withCodecRegistry(MongoClientSettings.getDefaultCodecRegistry());
        this.collection = database.getCollection(b.collection, BsonDocument.class)
                .withReadPreference(ReadPreference.primary())
                .withWriteConcern(b.writeConcern);
        this.retentionTtl = b.retentionTtl;
        this.healthTimeout = b.healthTimeout;
    }

    /**
     * Starts a builder on a client the application owns: the store uses it and never closes it.
     *
     * @param client the reactive streams client
     * @return a builder
     */
    public static Builder builder(MongoClient client) {
        return new Builder(Objects.requireNonNull(client, "client"), null);
    }

    /**
     * Starts a builder that creates its own client from a connection string, and closes it in {@link #close()}.
     * Driver settings (pool size, timeouts, TLS, credentials, replica set) go in the connection string.
     *
     * @param connectionString a {@code mongodb://} or {@code mongodb+srv://} connection string
     * @return a builder
     * @throws IllegalArgumentException when the connection string is malformed
     */
    public static Builder builder(String connectionString) {
        return new Builder(null, new ConnectionString(Objects.requireNonNull(connectionString, "connectionString")));
    }

    /**
     * Creates the collection's indexes (see the module README): the unique key-hash and correlation-id indexes, the
     * status + deadline and status + lease indexes, flow name, creation time, await ids, and the retention TTL
     * index when enabled (when disabled, an existing TTL index of this store is dropped). Every index has a fixed
     * name and fixed options, so running this again, or from many instances at once, changes nothing; a race
     * between concurrent runs is retried.
     *
     * @return completes when the indexes exist
     */
    @Override
    public Mono<Void> provision() {
        Mono<Void> create = Mono.defer(() -> Flux.from(collection.createIndexes(MongoIndexes.models(retentionTtl)))
                .then());
        Mono<Void> dropTtl = Mono.defer(() -> retentionTtl ? Mono.empty() : dropTtlIndex());
        return create.then(dropTtl)
                .retryWhen(Retry.backoff(3, Duration.ofMillis(50)).filter(MongoStore::isProvisioningRace))
                .onErrorMap(e -> MongoErrors.map("provision", e));
    }

    private Mono<Void> dropTtlIndex() {
        return indexNames()
                .filter(names -> names.contains(MongoIndexes.EXPIRE_AT_TTL))
                .flatMap(names -> Mono.from(collection.dropIndex(MongoIndexes.EXPIRE_AT_TTL)))
                .onErrorResume(MongoCommandException.class,
                        e -> e.getCode() == INDEX_NOT_FOUND ? Mono.empty() : Mono.error(e))
                .then();
    }

    private static boolean isProvisioningRace(Throwable e) {
        return e instanceof MongoCommandException ce
                && (PROVISIONING_RACE_CODES.contains(ce.getCode()) || ce.getMessage().contains("already in progress"));
    }

    /**
     * {@inheritDoc}
     *
     * <p>One {@code insertOne}: the record is durable (per the write concern) when this completes.
     */
    @Override
    public Mono<Void> insert(FlowRecord record) {
        return Mono.defer(() -> Mono.from(collection.insertOne(MongoRecordCodec.encode(record))))
                .then()
                .onErrorMap(e -> MongoErrors.map("insert", e));
    }

    /** {@inheritDoc} */
    @Override
    public Mono<FlowRecord> findById(String flowId) {
        return findOne("find by id", MongoQueries.byId(flowId));
    }

    /**
     * {@inheritDoc}
     *
     * <p>An equality match on the {@code keyHashes} multikey index.
     */
    @Override
    public Mono<FlowRecord> findByKeyHash(String keyHash) {
        return findOne("find by key hash", MongoQueries.byKeyHash(keyHash));
    }

    /** {@inheritDoc} */
    @Override
    public Mono<FlowRecord> findByCorrelationId(String correlationId) {
        return findOne("find by correlation id", MongoQueries.byCorrelationId(correlationId));
    }

    private Mono<FlowRecord> findOne(String operation, Bson filter) {
        return Mono.defer(() -> Mono.from(collection.find(filter).first()))
                .map(MongoRecordCodec::decode)
                .onErrorMap(e -> MongoErrors.map(operation, e));
    }

    /**
     * {@inheritDoc}
     *
     * <p>One {@code replaceOne({_id: next.id, version: expectedVersion}, next)}: MongoDB applies it atomically to
     * the single document, so of concurrent calls with the same expected version at most one matches. A new key
     * hash already held by another record is rejected by the unique index ({@link DuplicateRecordException}).
     */
    @Override
    public Mono<Boolean> compareAndSet(long expectedVersion, FlowRecord next) {
        return Mono.defer(() -> Mono.from(collection.replaceOne(
                        MongoQueries.byIdAndVersion(next.id(), expectedVersion), MongoRecordCodec.encode(next))))
                .map(result -> result.getMatchedCount() == 1)
                .onErrorMap(e -> MongoErrors.map("compare-and-set", e));
    }

    /** {@inheritDoc} */
    @Override
    public Mono<Boolean> delete(String flowId, long expectedVersion) {
        return Mono.defer(() -> Mono.from(collection.deleteOne(MongoQueries.byIdAndVersion(flowId, expectedVersion))))
                .map(result -> result.getDeletedCount() == 1)
                .onErrorMap(e -> MongoErrors.map("delete", e));
    }

    /** {@inheritDoc} */
    @Override
    public Flux<FlowRecord> query(QueryCriteria criteria) {
        return Flux.defer(() -> Flux.from(collection.find(MongoQueries.criteria(criteria))
                        .sort(MongoQueries.BY_ID)
                        .limit(criteria.limit())))
                .map(MongoRecordCodec::decode)
                .onErrorMap(e -> MongoErrors.map("query", e));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Two steps: the ids of the first {@code limit} matches in id order, then one {@code deleteMany} by those
     * ids and the same filter. Each document is deleted atomically; the batch as a whole is not (a crash in
     * between leaves the rest for the next run).
     */
    @Override
    public Mono<Long> deleteMatching(QueryCriteria criteria) {
        return Mono.defer(() -> {
                    Bson filter = MongoQueries.criteria(criteria);
                    return Flux.from(collection.find(filter)
                                    .projection(Projections.include(MongoRecordCodec.ID))
                                    .sort(MongoQueries.BY_ID)
                                    .limit(criteria.limit()))
                            .map(d -> d.get(MongoRecordCodec.ID))
                            .collectList()
                            .flatMap(ids -> ids.isEmpty()
                                    ? Mono.just(0L)
                                    : Mono.from(collection.deleteMany(Filters.and(inIds(ids), filter)))
                                            .map(DeleteResult::getDeletedCount));
                })
                .onErrorMap(e -> MongoErrors.map("delete matching", e));
    }

    private static Bson inIds(List<BsonValue> ids) {
        return Filters.in(MongoRecordCodec.ID, ids);
    }

    /** {@inheritDoc} */
    @Override
    public Flux<FlowRecord> dueForTimeout(Instant now, int limit) {
        return findSorted("due for timeout", MongoQueries.dueForTimeout(now), MongoQueries.BY_DEADLINE, limit);
    }

    /** {@inheritDoc} */
    @Override
    public Flux<FlowRecord> expiredLeases(Instant now, int limit) {
        return findSorted("expired leases", MongoQueries.expiredLeases(now), MongoQueries.BY_LEASE, limit);
    }

    private Flux<FlowRecord> findSorted(String operation, Bson filter, Bson sort, int limit) {
        if (limit <= 0) {
            // MongoDB reads limit(0) as "no limit"
            return Flux.empty();
        }
        return Flux.defer(() -> Flux.from(collection.find(filter).sort(sort).limit(limit)))
                .map(MongoRecordCodec::decode)
                .onErrorMap(e -> MongoErrors.map(operation, e));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Runs {@code buildInfo} and lists the collection's indexes, within the health timeout; {@code provisioned}
     * means every index {@link #provision()} creates exists. Details: server version, database, collection, index
     * count. Never signals an error.
     */
    @Override
    public Mono<StoreHealth> health() {
        return Mono.defer(() -> Mono.from(database.runCommand(new BsonDocument("buildInfo", new BsonInt32(1)),
                                BsonDocument.class))
                        .zipWith(indexNames().defaultIfEmpty(List.of())))
                .map(t -> {
                    BsonDocument info = t.getT1();
                    List<String> names = t.getT2();
                    Map<String, String> details = new LinkedHashMap<>();
                    BsonValue version = info.get("version");
                    details.put("serverVersion", version != null && version.isString()
                            ? version.asString().getValue() : "unknown");
                    details.put("database", database.getName());
                    details.put("collection", collection.getNamespace().getCollectionName());
                    details.put("indexes", String.valueOf(names.size()));
                    details.put("retentionTtl", String.valueOf(retentionTtl));
                    boolean provisioned = names.containsAll(MongoIndexes.names(retentionTtl));
                    return new StoreHealth("mongodb", true, provisioned, details);
                })
                .timeout(healthTimeout)
                .onErrorResume(e -> Mono.just(new StoreHealth("mongodb", false, false, Map.of(
                        "database", database.getName(),
                        "error", MongoErrors.map("health", e).getMessage()))));
    }

    /** The names of the collection's indexes; an empty list when the collection does not exist yet. */
    private Mono<List<String>> indexNames() {
        return Flux.from(collection.listIndexes(BsonDocument.class))
                .map(d -> d.getString("name").getValue())
                .collectList()
                .onErrorResume(MongoCommandException.class,
                        e -> e.getCode() == NAMESPACE_NOT_FOUND ? Mono.just(List.of()) : Mono.error(e));
    }

    /**
     * Closes the client when the store created it ({@link #builder(String)}); a client passed in by the application
     * is left open. Idempotent.
     *
     * @return completes when closed
     */
    @Override
    public Mono<Void> close() {
        if (!ownsClient) {
            return Mono.empty();
        }
        // MongoClient.close() waits for its monitor threads: keep it off non-blocking threads
        return Mono.<Void>fromRunnable(() -> {
                    if (closed.compareAndSet(false, true)) {
                        client.close();
                    }
                })
                .subscribeOn(Schedulers.boundedElastic());
    }

    /**
     * Names the namespace and whether the store owns its client; never credentials.
     *
     * @return e.g. {@code MongoStore[stasis.flows]}
     */
    @Override
    public String toString() {
        return "MongoStore[" + collection.getNamespace() + (ownsClient ? ", own client" : "") + "]";
    }

    /** Configures a {@link MongoStore}. */
    public static final class Builder {
        private final @Nullable MongoClient client;
        private final @Nullable ConnectionString connectionString;
        private String database = DEFAULT_DATABASE;
        private String collection = DEFAULT_COLLECTION;
        private boolean retentionTtl = true;
        private WriteConcern writeConcern = WriteConcern.MAJORITY;
        private Duration healthTimeout = Duration.ofSeconds(5);

        private Builder(@Nullable MongoClient client, @Nullable ConnectionString connectionString) {
            this.client = client;
            this.connectionString = connectionString;
        }

        /**
         * The database (default {@value MongoStore#DEFAULT_DATABASE}).
         *
         * @param database the database name
         * @return this builder
         */
        public Builder database(String database) {
            this.database = requireName(database, "database");
            return this;
        }

        /**
         * The collection (default {@value MongoStore#DEFAULT_COLLECTION}).
         *
         * @param collection the collection name
         * @return this builder
         */
        public Builder collection(String collection) {
            this.collection = requireName(collection, "collection");
            return this;
        }

        /**
         * Whether {@link MongoStore#provision()} creates the TTL index that removes finished records after their
         * retention (default {@code true}). When {@code false}, provisioning drops that index if it exists, and
         * finished records stay until {@link dev.stasis.PersistenceHub#cleanup} removes them.
         *
         * @param enabled whether to keep the TTL index
         * @return this builder
         */
        public Builder retentionTtl(boolean enabled) {
            this.retentionTtl = enabled;
            return this;
        }

        /**
         * The write concern of every write (default {@link WriteConcern#MAJORITY}: a write reported done survives a
         * failover). It must be acknowledged, because compare-and-set reads the match count.
         *
         * @param writeConcern an acknowledged write concern
         * @return this builder
         * @throws IllegalArgumentException for an unacknowledged write concern
         */
        public Builder writeConcern(WriteConcern writeConcern) {
            if (!writeConcern.isAcknowledged()) {
                throw new IllegalArgumentException("the store needs an acknowledged write concern");
            }
            this.writeConcern = writeConcern;
            return this;
        }

        /**
         * How long {@link MongoStore#health()} waits for the server before reporting it down (default 5 s).
         *
         * @param timeout a positive duration
         * @return this builder
         */
        public Builder healthTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("health timeout must be positive");
            }
            this.healthTimeout = timeout;
            return this;
        }

        /**
         * Builds the store. With {@link MongoStore#builder(String)} this creates the client (which connects in the
         * background; nothing blocks here).
         *
         * @return the store
         */
        public MongoStore build() {
            if (client != null) {
                return new MongoStore(this, client, false);
            }
            MongoClientSettings settings = MongoClientSettings.builder()
                    .applicationName("stasis")
                    .applyConnectionString(Objects.requireNonNull(connectionString))
                    .build();
            MongoClient own = MongoClients.create(
                    settings, MongoDriverInformation.builder().driverName("stasis").build());
            return new MongoStore(this, own, true);
        }

        private static String requireName(String name, String what) {
            Objects.requireNonNull(name, what);
            if (name.isBlank()) {
                throw new IllegalArgumentException(what + " name must not be blank");
            }
            return name;
        }
    }
}
