package dev.stasis.backend.neo4j;

import dev.stasis.FlowStatus;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Converts between {@link FlowRecord} and the property maps of its {@code :Flow} and {@code :Wait} nodes.
 *
 * <p>Instants are stored as epoch milliseconds ({@code long}), so they round-trip exactly at the SPI's millisecond
 * precision and compare as numbers in Cypher. A {@code null} field is an absent property (Neo4j stores no nulls).
 * Metadata entries become one string property each, named {@link #META_PREFIX} + key, so that the query filter is a
 * plain property comparison. The state is a {@code byte[]} property. Waits carry an {@code ordinal} that keeps their
 * order.
 *
 * <p>The flow node also carries a {@link #DIGEST} of every other property of the flow and its waits. Neo4j reads at
 * read-committed isolation without read locks, and a statement that reads a node while a commit rewrites it can see
 * some properties before the commit and some after; the digest lets a reader tell such a torn read from a record
 * that was written as a whole.
 */
final class RecordMapper {

    /** The prefix of the properties that hold metadata entries. */
    static final String META_PREFIX = "meta.";

    /** The property holding the digest of the record's other properties and its waits. */
    static final String DIGEST = "digest";

    /**
     * The properties read for one flow: its node's and its waits'.
     *
     * @param flow the flow node's properties
     * @param waits the wait nodes' properties, in any order
     */
    record Raw(Map<String, Object> flow, List<Map<String, Object>> waits) {}

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
        p.put(DIGEST, digest(p, waitProperties(r)));
        return p;
    }

    /**
     * Whether what was read is one record as it was written: its digest matches its other properties and waits.
     *
     * @param raw the properties read
     * @return {@code false} for a torn read, a node changed by something other than the store, or a node without a
     *     digest
     */
    static boolean intact(Raw raw) {
        Object stored = raw.flow().get(DIGEST);
        return stored instanceof String && stored.equals(digest(raw.flow(), raw.waits()));
    }

    /**
     * The digest: SHA-256 over a canonical encoding of the flow's properties (sorted by name, the digest itself
     * left out) and its waits' (ordered by ordinal), as 32 hex characters (its first 128 bits).
     *
     * @param flow the flow node's properties
     * @param waits the waits' properties, in any order
     * @return the digest
     */
    static String digest(Map<String, Object> flow, List<Map<String, Object>> waits) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        Map<String, Object> sortedFlow = new TreeMap<>(flow);
        sortedFlow.remove(DIGEST);
        update(sha, sortedFlow);
        List<Map<String, Object>> sortedWaits = new ArrayList<>(waits);
        sortedWaits.sort(Comparator.comparingLong(w -> w.get("ordinal") instanceof Number n ? n.longValue() : -1));
        for (Map<String, Object> w : sortedWaits) {
            sha.update((byte) 'W');
            update(sha, new TreeMap<>(w));
        }
        byte[] hash = sha.digest();
        StringBuilder hex = new StringBuilder(32);
        for (int i = 0; i < 16; i++) {
            hex.append(Character.forDigit((hash[i] >> 4) & 0xf, 16)).append(Character.forDigit(hash[i] & 0xf, 16));
        }
        return hex.toString();
    }

    private static void update(MessageDigest sha, Map<String, Object> sorted) {
        sha.update(ByteBuffer.allocate(4).putInt(sorted.size()).array());
        for (Map.Entry<String, Object> e : sorted.entrySet()) {
            bytes(sha, (byte) 'K', e.getKey().getBytes(StandardCharsets.UTF_8));
            Object v = e.getValue();
            if (v instanceof byte[] b) {
                bytes(sha, (byte) 'B', b);
            } else if (v instanceof Long || v instanceof Integer) {
                sha.update((byte) 'L');
                sha.update(ByteBuffer.allocate(8).putLong(((Number) v).longValue()).array());
            } else {
                bytes(sha, (byte) 'S', String.valueOf(v).getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    private static void bytes(MessageDigest sha, byte tag, byte[] value) {
        sha.update(tag);
        sha.update(ByteBuffer.allocate(4).putInt(value.length).array());
        sha.update(value);
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
     * @param raw the properties of the {@code :Flow} node and its {@code :Wait} nodes (in any order)
     * @return the record
     * @throws IllegalStateException when a required property is missing or has the wrong type
     */
    static FlowRecord toRecord(Raw raw) {
        Map<String, Object> flow = raw.flow();
        List<Map<String, Object>> sorted = new ArrayList<>(raw.waits());
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
