package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import java.time.Instant;
import org.bson.BsonDocument;
import org.bson.conversions.Bson;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MongoQueriesTest {

    private static final Instant T = Instant.parse("2026-01-02T03:04:05.678Z");
    private static final long MS = T.toEpochMilli();

    private static BsonDocument render(Bson filter) {
        return filter.toBsonDocument();
    }

    @Test
    @DisplayName("no filters: an empty filter document")
    void empty() {
        assertThat(render(MongoQueries.criteria(QueryCriteria.builder().build()))).isEqualTo(new BsonDocument());
    }

    @Test
    @DisplayName("a single filter is rendered without $and")
    void single() {
        assertThat(render(MongoQueries.criteria(QueryCriteria.builder().flowName("purchase").build())))
                .isEqualTo(BsonDocument.parse("{flowName: 'purchase'}"));
        assertThat(render(MongoQueries.criteria(QueryCriteria.builder().status(FlowStatus.RUNNING).build())))
                .isEqualTo(BsonDocument.parse("{status: 'RUNNING'}"));
    }

    @Test
    @DisplayName("every criterion becomes one clause, dates as BSON dates, metadata keys escaped")
    void everyCriterion() {
        QueryCriteria c = QueryCriteria.builder()
                .flowName("purchase")
                .awaitId("manager-approval")
                .status(FlowStatus.SUSPENDED, FlowStatus.COMPLETED)
                .correlationId("return-1")
                .createdAfter(T)
                .createdBefore(T.plusMillis(1))
                .deadlineBefore(T.plusMillis(2))
                .deadlineAfter(T.plusMillis(3))
                .updatedBefore(T.plusMillis(4))
                .retainedBefore(T.plusMillis(5))
                .metadata("tenant", "acme")
                .metadata("a.b$", "x")
                .afterFlowId("0123")
                .limit(7)
                .build();
        BsonDocument expected = BsonDocument.parse("{$and: ["
                + "{flowName: 'purchase'},"
                + "{awaitIds: 'manager-approval'},"
                + "{status: {$in: ['SUSPENDED', 'COMPLETED']}},"
                + "{correlationId: 'return-1'},"
                + "{createdAt: {$gte: {$date: " + MS + "}}},"
                + "{createdAt: {$lt: {$date: " + (MS + 1) + "}}},"
                + "{deadline: {$lt: {$date: " + (MS + 2) + "}}},"
                + "{deadline: {$gte: {$date: " + (MS + 3) + "}}},"
                + "{updatedAt: {$lt: {$date: " + (MS + 4) + "}}},"
                + "{retainUntil: {$lt: {$date: " + (MS + 5) + "}}},"
                + "{'metadata.a%2Eb%24': 'x'},"
                + "{'metadata.tenant': 'acme'},"
                + "{_id: {$gt: '0123'}}"
                + "]}");
        assertThat(render(MongoQueries.criteria(c))).isEqualTo(expected);
    }

    @Test
    @DisplayName("the compare-and-set filter matches id and version; timeouts and leases use status plus a range")
    void fixedFilters() {
        assertThat(render(MongoQueries.byIdAndVersion("f1", 3)))
                .isEqualTo(BsonDocument.parse("{_id: 'f1', version: {$numberLong: '3'}}"));
        assertThat(render(MongoQueries.byKeyHash("h"))).isEqualTo(BsonDocument.parse("{keyHashes: 'h'}"));
        assertThat(render(MongoQueries.dueForTimeout(T))).isEqualTo(BsonDocument.parse(
                "{$and: [{status: 'SUSPENDED'}, {deadline: {$lte: {$date: " + MS + "}}}]}"));
        assertThat(render(MongoQueries.expiredLeases(T))).isEqualTo(BsonDocument.parse(
                "{$and: [{status: 'RUNNING'}, {leaseExpiresAt: {$lte: {$date: " + MS + "}}}]}"));
        assertThat(render(MongoQueries.BY_DEADLINE)).isEqualTo(BsonDocument.parse("{deadline: 1, _id: 1}"));
        assertThat(render(MongoQueries.BY_LEASE)).isEqualTo(BsonDocument.parse("{leaseExpiresAt: 1, _id: 1}"));
    }
}
