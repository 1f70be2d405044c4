package dev.stasis.backend.postgres;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Every SQL text the store sends, built once per store from its (validated, quoted) schema and table names, plus the
 * translation of {@link QueryCriteria} into a parameterised statement. Values always travel as bind parameters; the
 * only things spliced into SQL text are the validated identifiers and {@link FlowStatus} names (enum constants, so
 * that partial indexes on {@code status = 'SUSPENDED'} can be matched by the planner).
 *
 * <p>Layout (schema version 1):
 * <ul>
 *   <li>{@code <table>}: one row per flow. Plain index fields as columns, {@code waits} as an ordered jsonb array,
 *       {@code await_ids} as a text array (GIN) for the await-id filter, {@code metadata} as jsonb (GIN,
 *       {@code jsonb_path_ops}, for {@code @>}), {@code state} as bytea stored uncompressed (sealed bytes do not
 *       compress).</li>
 *   <li>{@code <table>_keys}: one row per wait key hash, primary key on the hash (a duplicate is rejected by the
 *       index, across flows), foreign key to the flow with {@code ON DELETE CASCADE}; a CHECK admits only 64 lowercase
 *       hex characters, so a raw resume key can never be stored there by mistake.</li>
 *   <li>{@code stasis_schema_version}: which schema version each table of the schema has, for later migrations.</li>
 * </ul>
 */
final class Sql {

    /** The schema version this code creates and expects. */
    static final int SCHEMA_VERSION = 1;

    /** The advisory lock every instance takes around DDL ("STASIS" in ASCII). */
    static final long PROVISION_LOCK_KEY = 0x5354_4153_4953L;

    /** Name of the schema-version table (one per schema, shared by every store table in it). */
    static final String VERSION_TABLE = "stasis_schema_version";

    /** Longest accepted table name, leaving room for the suffixes of derived index and constraint names. */
    static final int MAX_TABLE_LENGTH = 40;

    private static final int MAX_IDENTIFIER_LENGTH = 63;
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

    /**
     * The columns of a flow row, in the order {@link RecordCodec#decode} reads them, qualified by alias {@code f}. The
     * sealed state travels as base64 text: the driver decodes a bytea column from hex with a regular expression over
     * the whole value, several times the cost of a base64 decode. Instants travel as epoch milliseconds (bigint):
     * they are stored at millisecond precision, so this is exact, and it spares PostgreSQL the time-zone formatting
     * of {@code timestamptz} output and the driver its text parse (together ~4 % of the engine's CPU per resume).
     */
    static final String COLUMNS = "f.id, f.flow_name, f.flow_version, f.status, f.version, "
            + epochMillis("created_at") + ", " + epochMillis("updated_at") + ", " + epochMillis("deadline")
            + ", f.correlation_id, f.lease_owner, " + epochMillis("lease_expires_at") + ", "
            + epochMillis("retain_until") + ","
            + " f.metadata::text AS metadata, f.waits::text AS waits, encode(f.state, 'base64') AS state";

    final String schemaName;
    final String tableName;
    final String keysTableName;
    /** {@code "schema"}. */
    final String schema;
    /** {@code "schema"."table"}. */
    final String flows;
    /** {@code "schema"."table_keys"}. */
    final String keys;
    /** {@code "schema"."stasis_schema_version"}. */
    final String versions;

    final String insert;
    final String compareAndSet;
    final String insertBatch;
    final String compareAndSetBatch;
    final String findByKeyHash;
    final String delete;
    final String findById;
    final String findByKeyHashes;
    final String findByCorrelationId;
    final String dueForTimeout;
    final String expiredLeases;

    Sql(String schemaName, String tableName) {
        this.schemaName = requireIdentifier("schema", schemaName, MAX_IDENTIFIER_LENGTH);
        this.tableName = requireIdentifier("table", tableName, MAX_TABLE_LENGTH);
        this.keysTableName = tableName + "_keys";
        this.schema = quote(schemaName);
        this.flows = schema + "." + quote(tableName);
        this.keys = schema + "." + quote(keysTableName);
        this.versions = schema + "." + quote(VERSION_TABLE);

        String recordset = "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id text, expected bigint,"
                + " flow_name text, flow_version integer, status text, version bigint, created_at bigint,"
                + " updated_at bigint, deadline bigint, correlation_id text, lease_owner text, lease_expires_at bigint,"
                + " retain_until bigint, metadata jsonb, waits jsonb, await_ids text[], state text, keys text[]))";
        // One statement: the row and its key hashes, rejected as a whole by any unique violation.
        insert = "WITH f AS (INSERT INTO " + flows + " (id, flow_name, flow_version, status, version, created_at,"
                + " updated_at, deadline, correlation_id, lease_owner, lease_expires_at, retain_until, metadata, waits,"
                + " await_ids, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb,"
                + " $15::text[], $16) RETURNING id)"
                + " INSERT INTO " + keys + " (key_hash, flow_id) SELECT h, f.id FROM f CROSS JOIN unnest($17::text[]) AS h";
        // One statement: the version-checked UPDATE decides; the key-index changes join its RETURNING, so they happen
        // only when it applied. Concurrent callers queue on the row lock and re-check "version = $2" (READ COMMITTED
        // re-evaluation), so at most one of them updates a given version.
        compareAndSet = "WITH u AS (UPDATE " + flows + " SET flow_name = $3, flow_version = $4, status = $5,"
                + " version = $6, created_at = $7, updated_at = $8, deadline = $9, lease_owner = $10,"
                + " lease_expires_at = $11, retain_until = $12, metadata = $13::jsonb, waits = $14::jsonb,"
                + " await_ids = $15::text[], state = $16 WHERE id = $1 AND version = $2 RETURNING id),"
                + " d AS (DELETE FROM " + keys + " k USING u WHERE k.flow_id = u.id AND k.key_hash <> ALL ($17::text[])),"
                + " i AS (INSERT INTO " + keys + " (key_hash, flow_id) SELECT h, u.id FROM u"
                + " CROSS JOIN unnest($17::text[]) AS h ON CONFLICT (key_hash) DO NOTHING)"
                + " SELECT count(*) FROM u";
        // Group commit (see RecordCodec.batchJson): one statement for any number of records, one bind value. The rows
        // and their key hashes, rejected as a whole by any unique violation.
        insertBatch = recordset + ", f AS (INSERT INTO " + flows + " (id, flow_name, flow_version, status, version,"
                + " created_at, updated_at, deadline, correlation_id, lease_owner, lease_expires_at, retain_until,"
                + " metadata, waits, await_ids, state) SELECT r.id, r.flow_name, r.flow_version, r.status, r.version, "
                + ts("r.created_at") + ", " + ts("r.updated_at") + ", " + ts("r.deadline") + ", r.correlation_id,"
                + " r.lease_owner, " + ts("r.lease_expires_at") + ", " + ts("r.retain_until") + ", r.metadata, r.waits,"
                + " r.await_ids, decode(r.state, 'base64') FROM r RETURNING id)"
                + " INSERT INTO " + keys + " (key_hash, flow_id) SELECT h, r.id FROM r JOIN f ON f.id = r.id"
                + " CROSS JOIN unnest(r.keys) AS h";
        // Group commit: one statement for any number of distinct flows. The rows whose version matches are locked first, in id
        // order (FOR UPDATE in a materialized CTE), so that two statements touching the same flows cannot deadlock;
        // a row a concurrent writer holds is waited for and its version checked again once that writer commits (READ
        // COMMITTED re-evaluation), so of any number of concurrent calls for one version at most one updates it.
        // The key-index changes join the UPDATE's RETURNING: they happen only for the rows it updated.
        compareAndSetBatch = recordset + ", l AS MATERIALIZED (SELECT f.id FROM " + flows + " f JOIN r ON r.id = f.id"
                + " AND f.version = r.expected ORDER BY f.id FOR UPDATE OF f),"
                + " u AS (UPDATE " + flows + " f SET flow_name = r.flow_name, flow_version = r.flow_version,"
                + " status = r.status, version = r.version, created_at = " + ts("r.created_at") + ", updated_at = "
                + ts("r.updated_at") + ", deadline = " + ts("r.deadline") + ", lease_owner = r.lease_owner,"
                + " lease_expires_at = " + ts("r.lease_expires_at") + ", retain_until = " + ts("r.retain_until") + ","
                + " metadata = r.metadata, waits = r.waits, await_ids = r.await_ids, state = decode(r.state, 'base64')"
                + " FROM r WHERE f.id = r.id AND f.id IN (SELECT id FROM l) RETURNING f.id),"
                + " k AS (SELECT r.id AS flow_id, h AS key_hash FROM r CROSS JOIN unnest(r.keys) AS h),"
                + " d AS (DELETE FROM " + keys + " x USING u WHERE x.flow_id = u.id AND NOT EXISTS"
                + " (SELECT 1 FROM k WHERE k.flow_id = x.flow_id AND k.key_hash = x.key_hash)),"
                + " i AS (INSERT INTO " + keys + " (key_hash, flow_id) SELECT k.key_hash, k.flow_id FROM k"
                + " JOIN u ON u.id = k.flow_id ON CONFLICT (key_hash) DO NOTHING)"
                + " SELECT id FROM u";
        delete = "DELETE FROM " + flows + " WHERE id = $1 AND version = $2";
        findById = "SELECT " + COLUMNS + " FROM " + flows + " f WHERE f.id = $1";
        findByKeyHash = "SELECT " + COLUMNS + " FROM " + keys + " k JOIN " + flows + " f ON f.id = k.flow_id"
                + " WHERE k.key_hash = $1";
        findByKeyHashes = "SELECT " + COLUMNS + ", k.key_hash AS matched FROM " + keys + " k JOIN " + flows
                + " f ON f.id = k.flow_id WHERE k.key_hash = ANY ($1::text[])";
        findByCorrelationId = "SELECT " + COLUMNS + " FROM " + flows + " f WHERE f.correlation_id = $1";
        dueForTimeout = "SELECT " + COLUMNS + " FROM " + flows + " f WHERE f.status = 'SUSPENDED'"
                + " AND f.deadline <= $1 ORDER BY f.deadline, f.id LIMIT $2";
        expiredLeases = "SELECT " + COLUMNS + " FROM " + flows + " f WHERE f.status = 'RUNNING'"
                + " AND f.lease_expires_at <= $1 ORDER BY f.lease_expires_at, f.id LIMIT $2";
    }

    /**
     * Validates an unquoted identifier: lowercase letters, digits and underscores, not starting with a digit, at most
     * {@code maxLength} characters. Lowercase only, so that the quoted name and the name a DBA types unquoted agree.
     *
     * @return the identifier
     * @throws IllegalArgumentException when it is not acceptable
     */
    static String requireIdentifier(String what, String name, int maxLength) {
        Objects.requireNonNull(name, what);
        if (name.isEmpty() || name.length() > maxLength || !IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name must match [a-z_][a-z0-9_]* and have at most " + maxLength
                    + " characters: '" + name + "'");
        }
        return name;
    }

    /** The timestamptz column {@code f.<column>} as epoch milliseconds (bigint, exact), named {@code <column>}. */
    private static String epochMillis(String column) {
        return "(extract(epoch FROM f." + column + ") * 1000)::bigint AS " + column;
    }

    /** Epoch milliseconds (bigint) to timestamptz, exactly. */
    private static String ts(String millis) {
        return "('epoch'::timestamptz + " + millis + " * interval '1 millisecond')";
    }

    /** Double-quotes an identifier (doubling embedded quotes, although validated names have none). */
    static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    // ------------------------------------------------------------------ provisioning

    String lockProvisioning() {
        return "SELECT pg_advisory_xact_lock(" + PROVISION_LOCK_KEY + ")";
    }

    /** {@code $1} is the schema name. */
    String schemaExists() {
        return "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = $1";
    }

    String createSchema() {
        return "CREATE SCHEMA IF NOT EXISTS " + schema;
    }

    /** {@code $1} the qualified version table, {@code $2} the flows table, {@code $3} the keys table. */
    String relationsExist() {
        return "SELECT to_regclass($1)::text AS versions, to_regclass($2)::text AS flows, to_regclass($3)::text AS keys,"
                + " current_setting('server_version') AS server_version";
    }

    String createVersionTable() {
        return "CREATE TABLE IF NOT EXISTS " + versions + " (component text NOT NULL, version integer NOT NULL,"
                + " applied_at timestamptz NOT NULL DEFAULT now(),"
                + " CONSTRAINT " + quote(VERSION_TABLE + "_pk") + " PRIMARY KEY (component, version))";
    }

    /** {@code $1} is the component (the flows table name). */
    String storedVersion() {
        return "SELECT coalesce(max(version), 0) AS version FROM " + versions + " WHERE component = $1";
    }

    /** {@code $1} component, {@code $2} version. */
    String recordVersion() {
        return "INSERT INTO " + versions + " (component, version) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    }

    /** The DDL of schema version 1, each statement idempotent. */
    List<String> ddlVersion1() {
        String t = tableName;
        List<String> ddl = new ArrayList<>();
        ddl.add("CREATE TABLE IF NOT EXISTS " + flows + " ("
                + "id text NOT NULL, "
                + "flow_name text NOT NULL, "
                + "flow_version integer NOT NULL, "
                + "status text NOT NULL, "
                + "version bigint NOT NULL, "
                + "created_at timestamptz NOT NULL, "
                + "updated_at timestamptz NOT NULL, "
                + "deadline timestamptz, "
                + "correlation_id text, "
                + "lease_owner text, "
                + "lease_expires_at timestamptz, "
                + "retain_until timestamptz, "
                + "metadata jsonb NOT NULL DEFAULT '{}', "
                + "waits jsonb NOT NULL DEFAULT '[]', "
                + "await_ids text[] NOT NULL DEFAULT '{}', "
                + "state bytea NOT NULL, "
                + "CONSTRAINT " + quote(t + "_pk") + " PRIMARY KEY (id), "
                + "CONSTRAINT " + quote(t + "_correlation_uq") + " UNIQUE (correlation_id))");
        // sealed state is AES-GCM output: trying to compress it wastes CPU
        ddl.add("ALTER TABLE " + flows + " ALTER COLUMN state SET STORAGE EXTERNAL");
        ddl.add("CREATE TABLE IF NOT EXISTS " + keys + " ("
                + "key_hash text NOT NULL, "
                + "flow_id text NOT NULL, "
                + "CONSTRAINT " + quote(t + "_keys_pk") + " PRIMARY KEY (key_hash), "
                + "CONSTRAINT " + quote(t + "_keys_hash_ck") + " CHECK (key_hash ~ '^[0-9a-f]{64}$'), "
                + "CONSTRAINT " + quote(t + "_keys_flow_fk") + " FOREIGN KEY (flow_id) REFERENCES " + flows
                + " (id) ON DELETE CASCADE)");
        ddl.add(index(t + "_keys_flow_idx", keys, "(flow_id)", null));
        ddl.add(index(t + "_due_idx", flows, "(deadline, id)", "status = 'SUSPENDED' AND deadline IS NOT NULL"));
        ddl.add(index(t + "_lease_idx", flows, "(lease_expires_at, id)",
                "status = 'RUNNING' AND lease_expires_at IS NOT NULL"));
        ddl.add(index(t + "_status_idx", flows, "(status, id)", null));
        ddl.add(index(t + "_name_idx", flows, "(flow_name, id)", null));
        ddl.add(index(t + "_created_idx", flows, "(created_at)", null));
        ddl.add(index(t + "_retain_idx", flows, "(retain_until)", "retain_until IS NOT NULL"));
        ddl.add(index(t + "_await_idx", flows, "USING gin (await_ids)", null));
        ddl.add(index(t + "_metadata_idx", flows, "USING gin (metadata jsonb_path_ops)", null));
        return ddl;
    }

    private static String index(String name, String table, String definition, @Nullable String where) {
        return "CREATE INDEX IF NOT EXISTS " + quote(name) + " ON " + table + " " + definition
                + (where == null ? "" : " WHERE " + where);
    }

    /** The names of the indexes version 1 creates on both tables (for tests and health). */
    List<String> indexNames() {
        String t = tableName;
        return List.of(t + "_pk", t + "_correlation_uq", t + "_keys_pk", t + "_keys_flow_idx", t + "_due_idx",
                t + "_lease_idx", t + "_status_idx", t + "_name_idx", t + "_created_idx", t + "_retain_idx",
                t + "_await_idx", t + "_metadata_idx");
    }

    // ------------------------------------------------------------------ queries

    /** A statement with its bind values ({@code $1} is {@code params.get(0)}). */
    record Bound(String sql, List<Object> params) {}

    /** {@code SELECT … WHERE <filters> ORDER BY id LIMIT n}. */
    Bound query(QueryCriteria criteria, String metadataJson) {
        List<Object> params = new ArrayList<>();
        String where = where(criteria, metadataJson, params);
        params.add(criteria.limit());
        return new Bound("SELECT " + COLUMNS + " FROM " + flows + " f" + where + " ORDER BY f.id LIMIT $"
                + params.size(), List.copyOf(params));
    }

    /**
     * {@code DELETE … WHERE id IN (SELECT id … ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED)}. The row locks make the
     * filters hold at deletion time: a row changed by a concurrent compare-and-set is either skipped (still locked) or
     * re-checked against the filters, never deleted on the strength of a stale read; SKIP LOCKED lets several cleaners
     * work on disjoint batches. Flow keys go with their rows ({@code ON DELETE CASCADE}).
     */
    Bound deleteMatching(QueryCriteria criteria, String metadataJson) {
        List<Object> params = new ArrayList<>();
        String where = where(criteria, metadataJson, params);
        params.add(criteria.limit());
        return new Bound("DELETE FROM " + flows + " WHERE id IN (SELECT f.id FROM " + flows + " f" + where
                + " ORDER BY f.id LIMIT $" + params.size() + " FOR UPDATE SKIP LOCKED)", List.copyOf(params));
    }

    private static String where(QueryCriteria c, String metadataJson, List<Object> params) {
        List<String> clauses = new ArrayList<>();
        if (c.flowName() != null) {
            params.add(c.flowName());
            clauses.add("f.flow_name = $" + params.size());
        }
        if (!c.statuses().isEmpty()) {
            // enum names (A-Z and _) as literals: lets the planner match the partial indexes
            clauses.add("f.status IN (" + c.statuses().stream().sorted().map(s -> "'" + s.name() + "'")
                    .collect(Collectors.joining(", ")) + ")");
        }
        if (c.correlationId() != null) {
            params.add(c.correlationId());
            clauses.add("f.correlation_id = $" + params.size());
        }
        if (c.awaitId() != null) {
            params.add(c.awaitId());
            clauses.add("f.await_ids @> ARRAY[$" + params.size() + "::text]");
        }
        addTime(clauses, params, "f.created_at >= $", c.createdAfter());
        addTime(clauses, params, "f.created_at < $", c.createdBefore());
        addTime(clauses, params, "f.deadline < $", c.deadlineBefore());
        addTime(clauses, params, "f.deadline >= $", c.deadlineAfter());
        addTime(clauses, params, "f.updated_at < $", c.updatedBefore());
        addTime(clauses, params, "f.retain_until < $", c.retainedBefore());
        if (!c.metadata().isEmpty()) {
            params.add(metadataJson);
            clauses.add("f.metadata @> $" + params.size() + "::jsonb");
        }
        if (c.afterFlowId() != null) {
            params.add(c.afterFlowId());
            clauses.add("f.id > $" + params.size());
        }
        return clauses.isEmpty() ? "" : " WHERE " + String.join(" AND ", clauses);
    }

    private static void addTime(List<String> clauses, List<Object> params, String clause, @Nullable Instant value) {
        if (value != null) {
            params.add(millis(value));
            clauses.add(clause + params.size());
        }
    }

    /** Instants are stored at millisecond precision. */
    static Instant millis(Instant t) {
        return t.truncatedTo(ChronoUnit.MILLIS);
    }
}
