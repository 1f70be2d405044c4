package dev.stasis.backend.neo4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.spi.FlowRecord;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CypherTest {

    private static final Instant T = Instant.parse("2026-11-22T10:15:30.123Z");

    @Test
    @DisplayName("labels are Flow and Wait, with an optional identifier prefix; anything else is refused")
    void labels() {
        assertThat(new Cypher("").flowLabel()).isEqualTo("Flow");
        assertThat(new Cypher("acme_").waitLabel()).isEqualTo("acme_Wait");
        for (String bad : List.of("1x", "a-b", "a b", "a`b", "x".repeat(65), "Flow)-[r]-(", "ä")) {
            assertThatThrownBy(() -> new Cypher(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    @DisplayName("the schema is idempotent: three uniqueness constraints and seven indexes, named after the labels")
    void schema() {
        Map<String, String> schema = new Cypher("acme_").schema();
        assertThat(schema).hasSize(10);
        assertThat(schema.values()).allSatisfy(s -> assertThat(s).contains("IF NOT EXISTS"));
        assertThat(schema).containsEntry("stasis_acme_Flow_id",
                "CREATE CONSTRAINT stasis_acme_Flow_id IF NOT EXISTS FOR (n:acme_Flow) REQUIRE n.id IS UNIQUE");
        assertThat(schema).containsKeys("stasis_acme_Flow_correlationId", "stasis_acme_Wait_keyHash",
                "stasis_acme_Flow_status", "stasis_acme_Flow_deadline", "stasis_acme_Flow_leaseExpiresAt",
                "stasis_acme_Flow_flowName", "stasis_acme_Flow_createdAt", "stasis_acme_Wait_awaitId");
        assertThat(schema.get("stasis_acme_Wait_awaitId"))
                .isEqualTo("CREATE INDEX stasis_acme_Wait_awaitId IF NOT EXISTS FOR (n:acme_Wait) ON (n.awaitId)");
    }

    @Test
    @DisplayName("every filter becomes a parameterised predicate; values never enter the statement text")
    void predicates() {
        String hostile = "x' OR 1=1 //";
        QueryCriteria c = QueryCriteria.builder()
                .flowName(hostile)
                .awaitId("approve")
                .status(FlowStatus.SUSPENDED, FlowStatus.COMPLETED)
                .correlationId("corr")
                .createdAfter(T)
                .createdBefore(T.plusMillis(1))
                .deadlineBefore(T.plusMillis(2))
                .deadlineAfter(T.plusMillis(3))
                .updatedBefore(T.plusMillis(4))
                .retainedBefore(T.plusMillis(5))
                .metadata("tenant", "acme")
                .metadata("a`b", "v")
                .afterFlowId("0001")
                .limit(25)
                .build();
        Map<String, Object> params = new LinkedHashMap<>();
        List<String> p = Cypher.predicates(c, params);
        assertThat(p).containsExactly(
                "f.flowName = $flowName",
                "aw.awaitId = $awaitId",
                "f.status IN $statuses",
                "f.correlationId = $correlationId",
                "f.createdAt >= $createdAfter",
                "f.createdAt < $createdBefore",
                "f.deadline < $deadlineBefore",
                "f.deadline >= $deadlineAfter",
                "f.updatedAt < $updatedBefore",
                "f.retainUntil < $retainedBefore",
                "f.id > $afterFlowId",
                "f[$metaKey0] = $metaValue0",
                "f[$metaKey1] = $metaValue1");
        assertThat(params).containsEntry("flowName", hostile)
                .containsEntry("statuses", List.of("COMPLETED", "SUSPENDED"))
                .containsEntry("createdAfter", T.toEpochMilli())
                .containsEntry("retainedBefore", T.toEpochMilli() + 5)
                .containsEntry("metaKey0", "meta.a`b")
                .containsEntry("metaValue1", "acme");

        Cypher.Statement q = new Cypher("").query(c);
        assertThat(q.text()).doesNotContain(hostile).doesNotContain("acme").doesNotContain("a`b")
                .startsWith("MATCH (f:Flow)-[:AWAITS]->(aw:Wait) WHERE f.flowName = $flowName AND ")
                .contains("WITH DISTINCT f ORDER BY f.id LIMIT $limit")
                .endsWith("ORDER BY f.id");
        assertThat(q.params()).containsEntry("limit", 25L);
    }

    @Test
    @DisplayName("no filters: all flows in id order; deleteMatching re-checks the filters under the lock")
    void queryShapes() {
        Cypher cypher = new Cypher("");
        Cypher.Statement all = cypher.query(QueryCriteria.builder().build());
        assertThat(all.text()).startsWith("MATCH (f:Flow) WITH DISTINCT f ORDER BY f.id LIMIT $limit ");
        assertThat(all.params()).containsOnlyKeys("limit");

        Cypher.Statement del = cypher.deleteMatching(QueryCriteria.builder().awaitId("a").flowName("n").limit(5)
                .build());
        assertThat(del.text())
                .contains("SET f._stasisLock = true REMOVE f._stasisLock WITH f WHERE f.flowName = $flowName AND "
                        + "EXISTS { MATCH (f)-[:AWAITS]->(x:Wait) WHERE x.awaitId = $awaitId }")
                .endsWith("RETURN count(*) AS deleted");
    }

    @Test
    @DisplayName("compare-and-set locks before its version check and keeps the nodes of waits whose hash stays")
    void compareAndSetShape() {
        FlowRecord r = FlowRecord.builder().id("id1").flowName("f").flowVersion(1).status(FlowStatus.SUSPENDED)
                .version(2).createdAt(T).updatedAt(T).state(new byte[] {1}).build();
        Cypher.Statement cas = new Cypher("p_").compareAndSet(1, r);
        String text = cas.text();
        assertThat(text.indexOf("SET f._stasisLock")).isLessThan(text.indexOf("WITH f WHERE f.version = $expected"));
        assertThat(text).contains("MERGE (f)-[:AWAITS]->(x:p_Wait {keyHash: w.keyHash})")
                .contains("WHERE NOT old.keyHash IN $keyHashes DETACH DELETE old");
        assertThat(cas.params()).containsEntry("expected", 1L).containsKeys("props", "waits", "keyHashes");
    }
}
