package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.internal.FlowIds;
import dev.stasis.security.ResumeKeys;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import dev.stasis.tck.BlockHoundSupport;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * What the contract suite does not cover: provisioning races on a new schema, the schema-version record, index use,
 * error mapping against a real server (closed port, statement timeout, constraint names), the two ownership modes and
 * {@code provision(false)}. Each test gets its own fresh schema, dropped with CASCADE afterwards. Store calls run on
 * {@code Schedulers.parallel()} under BlockHound.
 */
class PostgresStoreOperationsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<PostgresStore> stores = new ArrayList<>();
    private PgTestSupport.SideChannel side;
    private String schema;

    @BeforeAll
    static void blockHound() {
        BlockHoundSupport.install();
    }

    @BeforeEach
    void open() {
        side = PgTestSupport.SideChannel.open();
        schema = PgTestSupport.freshSchema();
    }

    @AfterEach
    void close() {
        Flux.fromIterable(stores).concatMap(PostgresStore::close).blockLast(WAIT);
        side.dropSchema(schema);
        side.close();
    }

    private PostgresStore.Builder builder() {
        return PostgresStore.builder(PgTestSupport.url()).schema(schema);
    }

    private PostgresStore keep(PostgresStore store) {
        stores.add(store);
        return store;
    }

    private static <T> Mono<T> onParallel(Mono<T> mono) {
        return mono.subscribeOn(Schedulers.parallel());
    }

    private static FlowRecord record(String... keyHashes) {
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        List<WaitRecord> waits = new ArrayList<>();
        for (String h : keyHashes) {
            waits.add(new WaitRecord(h, "approve", now.plusSeconds(60), WaitRecord.Status.PENDING));
        }
        return FlowRecord.builder().id(FlowIds.next(now)).flowName("ops").flowVersion(1).status(FlowStatus.SUSPENDED)
                .version(1).createdAt(now).updatedAt(now).deadline(now.plusSeconds(60)).waits(waits)
                .metadata(Map.of("tenant", "t1")).state(new byte[] {5, 6, 7}).build();
    }

    private static String hash() {
        return ResumeKeys.hash(ResumeKeys.generate());
    }

    @Test
    @DisplayName("group commit: concurrent inserts share statements; a duplicate fails only its own caller")
    void groupCommitInserts() {
        PostgresStore store = keep(builder().writeConcurrency(1).maxBatch(16).build());
        store.provision().block(WAIT);
        List<FlowRecord> records = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            records.add(record(hash()).toBuilder().correlationId("corr-" + i).build());
        }
        // one impostor reuses a correlation id: only it may fail, whatever batch it lands in
        FlowRecord impostor = record(hash()).toBuilder().correlationId("corr-150").build();
        List<FlowRecord> all = new ArrayList<>(records);
        all.add(200, impostor);
        Flux.fromIterable(all)
                .flatMap(r -> onParallel(store.insert(r).thenReturn("ok"))
                        .onErrorResume(DuplicateRecordException.class, e -> Mono.just("duplicate " + r.id())), 64)
                .collectList()
                .as(StepVerifier::create)
                .assertNext(results -> {
                    assertThat(results).hasSize(301);
                    assertThat(results.stream().filter(x -> x.startsWith("duplicate"))).hasSize(1);
                })
                .verifyComplete();
        long stored = side.query("SELECT count(*) FROM \"" + schema + "\".flows", row -> row.get(0, Long.class)).get(0);
        assertThat(stored).isEqualTo(300);
        long keys = side.query("SELECT count(*) FROM \"" + schema + "\".flows_keys", row -> row.get(0, Long.class))
                .get(0);
        assertThat(keys).as("the rejected record's key hash went with it").isEqualTo(300);
        // every record that was acknowledged is really there, with its key
        Flux.fromIterable(records)
                .flatMap(r -> onParallel(store.findByKeyHash(r.waits().get(0).keyHash())), 64)
                .filter(found -> records.stream().anyMatch(r -> r.id().equals(found.id())))
                .count()
                .as(StepVerifier::create)
                .assertNext(n -> assertThat(n).isBetween(299L, 300L))
                .verifyComplete();
        PostgresStore.Batching b = store.batching();
        assertThat(b.inserts()).isGreaterThanOrEqualTo(301);
        assertThat(b.insertStatements()).as("inserts shared statements: " + b).isLessThan(b.inserts());
        assertThat(b.keyLookupStatements()).as("lookups shared statements: " + b).isLessThan(b.keyLookups());
    }

    @Test
    @DisplayName("group commit: records with large states are not packed into one giant statement, and round-trip")
    void groupCommitLargeStates() {
        PostgresStore store = keep(builder().writeConcurrency(1).build());
        store.provision().block(WAIT);
        java.util.Random random = new java.util.Random(11);
        List<FlowRecord> records = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            byte[] state = new byte[1024 * 1024];
            random.nextBytes(state);
            records.add(record(hash()).toBuilder().state(state).build());
        }
        Flux.fromIterable(records).flatMap(r -> onParallel(store.insert(r)), 12).blockLast(WAIT);
        for (FlowRecord r : records) {
            assertThat(store.findById(r.id()).block(WAIT)).isNotNull()
                    .satisfies(found -> assertThat(found.state()).isEqualTo(r.state()));
        }
        PostgresStore.Batching b = store.batching();
        assertThat(b.inserts()).isEqualTo(12);
        // 12 MiB of state, about 16 MiB as base64: at most ~3 records per 4 MiB statement
        assertThat(b.insertStatements()).as(b.toString()).isGreaterThanOrEqualTo(4);
    }

    @Test
    @DisplayName("group commit: of eight concurrent compare-and-sets per flow exactly one wins, and its keys move")
    void groupCommitCompareAndSet() {
        PostgresStore store = keep(builder().writeConcurrency(2).maxBatch(16).build());
        store.provision().block(WAIT);
        List<FlowRecord> records = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            records.add(record(hash()));
        }
        Flux.fromIterable(records).flatMap(r -> onParallel(store.insert(r)), 32).blockLast(WAIT);
        record Attempt(FlowRecord next, String newHash) {}
        List<Attempt> attempts = new ArrayList<>();
        for (FlowRecord r : records) {
            for (int j = 0; j < 8; j++) {
                String h = hash();
                attempts.add(new Attempt(r.toBuilder().version(2).status(FlowStatus.RUNNING)
                        .waits(List.of(new WaitRecord(h, "approve", null, WaitRecord.Status.PENDING))).build(), h));
            }
        }
        java.util.Collections.shuffle(attempts, new java.util.Random(7));
        List<Attempt> winners = Flux.fromIterable(attempts)
                .flatMap(a -> onParallel(store.compareAndSet(1, a.next())).filter(Boolean::booleanValue)
                        .map(won -> a), 64)
                .collectList()
                .block(WAIT);
        assertThat(winners).hasSize(100);
        assertThat(winners.stream().map(a -> a.next().id()).distinct()).hasSize(100);
        for (Attempt w : winners) {
            FlowRecord stored = store.findById(w.next().id()).block(WAIT);
            assertThat(stored).isNotNull();
            assertThat(stored.version()).isEqualTo(2);
            assertThat(stored.keyHashes()).containsExactly(w.newHash());
        }
        long keys = side.query("SELECT count(*) FROM \"" + schema + "\".flows_keys", row -> row.get(0, Long.class))
                .get(0);
        assertThat(keys).as("only the winners' hashes remain, the old ones were dropped").isEqualTo(100);
        PostgresStore.Batching b = store.batching();
        assertThat(b.compareAndSets()).isEqualTo(800);
        assertThat(b.compareAndSetStatements()).as("compare-and-sets shared statements: " + b).isLessThan(800);
    }

    @Test
    @DisplayName("four fresh instances provision a new schema at the same moment; one version row, every index")
    void concurrentProvisioning() {
        List<PostgresStore> four = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            four.add(keep(builder().build()));
        }
        Flux.fromIterable(four)
                .flatMap(s -> onParallel(s.provision()), 4)
                .as(StepVerifier::create)
                .verifyComplete();
        assertThat(side.texts("SELECT component, version::text AS version FROM " + schema + ".stasis_schema_version"))
                .containsExactly(Map.of("component", "flows", "version", "1"));
        Sql sql = new Sql(schema, "flows");
        List<String> expected = new ArrayList<>(sql.indexNames());
        expected.add("stasis_schema_version_pk");
        assertThat(side.query("SELECT indexname FROM pg_indexes WHERE schemaname = $1",
                        row -> row.get("indexname", String.class), schema))
                .containsExactlyInAnyOrderElementsOf(expected);
        // again, and a second table in the same schema records its own version
        PostgresStore other = keep(builder().table("other_flows").build());
        Flux.concat(four.get(0).provision(), onParallel(other.provision())).as(StepVerifier::create).verifyComplete();
        assertThat(side.query("SELECT component || ':' || version AS v FROM " + schema
                        + ".stasis_schema_version ORDER BY component", row -> row.get("v", String.class)))
                .containsExactly("flows:1", "other_flows:1");
        // the stores work on their own tables
        FlowRecord r = record(hash());
        onParallel(other.insert(r)).as(StepVerifier::create).verifyComplete();
        onParallel(four.get(1).findById(r.id())).as(StepVerifier::create).verifyComplete();
        onParallel(other.findById(r.id())).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.waits()).isEqualTo(r.waits()))
                .verifyComplete();
    }

    @Test
    @DisplayName("a server that refuses connections is StorageUnavailableException, and health says down")
    void closedPortIsUnavailable() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        PostgresStore store = keep(PostgresStore.builder("r2dbc:postgresql://postgres@127.0.0.1:" + port + "/test")
                .schema(schema).acquireTimeout(Duration.ofSeconds(5)).build());
        onParallel(store.findById("00000000000000000000000000000000")).as(StepVerifier::create)
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(StorageUnavailableException.class);
                    assertThat(((StorageUnavailableException) e).isRetryable()).isTrue();
                    assertThat(e.getMessage()).contains("findById");
                })
                .verify(WAIT);
        onParallel(store.insert(record(hash()))).as(StepVerifier::create)
                .expectError(StorageUnavailableException.class)
                .verify(WAIT);
        onParallel(store.provision()).as(StepVerifier::create)
                .expectError(StorageUnavailableException.class)
                .verify(WAIT);
        onParallel(store.health()).as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.up()).isFalse();
                    assertThat(h.provisioned()).isFalse();
                    assertThat(h.store()).isEqualTo("postgres");
                    assertThat(h.details()).containsKey("error").containsEntry("schema", schema);
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("a statement the server cancels for its statement timeout is StorageUnavailableException and changes nothing")
    void statementTimeoutIsUnavailable() {
        PostgresStore store = keep(builder().build());
        onParallel(store.provision()).block(WAIT);
        FlowRecord r = record(hash());
        onParallel(store.insert(r)).block(WAIT);
        PostgresStore impatient = keep(builder().statementTimeout(Duration.ofMillis(300)).build());
        FlowRecord next = r.toBuilder().version(2).status(FlowStatus.RUNNING).build();
        side.begin();
        try {
            assertThat(side.query("SELECT id FROM " + schema + ".flows WHERE id = $1 FOR UPDATE",
                    row -> row.get("id", String.class), r.id())).containsExactly(r.id());
            onParallel(impatient.compareAndSet(1, next)).as(StepVerifier::create)
                    .expectErrorSatisfies(e -> {
                        assertThat(e).isInstanceOf(StorageUnavailableException.class);
                        assertThat(e.getMessage()).contains("57014");
                    })
                    .verify(WAIT);
        } finally {
            side.rollback();
        }
        onParallel(store.findById(r.id())).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.version()).isEqualTo(1))
                .verifyComplete();
        onParallel(store.compareAndSet(1, next)).as(StepVerifier::create).expectNext(true).verifyComplete();
    }

    @Test
    @DisplayName("each unique field is named in DuplicateRecordException; a raw key as key hash is refused by the CHECK")
    void constraintErrors() {
        PostgresStore store = keep(builder().build());
        onParallel(store.provision()).block(WAIT);
        String h = hash();
        FlowRecord r = record(h).toBuilder().correlationId("corr-" + UUID.randomUUID()).build();
        onParallel(store.insert(r)).block(WAIT);
        onParallel(store.insert(r)).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("flow id already stored"));
        onParallel(store.insert(record(hash()).toBuilder().correlationId(r.correlationId()).build()))
                .as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("correlation id already stored"));
        onParallel(store.insert(record(h))).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isInstanceOf(DuplicateRecordException.class)
                        .hasMessage("key hash already stored"));
        String rawKey = ResumeKeys.generate();
        FlowRecord leaky = record(rawKey);
        onParallel(store.insert(leaky)).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> {
                    assertThat(e).isExactlyInstanceOf(StorageException.class);
                    assertThat(e.getMessage()).contains("23514").doesNotContain(rawKey);
                });
        onParallel(store.findById(leaky.id())).as(StepVerifier::create).verifyComplete();
        assertThat(side.query("SELECT count(*) AS n FROM " + schema + ".flows", row -> row.get("n", Long.class)))
                .containsExactly(1L);
    }

    @Test
    @DisplayName("with an application-owned factory close() leaves it open, and pool options are refused")
    void applicationOwnedFactory() {
        ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(
                ConnectionFactories.get(PgTestSupport.url())).initialSize(0).maxSize(3).build());
        try {
            assertThatThrownBy(() -> PostgresStore.builder(pool).maxPoolSize(4).build())
                    .isInstanceOf(IllegalStateException.class);
            PostgresStore store = PostgresStore.builder(pool).schema(schema).build();
            onParallel(store.provision()).as(StepVerifier::create).verifyComplete();
            onParallel(store.health()).as(StepVerifier::create)
                    .assertNext(h -> {
                        assertThat(h.up()).isTrue();
                        assertThat(h.provisioned()).isTrue();
                        assertThat(h.details()).containsEntry("schemaVersion", "1").containsKey("serverVersion")
                                .containsKey("pool.acquired").containsKey("pool.idle");
                    })
                    .verifyComplete();
            onParallel(store.close()).as(StepVerifier::create).verifyComplete();
            assertThat(pool.isDisposed()).isFalse();
            Flux.usingWhen(pool.create(),
                            c -> Flux.from(c.createStatement("SELECT 41 + 1 AS n").execute())
                                    .concatMap(res -> res.map((row, md) -> row.get("n", Integer.class))),
                            Connection::close)
                    .as(StepVerifier::create)
                    .expectNext(42)
                    .verifyComplete();
        } finally {
            pool.disposeLater().block(WAIT);
        }
    }

    @Test
    @DisplayName("provision(false) refuses an unprovisioned schema without DDL, and accepts a provisioned one")
    void provisionDisabled() {
        PostgresStore readOnly = keep(builder().provision(false).build());
        onParallel(readOnly.provision()).as(StepVerifier::create)
                .verifyErrorSatisfies(e -> assertThat(e).isExactlyInstanceOf(StorageException.class)
                        .hasMessageContaining("not provisioned"));
        assertThat(side.query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1",
                row -> row.get("n", Long.class), schema)).containsExactly(0L);
        onParallel(readOnly.health()).as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.up()).isTrue();
                    assertThat(h.provisioned()).isFalse();
                    assertThat(h.details()).containsEntry("schemaVersion", "0");
                })
                .verifyComplete();
        onParallel(keep(builder().build()).provision()).block(WAIT);
        onParallel(readOnly.provision()).as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("every lookup the hub makes is planned on its index (5000 analysed rows, sequential scans disabled)")
    void queriesUseTheirIndexes() {
        PostgresStore store = keep(builder().build());
        onParallel(store.provision()).block(WAIT);
        String t = schema + ".flows";
        side.update("INSERT INTO " + t + " (id, flow_name, flow_version, status, version, created_at, updated_at,"
                + " deadline, correlation_id, lease_owner, lease_expires_at, retain_until, metadata, waits, await_ids,"
                + " state) SELECT lpad(to_hex(i), 32, '0'), 'name-' || (i % 100), 1,"
                + " CASE WHEN i % 50 = 0 THEN 'RUNNING' WHEN i % 10 = 0 THEN 'COMPLETED' ELSE 'SUSPENDED' END, 1,"
                + " now() - i * interval '1 minute', now(),"
                + " CASE WHEN i % 10 <> 0 THEN now() + i * interval '1 minute' END, 'corr-' || i,"
                + " CASE WHEN i % 50 = 0 THEN 'hub' END,"
                + " CASE WHEN i % 50 = 0 THEN now() + i * interval '1 minute' END,"
                + " CASE WHEN i % 10 = 0 AND i % 50 <> 0 THEN now() + interval '1 day' END,"
                + " jsonb_build_object('tenant', 't' || (i % 200)), '[]', ARRAY['await-' || (i % 300)], '\\x00'"
                + " FROM generate_series(1, 5000) AS i");
        side.update("INSERT INTO " + t + "_keys SELECT md5(id) || md5(id || 'x'), id FROM " + t);
        side.update("ANALYZE " + t);
        side.update("ANALYZE " + t + "_keys");
        String someHash = side.query("SELECT key_hash FROM " + t + "_keys LIMIT 1", row -> row.get(0, String.class))
                .get(0);
        Sql sql = new Sql(schema, "flows");
        Instant now = Instant.now();
        side.update("SET enable_seqscan = off");
        try {
            assertPlan(sql.findById, "flows_pk", "00000000000000000000000000000007");
            assertPlan(sql.findByKeyHash, "flows_keys_pk", someHash);
            assertPlan(sql.findByKeyHashes, "flows_keys_pk", (Object) new String[] {someHash});
            assertPlan(sql.findByCorrelationId, "flows_correlation_uq", "corr-77");
            assertPlan(sql.dueForTimeout, "flows_due_idx", now.minusSeconds(86_400), 10);
            assertPlan(sql.expiredLeases, "flows_lease_idx", now.minusSeconds(86_400), 10);
            assertPlan(sql.delete, "flows_pk", "00000000000000000000000000000007", 1L);
            assertQueryPlan(sql, "flows_await_idx", QueryCriteria.builder().awaitId("await-7").build());
            assertQueryPlan(sql, "flows_metadata_idx", QueryCriteria.builder().metadata("tenant", "t5").build());
            assertQueryPlan(sql, "flows_name_idx", QueryCriteria.builder().flowName("name-3").build());
            assertQueryPlan(sql, "flows_status_idx", QueryCriteria.builder().status(FlowStatus.RUNNING).build());
            assertQueryPlan(sql, "flows_created_idx",
                    QueryCriteria.builder().createdAfter(now.minusSeconds(300)).build());
            assertQueryPlan(sql, "flows_retain_idx",
                    QueryCriteria.builder().retainedBefore(now.plusSeconds(3600)).build());
            Sql.Bound cleanup = sql.deleteMatching(QueryCriteria.builder().retainedBefore(now.plusSeconds(3600))
                    .build(), "{}");
            assertPlan(cleanup.sql(), "flows_retain_idx", cleanup.params().toArray());
            FlowRecord next = record(hash()).toBuilder().id("00000000000000000000000000000007").version(2).build();
            List<Object> casParams = RecordCodec.compareAndSetParams(1, next);
            String casPlan = assertPlan(sql.compareAndSet, "flows_pk", casParams.toArray());
            assertThat(casPlan).contains("flows_keys_flow_idx");
            casPlan = assertPlan(sql.compareAndSetBatch, "flows_pk",
                    io.r2dbc.postgresql.codec.Json.of(RecordCodec.batchJson(List.of(next), new long[] {1})));
            assertThat(casPlan).contains("flows_keys_flow_idx");
        } finally {
            side.update("RESET enable_seqscan");
        }
    }

    private void assertQueryPlan(Sql sql, String index, QueryCriteria criteria) {
        Sql.Bound q = sql.query(criteria, RecordCodec.metadataJson(criteria.metadata()));
        assertPlan(q.sql(), index, q.params().toArray());
    }

    private String assertPlan(String statement, String index, Object... params) {
        Object[] bound = params.clone();
        for (int i = 0; i < bound.length; i++) {
            if (bound[i] instanceof byte[] b) {
                bound[i] = ByteBuffer.wrap(b);
            }
        }
        String plan = String.join("\n", side.query("EXPLAIN " + statement, row -> row.get(0, String.class), bound));
        assertThat(plan).as(statement).contains(index).doesNotContain("Seq Scan on flows ");
        return plan;
    }
}
