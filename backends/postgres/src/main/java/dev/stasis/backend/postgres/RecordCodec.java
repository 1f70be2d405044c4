package dev.stasis.backend.postgres;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.Statement;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Maps a {@link FlowRecord} to bind values and a result row back to a record. Waits are an ordered jsonb array of
 * {@code {"keyHash", "awaitId", "deadline" (ISO-8601 or null), "status"}}; metadata is a flat jsonb object of strings.
 * Instants are truncated to milliseconds on the way in.
 */
final class RecordCodec {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<TreeMap<String, String>> STRING_MAP = new TypeReference<>() {};

    private RecordCodec() {}

    /** A typed SQL NULL among bind values. */
    record Null(Class<?> type) {}

    /**
     * Binds values to {@code $1…$n}.
     *
     * @return the statement
     */
    static Statement bind(Statement statement, List<Object> params) {
        for (int i = 0; i < params.size(); i++) {
            Object v = params.get(i);
            if (v instanceof Null n) {
                statement.bindNull(i, n.type());
            } else {
                statement.bind(i, v);
            }
        }
        return statement;
    }

    /** Values for {@link Sql#insert}: the 16 columns, then the key hashes. */
    static List<Object> insertParams(FlowRecord r) {
        List<Object> p = new ArrayList<>(17);
        p.add(r.id());
        p.add(r.flowName());
        p.add(r.flowVersion());
        p.add(r.status().name());
        p.add(r.version());
        p.add(Sql.millis(r.createdAt()));
        p.add(Sql.millis(r.updatedAt()));
        p.add(instant(r.deadline()));
        p.add(r.correlationId() == null ? new Null(String.class) : r.correlationId());
        p.add(text(r.leaseOwner()));
        p.add(instant(r.leaseExpiresAt()));
        p.add(instant(r.retainUntil()));
        p.add(metadataJson(r.metadata()));
        p.add(waitsJson(r.waits()));
        p.add(awaitIds(r.waits()));
        p.add(ByteBuffer.wrap(r.state()));
        p.add(r.keyHashes().toArray(new String[0]));
        return p;
    }

    /** Values for {@link Sql#compareAndSet}: id, expected version, the changeable columns, then the key hashes. */
    static List<Object> compareAndSetParams(long expectedVersion, FlowRecord r) {
        List<Object> p = new ArrayList<>(17);
        p.add(r.id());
        p.add(expectedVersion);
        p.add(r.flowName());
        p.add(r.flowVersion());
        p.add(r.status().name());
        p.add(r.version());
        p.add(Sql.millis(r.createdAt()));
        p.add(Sql.millis(r.updatedAt()));
        p.add(instant(r.deadline()));
        p.add(text(r.leaseOwner()));
        p.add(instant(r.leaseExpiresAt()));
        p.add(instant(r.retainUntil()));
        p.add(metadataJson(r.metadata()));
        p.add(waitsJson(r.waits()));
        p.add(awaitIds(r.waits()));
        p.add(ByteBuffer.wrap(r.state()));
        p.add(r.keyHashes().toArray(new String[0]));
        return p;
    }

    private static Object instant(@Nullable Instant t) {
        return t == null ? new Null(Instant.class) : Sql.millis(t);
    }

    private static Object text(@Nullable String s) {
        return s == null ? new Null(String.class) : s;
    }

    /**
     * The document of {@link Sql#insertBatch} or {@link Sql#compareAndSetBatch}: a JSON array with one object per
     * record, each holding every column ({@code expected} only for a compare-and-set, {@code correlation_id} only for
     * an insert), instants as epoch milliseconds, {@code metadata} and {@code waits} as the JSON they are stored as,
     * {@code await_ids}, the sealed {@code state} in base64 and the wait {@code keys}. Written with Jackson's streaming
     * generator: one bind value per statement instead of sixteen per record.
     *
     * @param records the records
     * @param expectedVersions the expected versions, in the same order, for a compare-and-set; null for an insert
     * @return UTF-8 JSON
     */
    static byte[] batchJson(List<FlowRecord> records, long @Nullable [] expectedVersions) {
        ByteArrayBuilder out = new ByteArrayBuilder(records.size() * 2048);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartArray();
            for (int i = 0; i < records.size(); i++) {
                FlowRecord r = records.get(i);
                g.writeStartObject();
                g.writeStringField("id", r.id());
                if (expectedVersions != null) {
                    g.writeNumberField("expected", expectedVersions[i]);
                }
                g.writeStringField("flow_name", r.flowName());
                g.writeNumberField("flow_version", r.flowVersion());
                g.writeStringField("status", r.status().name());
                g.writeNumberField("version", r.version());
                millisField(g, "created_at", r.createdAt());
                millisField(g, "updated_at", r.updatedAt());
                millisField(g, "deadline", r.deadline());
                if (expectedVersions == null && r.correlationId() != null) {
                    g.writeStringField("correlation_id", r.correlationId());
                }
                if (r.leaseOwner() != null) {
                    g.writeStringField("lease_owner", r.leaseOwner());
                }
                millisField(g, "lease_expires_at", r.leaseExpiresAt());
                millisField(g, "retain_until", r.retainUntil());
                g.writeObjectFieldStart("metadata");
                for (Map.Entry<String, String> e : new TreeMap<>(r.metadata()).entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
                g.writeFieldName("waits");
                writeWaits(g, r.waits());
                g.writeArrayFieldStart("await_ids");
                for (String id : awaitIds(r.waits())) {
                    g.writeString(id);
                }
                g.writeEndArray();
                g.writeFieldName("state");
                g.writeBinary(r.state());
                g.writeArrayFieldStart("keys");
                for (String h : r.keyHashes()) {
                    g.writeString(h);
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new StorageException("cannot encode a batch of records", e);
        }
        return out.toByteArray();
    }

    private static void millisField(JsonGenerator g, String name, @Nullable Instant t) throws IOException {
        if (t != null) {
            g.writeNumberField(name, t.toEpochMilli());
        }
    }

    /** The distinct await ids, in wait order. */
    static String[] awaitIds(List<WaitRecord> waits) {
        Set<String> ids = new LinkedHashSet<>();
        for (WaitRecord w : waits) {
            ids.add(w.awaitId());
        }
        return ids.toArray(new String[0]);
    }

    /**
     * A row of {@link Sql#COLUMNS} as a record.
     *
     * @throws StorageException when a stored value cannot be read (an unknown status, malformed json)
     */
    static FlowRecord decode(Row row) {
        String id = required(row.get("id", String.class), "id");
        String status = required(row.get("status", String.class), "status");
        FlowStatus flowStatus;
        try {
            flowStatus = FlowStatus.valueOf(status);
        } catch (IllegalArgumentException e) {
            throw new StorageException("flow " + id + " has an unknown status '" + status + "'", e);
        }
        return new FlowRecord(
                id,
                required(row.get("flow_name", String.class), "flow_name"),
                required(row.get("flow_version", Integer.class), "flow_version"),
                flowStatus,
                required(row.get("version", Long.class), "version"),
                required(instant(row, "created_at"), "created_at"),
                required(instant(row, "updated_at"), "updated_at"),
                instant(row, "deadline"),
                row.get("correlation_id", String.class),
                waits(id, required(row.get("waits", String.class), "waits")),
                row.get("lease_owner", String.class),
                instant(row, "lease_expires_at"),
                instant(row, "retain_until"),
                metadata(id, required(row.get("metadata", String.class), "metadata")),
                state(id, required(row.get("state", String.class), "state")));
    }

    /** An instant column of {@link Sql#COLUMNS} (epoch milliseconds), or null. */
    private static @Nullable Instant instant(Row row, String column) {
        Long millis = row.get(column, Long.class);
        return millis == null ? null : Instant.ofEpochMilli(millis);
    }

    /** The sealed state from the base64 text of {@link Sql#COLUMNS} (PostgreSQL breaks it into lines of 76). */
    private static byte[] state(String flowId, String base64) {
        try {
            return Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new StorageException("flow " + flowId + ": cannot read its stored state", e);
        }
    }

    private static <T> T required(@Nullable T value, String column) {
        if (value == null) {
            throw new StorageException("column " + column + " is null in a stored flow");
        }
        return value;
    }

    /** The waits as a jsonb array text, in order. */
    static String waitsJson(List<WaitRecord> waits) {
        ByteArrayBuilder out = new ByteArrayBuilder(64 + waits.size() * 160);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            writeWaits(g, waits);
        } catch (IOException e) {
            throw new StorageException("cannot encode json", e);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    /** The waits as a JSON array of {@code {keyHash, awaitId, deadline (ISO-8601 or null), status}}. */
    private static void writeWaits(JsonGenerator g, List<WaitRecord> waits) throws IOException {
        g.writeStartArray();
        for (WaitRecord w : waits) {
            g.writeStartObject();
            g.writeStringField("keyHash", w.keyHash());
            g.writeStringField("awaitId", w.awaitId());
            if (w.deadline() == null) {
                g.writeNullField("deadline");
            } else {
                g.writeStringField("deadline", Sql.millis(w.deadline()).toString());
            }
            g.writeStringField("status", w.status().name());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** Parses {@link #waitsJson}'s format (as PostgreSQL prints jsonb back). */
    static List<WaitRecord> waits(String flowId, String json) {
        try {
            JsonNode array = JSON.readTree(json);
            if (!array.isArray()) {
                throw new StorageException("flow " + flowId + ": waits is not a json array");
            }
            List<WaitRecord> waits = new ArrayList<>(array.size());
            for (JsonNode o : array) {
                JsonNode deadline = o.path("deadline");
                waits.add(new WaitRecord(
                        textField(flowId, o, "keyHash"),
                        textField(flowId, o, "awaitId"),
                        deadline.isNull() || deadline.isMissingNode() ? null : Instant.parse(deadline.asText()),
                        WaitRecord.Status.valueOf(textField(flowId, o, "status"))));
            }
            return waits;
        } catch (JsonProcessingException | RuntimeException e) {
            if (e instanceof StorageException se) {
                throw se;
            }
            throw new StorageException("flow " + flowId + ": cannot read its stored waits", e);
        }
    }

    private static String textField(String flowId, JsonNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || !v.isTextual()) {
            throw new StorageException("flow " + flowId + ": a stored wait has no " + name);
        }
        return v.asText();
    }

    /** The metadata as a jsonb object text (keys sorted, for stable filters). */
    static String metadataJson(Map<String, String> metadata) {
        return write(new TreeMap<>(metadata));
    }

    /** Parses a flat json object of strings. */
    static Map<String, String> metadata(String flowId, String json) {
        try {
            return Objects.requireNonNull(JSON.readValue(json, STRING_MAP));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new StorageException("flow " + flowId + ": cannot read its stored metadata", e);
        }
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new StorageException("cannot encode json", e);
        }
    }
}
