package dev.stasis.backend.mongodb;

import static dev.stasis.backend.mongodb.MongoRecordCodec.AWAIT_IDS;
import static dev.stasis.backend.mongodb.MongoRecordCodec.CORRELATION_ID;
import static dev.stasis.backend.mongodb.MongoRecordCodec.CREATED_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.DEADLINE;
import static dev.stasis.backend.mongodb.MongoRecordCodec.EXPIRE_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.FLOW_NAME;
import static dev.stasis.backend.mongodb.MongoRecordCodec.ID;
import static dev.stasis.backend.mongodb.MongoRecordCodec.KEY_HASHES;
import static dev.stasis.backend.mongodb.MongoRecordCodec.LEASE_EXPIRES_AT;
import static dev.stasis.backend.mongodb.MongoRecordCodec.STATUS;

import com.mongodb.client.model.IndexModel;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The indexes the store provisions, by fixed name (so that provisioning again, from any number of instances, asks
 * for exactly the same indexes and MongoDB treats it as a no-op).
 */
final class MongoIndexes {

    /** Unique, sparse, multikey: one key hash belongs to at most one record. */
    static final String KEY_HASHES_UNIQUE = "stasis_keyHashes_unique";
    /** Unique, sparse: one correlation id belongs to at most one record. */
    static final String CORRELATION_ID_UNIQUE = "stasis_correlationId_unique";
    /** {@code dueForTimeout}: suspended records by deadline. */
    static final String STATUS_DEADLINE = "stasis_status_deadline";
    /** {@code expiredLeases}: running records by lease expiry. */
    static final String STATUS_LEASE = "stasis_status_leaseExpiresAt";
    /** Queries by flow name, in id order. */
    static final String FLOW_NAME_ID = "stasis_flowName_id";
    /** Queries by creation time. */
    static final String CREATED_AT_IDX = "stasis_createdAt";
    /** Queries by await id (multikey). */
    static final String AWAIT_IDS_IDX = "stasis_awaitIds";
    /** TTL: removes a finished record once its {@code expireAt} (its retention end) has passed. */
    static final String EXPIRE_AT_TTL = "stasis_expireAt_ttl";

    /** The indexes that must exist for the store to work correctly (the unique ones). */
    static final Set<String> REQUIRED = Set.of(KEY_HASHES_UNIQUE, CORRELATION_ID_UNIQUE);

    private MongoIndexes() {}

    /**
     * The index definitions.
     *
     * @param retentionTtl whether to include the TTL index
     * @return the models, unique ones first
     */
    static List<IndexModel> models(boolean retentionTtl) {
        List<IndexModel> models = new ArrayList<>();
        models.add(new IndexModel(Indexes.ascending(KEY_HASHES),
                new IndexOptions().name(KEY_HASHES_UNIQUE).unique(true).sparse(true)));
        models.add(new IndexModel(Indexes.ascending(CORRELATION_ID),
                new IndexOptions().name(CORRELATION_ID_UNIQUE).unique(true).sparse(true)));
        models.add(new IndexModel(Indexes.ascending(STATUS, DEADLINE), new IndexOptions().name(STATUS_DEADLINE)));
        models.add(new IndexModel(Indexes.ascending(STATUS, LEASE_EXPIRES_AT), new IndexOptions().name(STATUS_LEASE)));
        models.add(new IndexModel(Indexes.ascending(FLOW_NAME, ID), new IndexOptions().name(FLOW_NAME_ID)));
        models.add(new IndexModel(Indexes.ascending(CREATED_AT), new IndexOptions().name(CREATED_AT_IDX)));
        models.add(new IndexModel(Indexes.ascending(AWAIT_IDS), new IndexOptions().name(AWAIT_IDS_IDX)));
        if (retentionTtl) {
            models.add(new IndexModel(Indexes.ascending(EXPIRE_AT),
                    new IndexOptions().name(EXPIRE_AT_TTL).expireAfter(0L, TimeUnit.SECONDS)));
        }
        return models;
    }

    /**
     * The names {@link #models} creates.
     *
     * @param retentionTtl whether the TTL index is included
     * @return the names
     */
    static List<String> names(boolean retentionTtl) {
        return models(retentionTtl).stream().map(m -> m.getOptions().getName()).toList();
    }
}
