package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SqlTest {

    private final Sql sql = new Sql("app_schema", "flows");

    @ParameterizedTest(name = "accepts {0}")
    @ValueSource(strings = {"stasis", "_private", "flows2", "a_b_c"})
    void acceptsIdentifiers(String name) {
        assertThat(Sql.requireIdentifier("schema", name, 63)).isEqualTo(name);
    }

    @ParameterizedTest(name = "rejects \"{0}\"")
    @ValueSource(strings = {"", "Flows", "2flows", "my-schema", "a b", "x\"; DROP SCHEMA public; --", "ä", "a.b"})
    void rejectsIdentifiers(String name) {
        assertThatThrownBy(() -> new Sql(name, "flows")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("schema");
        assertThatThrownBy(() -> new Sql("stasis", name)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("table");
    }

    @Test
    @DisplayName("names are length-checked: 63 for a schema, 40 for a table (room for derived index names)")
    void lengths() {
        new Sql("s".repeat(63), "t".repeat(40));
        assertThatThrownBy(() -> new Sql("s".repeat(64), "flows")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sql("stasis", "t".repeat(41))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    @DisplayName("identifiers are quoted and qualified")
    void quoted() {
        assertThat(Sql.quote("a\"b")).isEqualTo("\"a\"\"b\"");
        assertThat(sql.flows).isEqualTo("\"app_schema\".\"flows\"");
        assertThat(sql.keys).isEqualTo("\"app_schema\".\"flows_keys\"");
        assertThat(sql.versions).isEqualTo("\"app_schema\".\"stasis_schema_version\"");
    }

    @Test
    @DisplayName("no filter: ORDER BY id with the limit as the only parameter")
    void emptyQuery() {
        Sql.Bound q = sql.query(QueryCriteria.builder().limit(7).build(), "{}");
        assertThat(q.sql()).isEqualTo("SELECT " + Sql.COLUMNS + " FROM \"app_schema\".\"flows\" f ORDER BY f.id LIMIT $1");
        assertThat(q.params()).containsExactly(7);
    }

    @Test
    @DisplayName("every filter becomes a clause with a bind parameter, statuses become enum literals")
    void everyFilter() {
        Instant t = Instant.parse("2026-01-02T03:04:05.678901Z");
        QueryCriteria c = QueryCriteria.builder()
                .flowName("purchase")
                .status(FlowStatus.SUSPENDED, FlowStatus.COMPLETED)
                .correlationId("corr")
                .awaitId("manager-approval")
                .createdAfter(t.plusSeconds(1))
                .createdBefore(t.plusSeconds(2))
                .deadlineBefore(t.plusSeconds(3))
                .deadlineAfter(t.plusSeconds(4))
                .updatedBefore(t.plusSeconds(5))
                .retainedBefore(t.plusSeconds(6))
                .metadata("tenant", "t1")
                .afterFlowId("0001")
                .limit(50)
                .build();
        Sql.Bound q = sql.query(c, "{\"tenant\":\"t1\"}");
        assertThat(q.sql()).isEqualTo("SELECT " + Sql.COLUMNS + " FROM \"app_schema\".\"flows\" f WHERE"
                + " f.flow_name = $1 AND f.status IN ('SUSPENDED', 'COMPLETED') AND f.correlation_id = $2"
                + " AND f.await_ids @> ARRAY[$3::text] AND f.created_at >= $4 AND f.created_at < $5"
                + " AND f.deadline < $6 AND f.deadline >= $7 AND f.updated_at < $8 AND f.retain_until < $9"
                + " AND f.metadata @> $10::jsonb AND f.id > $11 ORDER BY f.id LIMIT $12");
        Instant ms = Instant.parse("2026-01-02T03:04:05.678Z");
        assertThat(q.params()).containsExactly("purchase", "corr", "manager-approval", ms.plusSeconds(1),
                ms.plusSeconds(2), ms.plusSeconds(3), ms.plusSeconds(4), ms.plusSeconds(5), ms.plusSeconds(6),
                "{\"tenant\":\"t1\"}", "0001", 50);
    }

    @Test
    @DisplayName("deleteMatching deletes a locked, ordered, limited selection in one statement")
    void deleteMatching() {
        QueryCriteria c = QueryCriteria.builder().retainedBefore(Instant.EPOCH).status(FlowStatus.COMPLETED)
                .limit(5).build();
        Sql.Bound q = sql.deleteMatching(c, "{}");
        assertThat(q.sql()).isEqualTo("DELETE FROM \"app_schema\".\"flows\" WHERE id IN (SELECT f.id FROM"
                + " \"app_schema\".\"flows\" f WHERE f.status IN ('COMPLETED') AND f.retain_until < $1"
                + " ORDER BY f.id LIMIT $2 FOR UPDATE SKIP LOCKED)");
        assertThat(q.params()).containsExactly(Instant.EPOCH, 5);
    }

    @Test
    @DisplayName("compare-and-set and insert are single statements whose key-table changes depend on the row change")
    void singleStatements() {
        assertThat(sql.compareAndSet).doesNotContain(";")
                .startsWith("WITH u AS (UPDATE \"app_schema\".\"flows\" SET")
                .contains("WHERE id = $1 AND version = $2 RETURNING id")
                .contains("DELETE FROM \"app_schema\".\"flows_keys\" k USING u WHERE k.flow_id = u.id")
                .contains("FROM u CROSS JOIN unnest($17::text[]) AS h ON CONFLICT (key_hash) DO NOTHING")
                .endsWith("SELECT count(*) FROM u")
                .doesNotContain("correlation_id");
        assertThat(sql.insert).doesNotContain(";").startsWith("WITH f AS (INSERT INTO \"app_schema\".\"flows\"")
                .endsWith("SELECT h, f.id FROM f CROSS JOIN unnest($17::text[]) AS h");
    }

    @Test
    @DisplayName("the group-commit statements read one batch document; key changes follow the rows")
    void batchStatements() {
        assertThat(sql.compareAndSetBatch).doesNotContain(";")
                .startsWith("WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)")
                .contains("l AS MATERIALIZED (SELECT f.id FROM \"app_schema\".\"flows\" f JOIN r ON r.id = f.id"
                        + " AND f.version = r.expected ORDER BY f.id FOR UPDATE OF f)")
                .contains("WHERE f.id = r.id AND f.id IN (SELECT id FROM l) RETURNING f.id")
                .contains("DELETE FROM \"app_schema\".\"flows_keys\" x USING u WHERE x.flow_id = u.id")
                .contains("JOIN u ON u.id = k.flow_id ON CONFLICT (key_hash) DO NOTHING")
                .endsWith("SELECT id FROM u")
                .doesNotContain("correlation_id =")
                .doesNotContain("$2");
        assertThat(sql.insertBatch).doesNotContain(";").startsWith("WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)")
                .contains("f AS (INSERT INTO \"app_schema\".\"flows\"")
                .endsWith("SELECT h, r.id FROM r JOIN f ON f.id = r.id CROSS JOIN unnest(r.keys) AS h")
                .doesNotContain("$2");
        assertThat(sql.findByKeyHashes).endsWith("WHERE k.key_hash = ANY ($1::text[])").contains("k.key_hash AS matched");
    }

    @Test
    @DisplayName("timeouts and leases read their partial indexes' predicates literally")
    void partialIndexPredicates() {
        assertThat(sql.dueForTimeout).contains("f.status = 'SUSPENDED' AND f.deadline <= $1")
                .endsWith("ORDER BY f.deadline, f.id LIMIT $2");
        assertThat(sql.expiredLeases).contains("f.status = 'RUNNING' AND f.lease_expires_at <= $1")
                .endsWith("ORDER BY f.lease_expires_at, f.id LIMIT $2");
        assertThat(String.join("\n", sql.ddlVersion1()))
                .contains("WHERE status = 'SUSPENDED' AND deadline IS NOT NULL")
                .contains("WHERE status = 'RUNNING' AND lease_expires_at IS NOT NULL");
    }

    @Test
    @DisplayName("the DDL is idempotent and creates every index it names")
    void ddl() {
        List<String> ddl = sql.ddlVersion1();
        assertThat(ddl).allSatisfy(s -> assertThat(s).satisfiesAnyOf(
                x -> assertThat(x).contains("IF NOT EXISTS"),
                x -> assertThat(x).startsWith("ALTER TABLE").contains("SET STORAGE")));
        String all = String.join("\n", ddl);
        for (String index : sql.indexNames()) {
            assertThat(all).contains("\"" + index + "\"");
        }
        assertThat(all).contains("ON DELETE CASCADE").contains("CHECK (key_hash ~ '^[0-9a-f]{64}$')");
        assertThat(sql.lockProvisioning()).isEqualTo("SELECT pg_advisory_xact_lock(" + Sql.PROVISION_LOCK_KEY + ")");
    }
}
