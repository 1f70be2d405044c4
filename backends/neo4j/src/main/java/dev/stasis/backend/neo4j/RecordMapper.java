package dev.stasis.backend.neo4j;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Converts between {@link FlowRecord} and the property maps of its {@code :Flow} and {@code :Wait} nodes.
 *
 * <p>Instants are stored as epoch milliseconds ({@code long}), so they round-trip exactly at the SPI's millisecond
 * precision and compare as numbers in Cypher. A {@code null} field is an absent property (Neo4j stores no nulls).
 * Metadata entries become one string property each, named {@link #META_PREFIX} + key, so that the query filter is a
 * plain property comparison. The state is a {@code byte[]} property. Waits carry an {@code ordinal} that keeps their
 * order.
 */
final class RecordMapper {

    /** The prefix of the properties that hold metadata entries. */
    static final String META_PREFIX = "meta.";

    private RecordMapper() {}

    /**
     * The properties of the {@code :Flow} node, without nulls.
     *
     * @param r the record
     * @return a new mutable map
     */
    static Map<String, Object> flowProperties(FlowRecord r) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("id", r.id());
        p.put("flowName", r.flowName());
        p.put("flowVersion", (long) r.flowVersion());
        p.put("status", r.status().name());
        p.put("version", r.version());
        p.put("createdAt", r.createdAt().toEpochMilli());
        p.put("updatedAt", r.updatedAt().toEpochMilli());
        putMillis(p, "deadline", r.deadline());
        putIfSet(p, "correlationId", r.correlationId());
        putIfSet(p, "leaseOwner", r.leaseOwner());
        putMillis(p, "leaseExpiresAt", r.leaseExpiresAt());
        putMillis(p, "retainUntil", r.retainUntil());
        for (Map.Entry<String, String> e : r.metadata().entrySet()) {
            p.put(META_PREFIX + e.getKey(), e.getValue());
        }
        p.put("state", r.state());
        return p;
    }

    /**
     * The properties of the {@code :Wait} nodes, in wait order, each with its {@code ordinal}.
     *
     * @param r the record
     * @return one map per wait
     */
    static List<Map<String, Object>> waitProperties(FlowRecord r) {
        List<Map<String, Object>> out = new ArrayList<>(r.waits().size());
        int ordinal = 0;
        for (WaitRecord w : r.waits()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("keyHash", w.keyHash());
            p.put("awaitId", w.awaitId());
            putMillis(p, "deadline", w.deadline());
            p.put("status", w.status().name());
            p.put("ordinal", (long) ordinal++);
            out.add(p);
        }
        return out;
    }

    /**
     * Rebuilds a record from its node properties.
     *
     * @param flow the {@code :Flow} node's properties
     * @param waits the {@code :Wait} nodes' properties, in any order
     * @return the record
     * @throws IllegalStateException when a required property is missing or has the wrong type
     */
    static FlowRecord toRecord(Map<String, Object> flow, List<Map<String, Object>> waits) {
        List<Map<String, Object>> sorted = new ArrayList<>(waits);
        sorted.sort(Comparator.comparingLong(w -> number(w, "ordinal")));
        List<WaitRecord> waitRecords = new ArrayList<>(sorted.size());
        for (Map<String, Object> w : sorted) {
            waitRecords.add(new WaitRecord(
                    string(w, "keyHash"),
                    string(w, "awaitId"),
                    instant(w, "deadline"),
                    WaitRecord.Status.valueOf(string(w, "status"))));
        }
        Map<String, String> metadata = new HashMap<>();
        for (Map.Entry<String, Object> e : flow.entrySet()) {
            if (e.getKey().startsWith(META_PREFIX)) {
                metadata.put(e.getKey().substring(META_PREFIX.length()), String.valueOf(e.getValue()));
            }
        }
        Object state = flow.get("state");
        if (!(state instanceof byte[])) {
            throw new IllegalStateException("flow node without a byte[] state: " + flow.get("id"));
        }
        return new FlowRecord(
                string(flow, "id"),
                string(flow, "flowName"),
                Math.toIntExact(number(flow, "flowVersion")),
                FlowStatus.valueOf(string(flow, "status")),
                number(flow, "version"),
                requiredInstant(flow, "createdAt"),
                requiredInstant(flow, "updatedAt"),
                instant(flow, "deadline"),
                optionalString(flow, "correlationId"),
                waitRecords,
                optionalString(flow, "leaseOwner"),
                instant(flow, "leaseExpiresAt"),
                instant(flow, "retainUntil"),
                metadata,
                (byte[]) state);
    }

    private static void putIfSet(Map<String, Object> p, String name, @Nullable String value) {
        if (value != null) {
            p.put(name, value);
        }
    }

    private static void putMillis(Map<String, Object> p, String name, @Nullable Instant value) {
        if (value != null) {
            p.put(name, value.toEpochMilli());
        }
    }

    private static String string(Map<String, Object> p, String name) {
        String s = optionalString(p, name);
        if (s == null) {
            throw new IllegalStateException("missing property " + name);
        }
        return s;
    }

    private static @Nullable String optionalString(Map<String, Object> p, String name) {
        Object v = p.get(name);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String)) {
            throw new IllegalStateException("property " + name + " is not a string");
        }
        return (String) v;
    }

    private static long number(Map<String, Object> p, String name) {
        Object v = p.get(name);
        if (!(v instanceof Number)) {
            throw new IllegalStateException("missing or non-numeric property " + name);
        }
        return ((Number) v).longValue();
    }

    private static Instant requiredInstant(Map<String, Object> p, String name) {
        return Instant.ofEpochMilli(number(p, name));
    }

    private static @Nullable Instant instant(Map<String, Object> p, String name) {
        return p.get(name) == null ? null : requiredInstant(p, name);
    }
}
