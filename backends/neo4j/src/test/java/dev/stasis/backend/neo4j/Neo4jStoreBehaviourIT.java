package dev.stasis.backend.neo4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.neo4j.driver.Config;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Session;
import reactor.test.StepVerifier;

/**
 * What the contract suite does not reach: the store with its default labels, the statements a retried managed
 * transaction runs, waits that keep their nodes across a compare-and-set, a torn-looking (tampered) node, and an
 * unreachable server. Records of the default labels are created with unique ids and deleted by id afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Neo4jStoreBehaviourIT {

    private Driver driver;
    private Neo4jStore store;
    private final Cypher cypher = new Cypher("");

    @BeforeAll
    void start() {
        driver = HarnessServer.newDriver();
        store = Neo4jStore.builder(driver).build();
        store.provision().block(Duration.ofMinutes(1));
    }

    @AfterAll
    void stop() {
        if (driver != null) {
            try (Session s = driver.session()) {
                s.run("MATCH (f:Flow) WHERE f.flowName STARTS WITH 'behaviour-' "
                        + "OPTIONAL MATCH (f)-[:AWAITS]->(w:Wait) DETACH DELETE f, w").consume();
            }
            driver.close();
        }
    }

    private static String hash() {
        StringBuilder b = new StringBuilder();
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < 64; i++) {
            b.append(Character.forDigit(r.nextInt(16), 16));
        }
        return b.toString();
    }

    private static FlowRecord record(String... hashes) {
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
        List<WaitRecord> waits = new java.util.ArrayList<>();
        for (String h : hashes) {
            waits.add(new WaitRecord(h, "await-" + h.substring(0, 4), now.plusSeconds(60), WaitRecord.Status.PENDING));
        }
        byte[] state = new byte[32];
        ThreadLocalRandom.current().nextBytes(state);
        return FlowRecord.builder()
                .id(UUID.randomUUID().toString().replace("-", ""))
                .flowName("behaviour-" + UUID.randomUUID())
                .flowVersion(1)
                .status(FlowStatus.SUSPENDED)
                .version(1)
                .createdAt(now)
                .updatedAt(now)
                .deadline(now.plusSeconds(60))
                .waits(waits)
                .metadata(Map.of("k", "v"))
                .state(state)
                .build();
    }

    private long run(Cypher.Statement st) {
        try (Session s = driver.session()) {
            return s.executeWrite(tx -> tx.run(st.text(), st.params()).consume()).counters().nodesCreated();
        }
    }

    @Test
    @DisplayName("with default labels the store provisions, round-trips and reports healthy")
    void defaultLabels() {
        FlowRecord r = record(hash());
        store.insert(r).as(StepVerifier::create).verifyComplete();
        store.findById(r.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found).usingRecursiveComparison().isEqualTo(r))
                .verifyComplete();
        try (Session s = driver.session()) {
            assertThat(s.run("MATCH (f:Flow {id: $id})-[:AWAITS]->(w:Wait) RETURN count(w) AS n",
                    Map.of("id", r.id())).single().get("n").asLong()).isEqualTo(1);
        }
        store.health().as(StepVerifier::create)
                .assertNext(h -> {
                    assertThat(h.up()).isTrue();
                    assertThat(h.provisioned()).isTrue();
                    assertThat(h.details()).containsEntry("labels", "Flow, Wait").containsKey("server");
                })
                .verifyComplete();
    }

    @Test
    @DisplayName("a retried insert whose first attempt committed succeeds without a second node; a real duplicate fails")
    void insertRetryIsIdempotent() {
        FlowRecord r = record(hash());
        store.insert(r).block();
        assertThat(run(cypher.insertRetry(r))).isZero();
        FlowRecord other = r.toBuilder().createdAt(r.createdAt().plusMillis(1)).build();
        try {
            run(cypher.insertRetry(other));
            throw new AssertionError("expected a constraint violation");
        } catch (RuntimeException e) {
            assertThat(Neo4jErrors.map("insert", e)).isInstanceOf(DuplicateRecordException.class)
                    .hasMessage("flow id already stored");
        }
        FlowRecord fresh = record(hash());
        assertThat(run(cypher.insertRetry(fresh))).isEqualTo(2);
        store.findById(fresh.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found).usingRecursiveComparison().isEqualTo(fresh))
                .verifyComplete();
    }

    @Test
    @DisplayName("a retried compare-and-set recognises its own committed write, and only its own")
    void alreadyApplied() {
        FlowRecord r = record(hash());
        store.insert(r).block();
        FlowRecord next = r.toBuilder().version(2).state(new byte[] {1, 2, 3}).build();
        store.compareAndSet(1, next).as(StepVerifier::create).expectNext(true).verifyComplete();
        try (Session s = driver.session()) {
            Cypher.Statement mine = cypher.alreadyApplied(next);
            boolean mineDone = s.executeWrite(tx -> tx.run(mine.text(), mine.params()).single().get("done").asBoolean());
            assertThat(mineDone).isTrue();
            Cypher.Statement theirs = cypher.alreadyApplied(next.toBuilder().state(new byte[] {9}).build());
            boolean theirsDone =
                    s.executeWrite(tx -> tx.run(theirs.text(), theirs.params()).single().get("done").asBoolean());
            assertThat(theirsDone).isFalse();
        }
    }

    @Test
    @DisplayName("a compare-and-set keeps the node of a wait whose hash stays, drops and adds the others")
    void waitsUpdatedInPlace() {
        String kept = hash();
        String dropped = hash();
        String added = hash();
        FlowRecord r = record(kept, dropped);
        store.insert(r).block();
        String before = waitElementId(kept);
        FlowRecord next = r.toBuilder().version(2)
                .waits(List.of(new WaitRecord(added, "new", null, WaitRecord.Status.PENDING),
                        new WaitRecord(kept, r.waits().get(0).awaitId(), null, WaitRecord.Status.RESOLVED)))
                .build();
        store.compareAndSet(1, next).as(StepVerifier::create).expectNext(true).verifyComplete();
        assertThat(waitElementId(kept)).isEqualTo(before);
        store.findByKeyHash(dropped).as(StepVerifier::create).verifyComplete();
        store.findByKeyHash(kept).as(StepVerifier::create)
                .assertNext(found -> assertThat(found).usingRecursiveComparison().isEqualTo(next))
                .verifyComplete();
        try (Session s = driver.session()) {
            assertThat(s.run("MATCH (w:Wait {keyHash: $h}) RETURN count(w) AS n", Map.of("h", dropped)).single()
                    .get("n").asLong()).isZero();
        }
    }

    private String waitElementId(String keyHash) {
        try (Session s = driver.session()) {
            return s.run("MATCH (w:Wait {keyHash: $h}) RETURN elementId(w) AS id", Map.of("h", keyHash)).single()
                    .get("id").asString();
        }
    }

    @Test
    @DisplayName("a node changed behind the store's back is returned as stored, for the hub to judge")
    void stableMismatchIsReturned() {
        FlowRecord r = record(hash());
        store.insert(r).block();
        try (Session s = driver.session()) {
            s.run("MATCH (f:Flow {id: $id}) SET f.leaseOwner = 'intruder'", Map.of("id", r.id())).consume();
        }
        store.findById(r.id()).as(StepVerifier::create)
                .assertNext(found -> assertThat(found.leaseOwner()).isEqualTo("intruder"))
                .verifyComplete();
    }

    @Test
    @DisplayName("lookups by id, key hash and correlation id and the compare-and-set seek the unique indexes")
    void indexedLookups() {
        FlowRecord r = record(hash());
        assertThat(operators(cypher.findById(r.id()))).contains("NodeUniqueIndexSeek").doesNotContain("NodeByLabelScan",
                "AllNodesScan");
        assertThat(operators(cypher.findByKeyHash(r.waits().get(0).keyHash()))).contains("NodeUniqueIndexSeek")
                .doesNotContain("NodeByLabelScan", "AllNodesScan");
        assertThat(operators(cypher.findByCorrelationId("c"))).contains("NodeUniqueIndexSeek")
                .doesNotContain("NodeByLabelScan", "AllNodesScan");
        assertThat(operators(cypher.compareAndSet(1, r.toBuilder().version(2).build())))
                .contains("NodeUniqueIndexSeek").doesNotContain("NodeByLabelScan", "AllNodesScan");
    }

    private List<String> operators(Cypher.Statement st) {
        try (Session s = driver.session()) {
            List<String> out = new java.util.ArrayList<>();
            collect(s.run("EXPLAIN " + st.text(), st.params()).consume().queryPlan().orElseThrow(), out);
            return out;
        }
    }

    private static void collect(org.neo4j.driver.summary.Plan plan, List<String> out) {
        // operator names may carry a runtime suffix ("@neo4j") and a variant ("NodeUniqueIndexSeek(Locking)")
        out.add(plan.operatorType().replaceAll("@.*", "").replaceAll("\\(.*\\)$", ""));
        plan.children().forEach(c -> collect(c, out));
    }

    @Test
    @DisplayName("concurrent key lookups share read transactions and each finds its own record, or nothing")
    void batchedKeyLookups() {
        List<FlowRecord> records = new java.util.ArrayList<>();
        for (int i = 0; i < 120; i++) {
            records.add(record(hash()));
        }
        reactor.core.publisher.Flux.fromIterable(records).flatMap(store::insert, 16).blockLast(Duration.ofMinutes(1));
        long[] before = store.keyLookupCounts();
        List<String> unknown = new java.util.ArrayList<>();
        for (int i = 0; i < 30; i++) {
            unknown.add(hash());
        }
        reactor.core.publisher.Flux.fromIterable(records)
                .flatMap(r -> store.findByKeyHash(r.waits().get(0).keyHash())
                        .subscribeOn(reactor.core.scheduler.Schedulers.parallel())
                        .map(found -> found.id().equals(r.id()) && found.version() == r.version()), 64)
                .collectList()
                .as(StepVerifier::create)
                .assertNext(matches -> assertThat(matches).hasSize(120).containsOnly(true))
                .verifyComplete();
        reactor.core.publisher.Flux.fromIterable(unknown)
                .flatMap(h -> store.findByKeyHash(h).subscribeOn(reactor.core.scheduler.Schedulers.parallel()), 64)
                .count()
                .as(StepVerifier::create)
                .expectNext(0L)
                .verifyComplete();
        long[] after = store.keyLookupCounts();
        long lookups = after[0] - before[0];
        long transactions = after[1] - before[1];
        assertThat(lookups).isEqualTo(150);
        assertThat(transactions).as(lookups + " lookups in " + transactions + " read transactions").isLessThan(lookups);
    }

    @Test
    @DisplayName("sixteen instances provisioning an empty database at once all succeed (the server's IF NOT EXISTS race is absorbed)")
    void concurrentFirstProvision() {
        // Sixteen at once on the driver's pool: eight at once did not reproduce the server's race in 5 rounds,
        // sixteen failed the first round before the fix.
        for (int round = 0; round < 5; round++) {
            String prefix = "Prov" + UUID.randomUUID().toString().substring(0, 8) + "_";
            try {
                reactor.core.publisher.Flux.range(0, 16)
                        .map(i -> Neo4jStore.builder(driver).labelPrefix(prefix).build())
                        .flatMap(s -> s.provision().subscribeOn(reactor.core.scheduler.Schedulers.parallel()), 16)
                        .then()
                        .as(StepVerifier::create)
                        .verifyComplete();
                Neo4jStore.builder(driver).labelPrefix(prefix).build().health().as(StepVerifier::create)
                        .assertNext(h -> assertThat(h.provisioned()).isTrue())
                        .verifyComplete();
            } finally {
                Neo4jStoreIT.SideChannel.dropAll(driver, prefix);
            }
        }
    }

    @Test
    @DisplayName("an unreachable server: calls fail as transient, health reports down instead of failing")
    void unreachable() {
        Config config = Config.builder()
                .withMaxTransactionRetryTime(200, TimeUnit.MILLISECONDS)
                .withConnectionTimeout(1, TimeUnit.SECONDS)
                .build();
        try (Driver dead = GraphDatabase.driver("bolt://127.0.0.1:1", HarnessServer.auth(), config)) {
            Neo4jStore deadStore = Neo4jStore.builder(dead).build();
            deadStore.findById("x").as(StepVerifier::create)
                    .verifyError(StorageUnavailableException.class);
            deadStore.insert(record(hash())).as(StepVerifier::create)
                    .verifyError(StorageUnavailableException.class);
            deadStore.health().as(StepVerifier::create)
                    .assertNext(h -> {
                        assertThat(h.up()).isFalse();
                        assertThat(h.provisioned()).isFalse();
                        assertThat(h.details()).containsEntry("error", "StorageUnavailableException");
                    })
                    .verifyComplete();
        }
    }
}
