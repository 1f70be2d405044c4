package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.WriteConcern;
import com.mongodb.client.model.Filters;
import com.mongodb.reactivestreams.client.MongoCollection;
import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.internal.FlowIds;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.StoreHealth;
import dev.stasis.spi.WaitRecord;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What the contract suite does not look at: the indexes and the document layout MongoDB really holds, the sparse
 * unique indexes, the owned-client lifecycle and error mapping against an unreachable server. Same server as
 * {@link MongoStoreIT} (see {@link MongoTestServer}); the side channel is raw driver calls.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoStoreBehaviourIT {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private MongoTestServer server;
    private MongoStore store;
    private MongoCollection<BsonDocument> raw;

    @BeforeAll
    void start() {
        server = MongoTestServer.start();
        store = MongoStore.builder(server.client()).database(server.database()).collection("behaviour").build();
        raw = server.client().getDatabase(server.database()).getCollection("behaviour", BsonDocument.class);
        store.provision().block(WAIT);
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static Instant millisNow() {
        return Instant.ofEpochMilli(System.currentTimeMillis());
    }

    private static FlowRecord record(FlowStatus status, String... keyHashes) {
        Instant now = millisNow();
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : keyHashes) {
            waits.add(new WaitRecord(h, "approval", now.plusSeconds(60), WaitRecord.Status.PENDING));
        }
        return FlowRecord.builder()
                .id(FlowIds.next(now))
                .flowName("behaviour-" + UUID.randomUUID())
                .flowVersion(1)
                .status(status)
                .version(1)
                .createdAt(now)
                .updatedAt(now)
                .waits(waits)
                .state(new byte[] {1, 2, 3})
                .build();
    }

    private static String hash() {
        return ResumeKeys.hash(ResumeKeys.generate());
    }

    private BsonDocument rawDocument(MongoCollection<BsonDocument> collection, String id) {
        return Objects.requireNonNull(
                Mono.from(collection.find(Filters.eq("_id", new BsonString(id))).first()).block(WAIT), id);
    }

    private Map<String, BsonDocument> indexes(MongoCollection<BsonDocument> collection) {
        return Flux.from(collection.listIndexes(BsonDocument.class))
                .collectMap(d -> d.getString("name").getValue())
                .block(WAIT);
    }

    @Test
    @DisplayName("provision creates every index under its fixed name, unique ones sparse, TTL at 0 s; again is a no-op")
    void provisionCreatesIndexes() {
        store.provision().then(store.provision()).block(WAIT);
        Map<String, BsonDocument> indexes = indexes(raw);
        assertThat(indexes).containsKeys(MongoIndexes.names(true).toArray(String[]::new));
        BsonDocument keyHashes = indexes.get(MongoIndexes.KEY_HASHES_UNIQUE);
        assertThat(keyHashes.getDocument("key")).isEqualTo(BsonDocument.parse("{keyHashes: 1}"));
        assertThat(keyHashes.getBoolean("unique").getValue()).isTrue();
        assertThat(keyHashes.getBoolean("sparse").getValue()).isTrue();
        BsonDocument correlation = indexes.get(MongoIndexes.CORRELATION_ID_UNIQUE);
        assertThat(correlation.getBoolean("unique").getValue()).isTrue();
        assertThat(correlation.getBoolean("sparse").getValue()).isTrue();
        if (!server.inProcess()) {
            // mongo-java-server accepts but ignores (and does not report the options of) non-unique indexes
            assertThat(indexes.get(MongoIndexes.EXPIRE_AT_TTL).getNumber("expireAfterSeconds").longValue())
                    .isZero();
            assertThat(indexes.get(MongoIndexes.STATUS_DEADLINE).getDocument("key"))
                    .isEqualTo(BsonDocument.parse("{status: 1, deadline: 1}"));
        }
        store.health().as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.up()).isTrue();
                    assertThat(h.provisioned()).isTrue();
                    assertThat(h.store()).isEqualTo("mongodb");
                    assertThat(h.details()).containsEntry("database", server.database())
                            .containsEntry("collection", "behaviour")
                            .containsKey("serverVersion");
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("with the retention TTL turned off, provision drops the TTL index and the store is still provisioned")
    void ttlOff() {
        String collection = "ttl-off-" + UUID.randomUUID();
        MongoCollection<BsonDocument> rawTtl =
                server.client().getDatabase(server.database()).getCollection(collection, BsonDocument.class);
        MongoStore withTtl = MongoStore.builder(server.client()).database(server.database()).collection(collection)
                .build();
        withTtl.provision().block(WAIT);
        assertThat(indexes(rawTtl)).containsKey(MongoIndexes.EXPIRE_AT_TTL);
        MongoStore withoutTtl = MongoStore.builder(server.client()).database(server.database())
                .collection(collection).retentionTtl(false).build();
        withoutTtl.provision().then(withoutTtl.provision()).block(WAIT);
        assertThat(indexes(rawTtl)).doesNotContainKey(MongoIndexes.EXPIRE_AT_TTL)
                .containsKeys(MongoIndexes.KEY_HASHES_UNIQUE, MongoIndexes.CORRELATION_ID_UNIQUE);
        withoutTtl.health().as(StepVerifier::create)
                .assertNext(h -> assertThat(h.provisioned()).isTrue())
                .verifyComplete();
        withTtl.health().as(StepVerifier::create)
                .assertNext(h -> assertThat(h.provisioned()).as("TTL index missing").isFalse())
                .verifyComplete();
    }

    @Test
    @DisplayName("the stored document uses BSON dates, binary state, expireAt = retainUntil when finished, escaped metadata")
    void documentLayout() {
        Instant retain = millisNow().plusSeconds(3600);
        FlowRecord r = record(FlowStatus.COMPLETED, hash()).toBuilder()
                .retainUntil(retain)
                .metadata(Map.of("a.b", "dotted", "$op", "dollar", "tenant", "acme"))
                .build();
        store.insert(r).block(WAIT);
        BsonDocument d = rawDocument(raw, r.id());
        assertThat(d.get("createdAt").getBsonType()).isEqualTo(BsonType.DATE_TIME);
        assertThat(d.get("retainUntil").getBsonType()).isEqualTo(BsonType.DATE_TIME);
        assertThat(d.get("expireAt")).isEqualTo(d.get("retainUntil"));
        assertThat(d.getDateTime("expireAt").getValue()).isEqualTo(retain.toEpochMilli());
        assertThat(d.get("state").getBsonType()).isEqualTo(BsonType.BINARY);
        assertThat(d.get("version").getBsonType()).isEqualTo(BsonType.INT64);
        assertThat(d.getArray("keyHashes")).hasSize(1);
        assertThat(d.getDocument("metadata").keySet()).containsExactlyInAnyOrder("a%2Eb", "%24op", "tenant");
        // keys with dots and dollars are still exact-match filters
        store.query(QueryCriteria.builder().flowName(r.flowName()).metadata("a.b", "dotted").metadata("$op", "dollar")
                        .build())
                .map(FlowRecord::id)
                .as(StepVerifier::create)
                .expectNext(r.id())
                .verifyComplete();
        store.query(QueryCriteria.builder().flowName(r.flowName()).metadata("a.b", "other").build())
                .as(StepVerifier::create)
                .verifyComplete();
        store.findById(r.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.metadata()).isEqualTo(r.metadata()))
                .verifyComplete();
        // a suspended record never carries expireAt, whatever its retainUntil
        FlowRecord suspended = record(FlowStatus.SUSPENDED, hash()).toBuilder().retainUntil(retain).build();
        store.insert(suspended).block(WAIT);
        assertThat(rawDocument(raw, suspended.id()).containsKey("expireAt")).isFalse();
    }

    @Test
    @DisplayName("records without waits and without correlation ids never collide on the sparse unique indexes")
    void sparseUniqueIndexes() {
        List<FlowRecord> bare = List.of(
                record(FlowStatus.RUNNING), record(FlowStatus.RUNNING), record(FlowStatus.COMPLETED));
        Flux.fromIterable(bare).concatMap(store::insert).then().as(StepVerifier::create).verifyComplete();
        for (FlowRecord r : bare) {
            BsonDocument d = rawDocument(raw, r.id());
            assertThat(d.containsKey("keyHashes")).isFalse();
            assertThat(d.containsKey("correlationId")).isFalse();
        }
        // a record without waits gets its first waits through compare-and-set (the correlation-id start path)
        FlowRecord first = bare.get(0);
        String h = hash();
        FlowRecord suspended = first.toBuilder().version(2).status(FlowStatus.SUSPENDED)
                .waits(List.of(new WaitRecord(h, "approval", null, WaitRecord.Status.PENDING))).build();
        store.compareAndSet(1, suspended).as(StepVerifier::create).expectNext(true).verifyComplete();
        store.findByKeyHash(h).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(first.id()))
                .verifyComplete();
    }

    @Test
    @DisplayName("the unique multikey index rejects a hash held by another record, on insert and on compare-and-set")
    void uniqueMultikeyKeyHashes() {
        String h1 = hash();
        String h2 = hash();
        FlowRecord a = record(FlowStatus.SUSPENDED, h1, h2);
        store.insert(a).block(WAIT);
        FlowRecord b = record(FlowStatus.SUSPENDED, hash(), h2);
        store.insert(b).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("key hash already stored"));
        store.findById(b.id()).as(StepVerifier::create).verifyComplete();
        FlowRecord c = record(FlowStatus.SUSPENDED, hash());
        store.insert(c).block(WAIT);
        FlowRecord stealing = c.toBuilder().version(2)
                .waits(List.of(new WaitRecord(h1, "approval", null, WaitRecord.Status.PENDING))).build();
        store.compareAndSet(1, stealing).as(StepVerifier::create).verifyError(DuplicateRecordException.class);
        store.findById(c.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.version()).isEqualTo(1))
                .verifyComplete();
        store.findByKeyHash(h1).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(a.id()))
                .verifyComplete();
        // the same hash twice inside one record is not a conflict
        String twice = hash();
        FlowRecord self = record(FlowStatus.SUSPENDED, twice, twice);
        store.insert(self).as(StepVerifier::create).verifyComplete();
        FlowRecord duplicateCorrelation = record(FlowStatus.SUSPENDED, hash()).toBuilder().correlationId("c-" + a.id())
                .build();
        store.insert(duplicateCorrelation).block(WAIT);
        store.insert(record(FlowStatus.SUSPENDED, hash()).toBuilder().correlationId("c-" + a.id()).build())
                .as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("correlation id already stored"));
        store.insert(a).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("flow id already stored"));
    }

    @Test
    @DisplayName("limits of zero return nothing (MongoDB would read limit 0 as unlimited)")
    void zeroLimit() {
        store.dueForTimeout(millisNow().plusSeconds(86400 * 365L), 0).as(StepVerifier::create).verifyComplete();
        store.expiredLeases(millisNow().plusSeconds(86400 * 365L), 0).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("a store built from a connection string owns its client and closes it")
    void ownedClient() {
        MongoStore owned = MongoStore.builder(server.uri()).database(server.database()).collection("owned").build();
        assertThat(owned.toString()).contains(server.database() + ".owned").contains("own client");
        FlowRecord r = record(FlowStatus.SUSPENDED, hash());
        owned.provision().then(owned.insert(r)).block(WAIT);
        owned.findById(r.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.id()).isEqualTo(r.id()))
                .verifyComplete();
        owned.close().then(owned.close()).as(StepVerifier::create).verifyComplete();
        owned.findById(r.id()).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(StorageException.class));
        owned.health().as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isFalse())
                .verifyComplete();
        // the application's client is untouched by closing a store built on it
        MongoStore borrowed = MongoStore.builder(server.client()).database(server.database()).collection("owned")
                .build();
        borrowed.close().block(WAIT);
        borrowed.findById(r.id()).as(StepVerifier::create).expectNextCount(1).verifyComplete();
    }

    @Test
    @DisplayName("against an unreachable server operations fail as StorageUnavailableException and health reports down")
    void unreachable() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        MongoStore down = MongoStore.builder(
                        "mongodb://127.0.0.1:" + port + "/?serverSelectionTimeoutMS=300&connectTimeoutMS=300")
                .healthTimeout(Duration.ofSeconds(10))
                .build();
        try {
            down.insert(record(FlowStatus.SUSPENDED, hash())).as(StepVerifier::create)
                    .verifyErrorSatisfies(e -> {
                        assertThat(e).isInstanceOf(StorageUnavailableException.class);
                        assertThat(((StorageException) e).isRetryable()).isTrue();
                    });
            down.findByKeyHash(hash()).as(StepVerifier::create).verifyError(StorageUnavailableException.class);
            down.provision().as(StepVerifier::create).verifyError(StorageUnavailableException.class);
            StoreHealth h = down.health().block(WAIT);
            assertThat(h).isNotNull();
            assertThat(h.up()).isFalse();
            assertThat(h.provisioned()).isFalse();
            assertThat(h.details()).containsKey("error");
        } finally {
            down.close().block(WAIT);
        }
    }

    @Test
    @DisplayName("the builder rejects blank names, unacknowledged writes and malformed connection strings")
    void builderValidation() {
        assertThatThrownBy(() -> MongoStore.builder(server.client()).database(" "))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MongoStore.builder(server.client()).collection(""))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MongoStore.builder(server.client()).writeConcern(WriteConcern.UNACKNOWLEDGED))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MongoStore.builder(server.client()).healthTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MongoStore.builder("http://not-mongo"))
                .isInstanceOf(IllegalArgumentException.class);
        MongoStore defaults = MongoStore.builder(server.client()).build();
        assertThat(defaults.toString()).isEqualTo("MongoStore[stasis.flows]");
    }
}
