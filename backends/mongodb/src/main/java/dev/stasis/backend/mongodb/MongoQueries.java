package dev.stasis.backend.mongodb;

import static dev.stasis.backend.mongodb.MongoRecordCodec.AWAIT_IDS;
import static dev.stasis.backend.mongodb.MongoRecordCodec.CORRELATION_ID;
import static dev.stasis.backend.mongodb.MongoRecordCodec.CREATED_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.DEADLINE;
import static dev.stasis.backend.mongodb.MongoRecordCodec.FLOW_NAME;
import static dev.stasis.backend.mongodb.MongoRecordCodec.ID;
import static dev.stasis.backend.mongodb.MongoRecordCodec.KEY_HASHES;
import static dev.stasis.backend.mongodb.MongoRecordCodec.LEASE_EXPIRES_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.METADATA;
import static dev.stasis.backend.mongodb.MongoRecordCodec.RETAIN_UNTIL;
import static dev.stasis.backend.mongodb.MongoRecordCodec.STATUS;
import static dev.stasis.backend.mongodb.MongoRecordCodec.UPDATED_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.VERSION;
import static dev.stasis.backend.mongodb.MongoRecordCodec.date;

import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.bson.conversions.Bson;

/**
 * The filters and sort orders of every read and conditional write. {@link #criteria} is the query translation of
 * {@link QueryCriteria#matches}: a missing {@code deadline} or {@code retainUntil} never matches a range (MongoDB's
 * comparison operators do not match a missing field), exactly as {@code matches} treats {@code null}.
 */
final class MongoQueries {

    /** Ascending flow id: the order of {@code query} and {@code deleteMatching}. */
    static final Bson BY_ID = Sorts.ascending(ID);
    /** {@code dueForTimeout}: earliest deadline first, ties by id. */
    static final Bson BY_DEADLINE = Sorts.ascending(DEADLINE, ID);
    /** {@code expiredLeases}: oldest lease first, ties by id. */
    static final Bson BY_LEASE = Sorts.ascending(LEASE_EXPIRES_AT, ID);

    private MongoQueries() {}

    static Bson byId(String flowId) {
        return Filters.eq(ID, new BsonString(flowId));
    }

    /**
     * The compare-and-set filter, as one flat document {@code {_id: id, version: v}} (MongoDB answers it from the
     * {@code _id} index).
     *
     * @param flowId the flow id
     * @param version the expected version
     * @return the filter
     */
    static Bson byIdAndVersion(String flowId, long version) {
        return new BsonDocument(ID, new BsonString(flowId)).append(VERSION, new BsonInt64(version));
    }

    static Bson byKeyHash(String keyHash) {
        return Filters.eq(KEY_HASHES, new BsonString(keyHash));
    }

    static Bson byCorrelationId(String correlationId) {
        return Filters.eq(CORRELATION_ID, new BsonString(correlationId));
    }

    static Bson dueForTimeout(Instant now) {
        return Filters.and(
                Filters.eq(STATUS, new BsonString(FlowStatus.SUSPENDED.name())), Filters.lte(DEADLINE, date(now)));
    }

    static Bson expiredLeases(Instant now) {
        return Filters.and(
                Filters.eq(STATUS, new BsonString(FlowStatus.RUNNING.name())),
                Filters.lte(LEASE_EXPIRES_AT, date(now)));
    }

    /**
     * Every filter of {@code criteria} (the cursor included, the limit excluded), ANDed.
     *
     * @param c the criteria
     * @return the filter; an empty document when nothing is set
     */
    static Bson criteria(QueryCriteria c) {
        List<Bson> all = new ArrayList<>();
        if (c.flowName() != null) {
            all.add(Filters.eq(FLOW_NAME, new BsonString(c.flowName())));
        }
        if (c.awaitId() != null) {
            all.add(Filters.eq(AWAIT_IDS, new BsonString(c.awaitId())));
        }
        if (!c.statuses().isEmpty()) {
            List<BsonValue> statuses = c.statuses().stream()
                    .sorted()
                    .<BsonValue>map(s -> new BsonString(s.name()))
                    .toList();
            all.add(statuses.size() == 1 ? Filters.eq(STATUS, statuses.get(0)) : Filters.in(STATUS, statuses));
        }
        if (c.correlationId() != null) {
            all.add(Filters.eq(CORRELATION_ID, new BsonString(c.correlationId())));
        }
        if (c.createdAfter() != null) {
            all.add(Filters.gte(CREATED_AT, date(c.createdAfter())));
        }
        if (c.createdBefore() != null) {
            all.add(Filters.lt(CREATED_AT, date(c.createdBefore())));
        }
        if (c.deadlineBefore() != null) {
            all.add(Filters.lt(DEADLINE, date(c.deadlineBefore())));
        }
        if (c.deadlineAfter() != null) {
            all.add(Filters.gte(DEADLINE, date(c.deadlineAfter())));
        }
        if (c.updatedBefore() != null) {
            all.add(Filters.lt(UPDATED_AT, date(c.updatedBefore())));
        }
        if (c.retainedBefore() != null) {
            all.add(Filters.lt(RETAIN_UNTIL, date(c.retainedBefore())));
        }
        c.metadata().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> all.add(Filters.eq(
                        METADATA + "." + MongoRecordCodec.escapeKey(e.getKey()), new BsonString(e.getValue()))));
        if (c.afterFlowId() != null) {
            all.add(Filters.gt(ID, new BsonString(c.afterFlowId())));
        }
        return all.isEmpty() ? Filters.empty() : all.size() == 1 ? all.get(0) : Filters.and(all);
    }
}
