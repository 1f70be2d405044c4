package dev.stasis.backend.neo4j;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.spi.FlowRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The Cypher statements of one store configuration (its labels), with their parameters. Labels are the only text
 * spliced into statements and are validated; every value travels as a parameter.
 *
 * <p>Version-checked writes lock the flow node ({@code SET f._stasisLock = true REMOVE f._stasisLock}, which takes
 * the node's write lock and leaves nothing to commit) and read {@code f.version} again under the lock: Neo4j runs at
 * read-committed isolation, and a predicate read only before the write lock would let two concurrent statements
 * both pass it (a lost update). After the lock the predicate sees the latest committed version, so of any number of
 * concurrent compare-and-sets on one version at most one applies. The same predicate before the lock is only a
 * shortcut: a caller whose version is already outdated does not queue for the lock.
 */
final class Cypher {

    private static final Pattern LABEL_PREFIX = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}|");

    /** Locks the flow node {@code f} for the rest of the transaction, leaving no property behind. */
    private static final String LOCK = "SET f._stasisLock = true REMOVE f._stasisLock ";

    /** The {@code :Flow} node's properties and its waits' properties, as {@code flow} and {@code waits}. */
    private static final String RETURN_RECORD = "RETURN f {.*} AS flow, [(f)-[:AWAITS]->(w:%s) | w {.*}] AS waits ";

    /** The await-id filter on the wait {@code aw} that {@link #match} binds when that filter is set. */
    private static final String AWAIT_ID_PREDICATE = "aw.awaitId = $awaitId";

    /** A statement text with its parameters. */
    record Statement(String text, Map<String, Object> params) {}

    private final String flowLabel;
    private final String waitLabel;
    private final String returnRecord;

    /**
     * Creates the statements for labels {@code <prefix>Flow} and {@code <prefix>Wait}.
     *
     * @param labelPrefix empty, or letters, digits and underscores not starting with a digit (at most 64)
     */
    Cypher(String labelPrefix) {
        if (!LABEL_PREFIX.matcher(labelPrefix).matches()) {
            throw new IllegalArgumentException(
                    "label prefix must be empty or match [A-Za-z_][A-Za-z0-9_]{0,63}, was '" + labelPrefix + "'");
        }
        this.flowLabel = labelPrefix + "Flow";
        this.waitLabel = labelPrefix + "Wait";
        this.returnRecord = String.format(RETURN_RECORD, waitLabel);
    }

    String flowLabel() {
        return flowLabel;
    }

    String waitLabel() {
        return waitLabel;
    }

    // ------------------------------------------------------------------ schema

    /**
     * The schema statements, each idempotent ({@code IF NOT EXISTS}); a map from the index or constraint name to
     * the statement that creates it.
     *
     * @return the statements in creation order
     */
    Map<String, String> schema() {
        Map<String, String> s = new LinkedHashMap<>();
        unique(s, flowLabel, "id");
        unique(s, flowLabel, "correlationId");
        unique(s, waitLabel, "keyHash");
        index(s, flowLabel, "status");
        index(s, flowLabel, "deadline");
        index(s, flowLabel, "leaseExpiresAt");
        index(s, flowLabel, "flowName");
        index(s, flowLabel, "createdAt");
        index(s, flowLabel, "retainUntil");
        index(s, waitLabel, "awaitId");
        return s;
    }

    private static String schemaName(String label, String property) {
        return "stasis_" + label + "_" + property;
    }

    private static void unique(Map<String, String> s, String label, String property) {
        String name = schemaName(label, property);
        s.put(name, "CREATE CONSTRAINT " + name + " IF NOT EXISTS FOR (n:" + label + ") REQUIRE n." + property
                + " IS UNIQUE");
    }

    private static void index(Map<String, String> s, String label, String property) {
        String name = schemaName(label, property);
        s.put(name, "CREATE INDEX " + name + " IF NOT EXISTS FOR (n:" + label + ") ON (n." + property + ")");
    }

    /**
     * Counts how many of the store's indexes and constraints (their backing indexes share their names) are online.
     *
     * @return the statement, returning {@code online}
     */
    Statement onlineSchema() {
        return new Statement(
                "SHOW INDEXES YIELD name, state WHERE name IN $names AND state = 'ONLINE' RETURN count(*) AS online",
                Map.of("names", List.copyOf(schema().keySet())));
    }

    // ------------------------------------------------------------------ writes

    /**
     * Creates the flow node and its waits. A duplicate id, correlation id or key hash fails the uniqueness
     * constraints ({@code Neo.ClientError.Schema.ConstraintValidationFailed}) and the transaction writes nothing.
     *
     * @param r the record
     * @return the statement (no result rows)
     */
    Statement insert(FlowRecord r) {
        return new Statement(
                "CREATE (f:" + flowLabel + ") SET f = $props "
                        + "FOREACH (w IN $waits | CREATE (f)-[:AWAITS]->(x:" + waitLabel + ") SET x = w)",
                writeParams(r));
    }

    /**
     * The insert for a retried attempt of the managed transaction: when the previous attempt committed but its
     * answer was lost, the node it wrote is there, so it is recognised (same id, creation time and flow name, and
     * the same state or an already advanced version) and nothing is written again. Any other holder of the id still
     * fails the constraint.
     *
     * @param r the record
     * @return the statement (no result rows)
     */
    Statement insertRetry(FlowRecord r) {
        return new Statement(
                "OPTIONAL MATCH (e:" + flowLabel + " {id: $id}) "
                        + "WITH e WHERE e IS NULL OR NOT (e.createdAt = $props.createdAt "
                        + "AND e.flowName = $props.flowName AND (e.version > 1 OR e.state = $props.state)) "
                        + "CREATE (f:" + flowLabel + ") SET f = $props "
                        + "FOREACH (w IN $waits | CREATE (f)-[:AWAITS]->(x:" + waitLabel + ") SET x = w)",
                writeParams(r));
    }

    /**
     * The compare-and-set: lock, check the version, replace all properties, and update the waits in place: a wait
     * whose key hash stays keeps its node (so that a concurrent {@code findByKeyHash} always finds it), dropped
     * hashes lose theirs, new hashes get new nodes.
     *
     * @param expectedVersion the version the caller read
     * @param next the new record
     * @return the statement, returning {@code applied} (1 or 0)
     */
    Statement compareAndSet(long expectedVersion, FlowRecord next) {
        Map<String, Object> params = writeParams(next);
        params.put("expected", expectedVersion);
        params.put("keyHashes", next.keyHashes());
        return new Statement(
                "MATCH (f:" + flowLabel + " {id: $id}) WHERE f.version = $expected " + LOCK
                        + "WITH f WHERE f.version = $expected "
                        + "SET f = $props "
                        + "WITH f OPTIONAL MATCH (f)-[:AWAITS]->(old:" + waitLabel + ") "
                        + "WHERE NOT old.keyHash IN $keyHashes DETACH DELETE old "
                        + "WITH DISTINCT f "
                        + "FOREACH (w IN $waits | MERGE (f)-[:AWAITS]->(x:" + waitLabel + " {keyHash: w.keyHash}) "
                        + "SET x = w) "
                        + "RETURN count(f) AS applied",
                params);
    }

    /**
     * Run first in a retried attempt of a compare-and-set: under the node lock, whether the stored record already is
     * {@code next} (its version and its sealed state, which carries a fresh random nonce on every write).
     *
     * @param next the new record
     * @return the statement, returning {@code done} (true, false, or no row when the flow is gone)
     */
    Statement alreadyApplied(FlowRecord next) {
        return new Statement(
                "MATCH (f:" + flowLabel + " {id: $id}) " + LOCK
                        + "RETURN f.version = $version AND f.state = $state AS done",
                Map.of("id", next.id(), "version", next.version(), "state", next.state()));
    }

    /**
     * Deletes the flow and its waits if the version matches.
     *
     * @param flowId the flow id
     * @param expectedVersion the expected version
     * @return the statement, returning {@code deleted} (1 or 0)
     */
    Statement delete(String flowId, long expectedVersion) {
        return new Statement(
                "MATCH (f:" + flowLabel + " {id: $id}) WHERE f.version = $expected " + LOCK
                        + "WITH f WHERE f.version = $expected "
                        + "OPTIONAL MATCH (f)-[:AWAITS]->(w:" + waitLabel + ") DETACH DELETE w "
                        + "WITH DISTINCT f DETACH DELETE f RETURN count(*) AS deleted",
                Map.of("id", flowId, "expected", expectedVersion));
    }

    /**
     * Deletes up to the limit of matching flows, lowest ids first. Each chosen flow is locked and the filters are
     * checked again under the lock, so a flow changed meanwhile by a compare-and-set is only deleted if it still
     * matches.
     *
     * @param criteria the filters
     * @return the statement, returning {@code deleted}
     */
    Statement deleteMatching(QueryCriteria criteria) {
        Map<String, Object> params = new LinkedHashMap<>();
        List<String> predicates = predicates(criteria, params);
        // after WITH, aw is no longer bound: the await id is re-checked with a subquery
        List<String> recheck = predicates.stream()
                .map(p -> p.equals(AWAIT_ID_PREDICATE)
                        ? "EXISTS { MATCH (f)-[:AWAITS]->(x:" + waitLabel + ") WHERE x.awaitId = $awaitId }"
                        : p)
                .toList();
        params.put("limit", (long) criteria.limit());
        return new Statement(
                match(criteria) + where(predicates)
                        + "WITH DISTINCT f ORDER BY f.id LIMIT $limit "
                        + LOCK + (recheck.isEmpty() ? "" : "WITH f " + where(recheck))
                        + "OPTIONAL MATCH (f)-[:AWAITS]->(w:" + waitLabel + ") DETACH DELETE w "
                        + "WITH DISTINCT f DETACH DELETE f RETURN count(*) AS deleted",
                params);
    }

    private Map<String, Object> writeParams(FlowRecord r) {
        Map<String, Object> params = new LinkedHashMap<>();
        // a plain parameter for the index seek on the id
        params.put("id", r.id());
        params.put("props", RecordMapper.flowProperties(r));
        params.put("waits", RecordMapper.waitProperties(r));
        return params;
    }

    // ------------------------------------------------------------------ reads

    Statement findById(String flowId) {
        return new Statement("MATCH (f:" + flowLabel + " {id: $id}) " + returnRecord, Map.of("id", flowId));
    }

    Statement findByKeyHash(String keyHash) {
        return new Statement(
                "MATCH (:" + waitLabel + " {keyHash: $keyHash})<-[:AWAITS]-(f:" + flowLabel + ") " + returnRecord,
                Map.of("keyHash", keyHash));
    }

    /**
     * Several key-hash lookups in one statement, each row carrying the hash it matched.
     *
     * @param keyHashes the hashes
     * @return the statement, returning {@code matched}, {@code flow} and {@code waits}
     */
    Statement findByKeyHashes(List<String> keyHashes) {
        return new Statement(
                "UNWIND $keyHashes AS matched MATCH (:" + waitLabel + " {keyHash: matched})<-[:AWAITS]-(f:" + flowLabel
                        + ") " + returnRecord.replace("RETURN ", "RETURN matched, "),
                Map.of("keyHashes", keyHashes));
    }

    Statement findByCorrelationId(String correlationId) {
        return new Statement(
                "MATCH (f:" + flowLabel + " {correlationId: $correlationId}) " + returnRecord,
                Map.of("correlationId", correlationId));
    }

    /**
     * The query: every filter of {@code criteria} as a parameterised predicate, ordered by id, limited.
     *
     * @param criteria the filters
     * @return the statement, returning {@code flow} and {@code waits}
     */
    Statement query(QueryCriteria criteria) {
        Map<String, Object> params = new LinkedHashMap<>();
        List<String> predicates = predicates(criteria, params);
        params.put("limit", (long) criteria.limit());
        return new Statement(
                match(criteria) + where(predicates)
                        + "WITH DISTINCT f ORDER BY f.id LIMIT $limit "
                        + returnRecord + "ORDER BY f.id",
                params);
    }

    Statement dueForTimeout(Instant now, int limit) {
        return new Statement(
                "MATCH (f:" + flowLabel + ") WHERE f.status = $status AND f.deadline <= $now "
                        + "WITH f ORDER BY f.deadline, f.id LIMIT $limit "
                        + returnRecord + "ORDER BY f.deadline, f.id",
                Map.of("status", FlowStatus.SUSPENDED.name(), "now", now.toEpochMilli(), "limit", (long) limit));
    }

    Statement expiredLeases(Instant now, int limit) {
        return new Statement(
                "MATCH (f:" + flowLabel + ") WHERE f.status = $status AND f.leaseExpiresAt <= $now "
                        + "WITH f ORDER BY f.leaseExpiresAt, f.id LIMIT $limit "
                        + returnRecord + "ORDER BY f.leaseExpiresAt, f.id",
                Map.of("status", FlowStatus.RUNNING.name(), "now", now.toEpochMilli(), "limit", (long) limit));
    }

    Statement serverInfo() {
        return new Statement(
                "CALL dbms.components() YIELD name, versions, edition "
                        + "RETURN name, versions[0] AS version, edition LIMIT 1",
                Map.of());
    }

    // ------------------------------------------------------------------ criteria

    /** Starts from the awaitId's wait when that filter is set, so the planner may use the Wait.awaitId index. */
    private String match(QueryCriteria criteria) {
        return criteria.awaitId() == null
                ? "MATCH (f:" + flowLabel + ") "
                : "MATCH (f:" + flowLabel + ")-[:AWAITS]->(aw:" + waitLabel + ") ";
    }

    private static String where(List<String> predicates) {
        return predicates.isEmpty() ? "" : "WHERE " + String.join(" AND ", predicates) + " ";
    }

    /**
     * Translates the filters, the reference semantics being {@link QueryCriteria#matches}: a comparison with an
     * absent property is null in Cypher, so a record without a deadline or retention never passes those filters.
     */
    static List<String> predicates(QueryCriteria c, Map<String, Object> params) {
        List<String> p = new ArrayList<>();
        add(p, params, c.flowName(), "f.flowName = $flowName", "flowName");
        add(p, params, c.awaitId(), AWAIT_ID_PREDICATE, "awaitId");
        if (!c.statuses().isEmpty()) {
            p.add("f.status IN $statuses");
            params.put("statuses", c.statuses().stream().map(Enum::name).sorted().toList());
        }
        add(p, params, c.correlationId(), "f.correlationId = $correlationId", "correlationId");
        addMillis(p, params, c.createdAfter(), "f.createdAt >= $createdAfter", "createdAfter");
        addMillis(p, params, c.createdBefore(), "f.createdAt < $createdBefore", "createdBefore");
        addMillis(p, params, c.deadlineBefore(), "f.deadline < $deadlineBefore", "deadlineBefore");
        addMillis(p, params, c.deadlineAfter(), "f.deadline >= $deadlineAfter", "deadlineAfter");
        addMillis(p, params, c.updatedBefore(), "f.updatedAt < $updatedBefore", "updatedBefore");
        addMillis(p, params, c.retainedBefore(), "f.retainUntil < $retainedBefore", "retainedBefore");
        add(p, params, c.afterFlowId(), "f.id > $afterFlowId", "afterFlowId");
        int i = 0;
        for (Map.Entry<String, String> e : c.metadata().entrySet().stream()
                .sorted(Map.Entry.comparingByKey()).toList()) {
            p.add("f[$metaKey" + i + "] = $metaValue" + i);
            params.put("metaKey" + i, RecordMapper.META_PREFIX + e.getKey());
            params.put("metaValue" + i, e.getValue());
            i++;
        }
        return p;
    }

    private static void add(List<String> p, Map<String, Object> params, @Nullable String value, String predicate,
            String name) {
        if (value != null) {
            p.add(predicate);
            params.put(name, value);
        }
    }

    private static void addMillis(List<String> p, Map<String, Object> params, @Nullable Instant value,
            String predicate, String name) {
        if (value != null) {
            p.add(predicate);
            params.put(name, value.toEpochMilli());
        }
    }
}
