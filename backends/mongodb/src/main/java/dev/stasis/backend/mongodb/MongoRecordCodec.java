package dev.stasis.backend.mongodb;

import dev.stasis.FlowStatus;
import dev.stasis.StorageException;
import dev.stasis.spi.FlowRecord;
import dev.stasis.spi.WaitRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bson.BsonArray;
import org.bson.BsonBinary;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.jspecify.annotations.Nullable;

/**
 * Maps a {@link FlowRecord} to the one document that stores it, and back.
 *
 * <pre>
 * { _id: flow id, flowName, flowVersion: int32, status, version: int64,
 *   createdAt: date, updatedAt: date, deadline: date?, correlationId?,
 *   waits: [ { keyHash, awaitId, deadline: date?, status } ],
 *   keyHashes: [ … ]?,   awaitIds: [ … ]?,       (derived from waits, for the indexes)
 *   leaseOwner?, leaseExpiresAt: date?, retainUntil: date?,
 *   expireAt: date?,                            (= retainUntil of a finished flow: the TTL index's field)
 *   metadata: { escaped key: value },  state: binary }
 * </pre>
 *
 * <p>Absent values are left out rather than stored as {@code null}: the unique indexes on {@code keyHashes} and
 * {@code correlationId} are sparse, so records without waits or without a correlation id never collide (MongoDB
 * would index a missing value as {@code null} and an empty array as {@code undefined}). Instants are BSON dates
 * (milliseconds). Metadata keys are escaped ({@code %} → {@code %25}, {@code .} → {@code %2E}, {@code $} →
 * {@code %24}, NUL → {@code %00}, the empty key → {@code %}) so that any key can be stored and queried as
 * {@code metadata.<key>}.
 */
final class MongoRecordCodec {

    static final String ID = "_id";
    static final String FLOW_NAME = "flowName";
    static final String FLOW_VERSION = "flowVersion";
    static final String STATUS = "status";
    static final String VERSION = "version";
    static final String CREATED_AT = "createdAt";
    static final String UPDATED_AT = "updatedAt";
    static final String DEADLINE = "deadline";
    static final String CORRELATION_ID = "correlationId";
    static final String WAITS = "waits";
    static final String KEY_HASHES = "keyHashes";
    static final String AWAIT_IDS = "awaitIds";
    static final String LEASE_OWNER = "leaseOwner";
    static final String LEASE_EXPIRES_AT = "leaseExpiresAt";
    static final String RETAIN_UNTIL = "retainUntil";
    static final String EXPIRE_AT = "expireAt";
    static final String METADATA = "metadata";
    static final String STATE = "state";

    static final String WAIT_KEY_HASH = "keyHash";
    static final String WAIT_AWAIT_ID = "awaitId";
    static final String WAIT_DEADLINE = "deadline";
    static final String WAIT_STATUS = "status";

    private MongoRecordCodec() {}

    /**
     * The document for a record.
     *
     * @param r the record
     * @return a new document
     */
    static BsonDocument encode(FlowRecord r) {
        BsonDocument d = new BsonDocument();
        d.put(ID, new BsonString(r.id()));
        d.put(FLOW_NAME, new BsonString(r.flowName()));
        d.put(FLOW_VERSION, new BsonInt32(r.flowVersion()));
        d.put(STATUS, new BsonString(r.status().name()));
        d.put(VERSION, new BsonInt64(r.version()));
        d.put(CREATED_AT, date(r.createdAt()));
        d.put(UPDATED_AT, date(r.updatedAt()));
        putDate(d, DEADLINE, r.deadline());
        putString(d, CORRELATION_ID, r.correlationId());
        BsonArray waits = new BsonArray();
        Set<String> keyHashes = new LinkedHashSet<>();
        Set<String> awaitIds = new LinkedHashSet<>();
        for (WaitRecord w : r.waits()) {
            BsonDocument wd = new BsonDocument();
            wd.put(WAIT_KEY_HASH, new BsonString(w.keyHash()));
            wd.put(WAIT_AWAIT_ID, new BsonString(w.awaitId()));
            putDate(wd, WAIT_DEADLINE, w.deadline());
            wd.put(WAIT_STATUS, new BsonString(w.status().name()));
            waits.add(wd);
            keyHashes.add(w.keyHash());
            awaitIds.add(w.awaitId());
        }
        d.put(WAITS, waits);
        putStrings(d, KEY_HASHES, keyHashes);
        putStrings(d, AWAIT_IDS, awaitIds);
        putString(d, LEASE_OWNER, r.leaseOwner());
        putDate(d, LEASE_EXPIRES_AT, r.leaseExpiresAt());
        putDate(d, RETAIN_UNTIL, r.retainUntil());
        if (r.status().isTerminal()) {
            putDate(d, EXPIRE_AT, r.retainUntil());
        }
        BsonDocument metadata = new BsonDocument();
        r.metadata().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> metadata.put(escapeKey(e.getKey()), new BsonString(e.getValue())));
        d.put(METADATA, metadata);
        d.put(STATE, new BsonBinary(r.state()));
        return d;
    }

    /**
     * The record a document holds.
     *
     * @param d a document written by {@link #encode}
     * @return the record
     * @throws StorageException when the document is not a well-formed record
     */
    static FlowRecord decode(BsonDocument d) {
        String id = d.containsKey(ID) && d.get(ID).isString() ? d.getString(ID).getValue() : "?";
        try {
            List<WaitRecord> waits = new ArrayList<>();
            for (BsonValue v : d.getArray(WAITS)) {
                BsonDocument wd = v.asDocument();
                waits.add(new WaitRecord(
                        wd.getString(WAIT_KEY_HASH).getValue(),
                        wd.getString(WAIT_AWAIT_ID).getValue(),
                        optDate(wd, WAIT_DEADLINE),
                        WaitRecord.Status.valueOf(wd.getString(WAIT_STATUS).getValue())));
            }
            Map<String, String> metadata = new HashMap<>();
            for (Map.Entry<String, BsonValue> e : d.getDocument(METADATA, new BsonDocument()).entrySet()) {
                metadata.put(unescapeKey(e.getKey()), e.getValue().asString().getValue());
            }
            return new FlowRecord(
                    d.getString(ID).getValue(),
                    d.getString(FLOW_NAME).getValue(),
                    d.getNumber(FLOW_VERSION).intValue(),
                    FlowStatus.valueOf(d.getString(STATUS).getValue()),
                    d.getNumber(VERSION).longValue(),
                    Instant.ofEpochMilli(d.getDateTime(CREATED_AT).getValue()),
                    Instant.ofEpochMilli(d.getDateTime(UPDATED_AT).getValue()),
                    optDate(d, DEADLINE),
                    optString(d, CORRELATION_ID),
                    waits,
                    optString(d, LEASE_OWNER),
                    optDate(d, LEASE_EXPIRES_AT),
                    optDate(d, RETAIN_UNTIL),
                    metadata,
                    d.getBinary(STATE).getData());
        } catch (RuntimeException e) {
            throw new StorageException("stored document of flow " + id + " is not a well-formed record: " + e, e);
        }
    }

    /**
     * A BSON date at millisecond precision.
     *
     * @param t an instant
     * @return the date
     */
    static BsonDateTime date(Instant t) {
        return new BsonDateTime(t.toEpochMilli());
    }

    /**
     * Escapes a metadata key so that it is a plain field name ({@code metadata.<escaped>} addresses it).
     *
     * @param key any string
     * @return a non-empty string without {@code .}, {@code $} or NUL
     */
    static String escapeKey(String key) {
        if (key.isEmpty()) {
            return "%";
        }
        StringBuilder sb = new StringBuilder(key.length() + 8);
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            switch (c) {
                case '%' -> sb.append("%25");
                case '.' -> sb.append("%2E");
                case '$' -> sb.append("%24");
                case '\0' -> sb.append("%00");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /**
     * Reverses {@link #escapeKey}.
     *
     * @param escaped an escaped key
     * @return the original key
     * @throws IllegalArgumentException when {@code escaped} holds an unknown escape
     */
    static String unescapeKey(String escaped) {
        if (escaped.equals("%")) {
            return "";
        }
        if (escaped.indexOf('%') < 0) {
            return escaped;
        }
        StringBuilder sb = new StringBuilder(escaped.length());
        for (int i = 0; i < escaped.length(); i++) {
            char c = escaped.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            if (i + 2 >= escaped.length()) {
                throw new IllegalArgumentException("truncated escape in metadata key");
            }
            String code = escaped.substring(i + 1, i + 3);
            sb.append(switch (code) {
                case "25" -> '%';
                case "2E" -> '.';
                case "24" -> '$';
                case "00" -> '\0';
                default -> throw new IllegalArgumentException("unknown escape %" + code + " in metadata key");
            });
            i += 2;
        }
        return sb.toString();
    }

    private static void putDate(BsonDocument d, String field, @Nullable Instant t) {
        if (t != null) {
            d.put(field, date(t));
        }
    }

    private static void putString(BsonDocument d, String field, @Nullable String s) {
        if (s != null) {
            d.put(field, new BsonString(s));
        }
    }

    private static void putStrings(BsonDocument d, String field, Set<String> values) {
        if (!values.isEmpty()) {
            BsonArray a = new BsonArray(new ArrayList<>(values.size()));
            values.forEach(v -> a.add(new BsonString(v)));
            d.put(field, a);
        }
    }

    private static @Nullable Instant optDate(BsonDocument d, String field) {
        BsonValue v = d.get(field);
        return v == null || v.isNull() ? null : Instant.ofEpochMilli(v.asDateTime().getValue());
    }

    private static @Nullable String optString(BsonDocument d, String field) {
        BsonValue v = d.get(field);
        return v == null || v.isNull() ? null : v.asString().getValue();
    }
}
