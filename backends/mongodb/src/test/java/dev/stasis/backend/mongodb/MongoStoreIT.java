package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.result.UpdateResult;
import com.mongodb.reactivestreams.client.MongoCollection;
import dev.stasis.spi.StateStore;
import dev.stasis.tck.AbstractStateStoreContractTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import org.bson.BsonBinary;
import org.bson.BsonDocument;
import org.bson.BsonString;
import reactor.core.publisher.Mono;

/**
 * The whole contract suite against MongoDB through the real reactive driver: mongo-java-server in-process by
 * default, a real server when {@code STASIS_TEST_MONGODB_URI} is set (see {@link MongoTestServer}). The side
 * channel reads and writes the collection with raw driver calls.
 */
class MongoStoreIT extends AbstractStateStoreContractTest {

    private MongoTestServer server;
    private MongoCollection<BsonDocument> raw;

    @Override
    protected StateStore createStore() {
        server = MongoTestServer.start();
        System.err.println("[mongodb] " + getClass().getSimpleName() + " runs against " + server.describe());
        raw = server.client().getDatabase(server.database()).getCollection("flows", BsonDocument.class);
        server.indexIdAndVersionForTheFake(raw);
        return MongoStore.builder(server.client()).database(server.database()).build();
    }

    @Override
    protected void disposeStore(StateStore store) throws Exception {
        try {
            super.disposeStore(store);
        } finally {
            server.close();
        }
    }

    private BsonDocument rawDocument(String flowId) {
        BsonDocument d = Mono.from(raw.find(Filters.eq("_id", new BsonString(flowId))).first())
                .block(Duration.ofSeconds(10));
        return Objects.requireNonNull(d, () -> "no document for " + flowId);
    }

    @Override
    protected byte[] rawState(String flowId) {
        return rawDocument(flowId).getBinary("state").getData();
    }

    @Override
    protected void rawReplaceState(String flowId, byte[] state) {
        UpdateResult r = Mono.from(raw.updateOne(
                        Filters.eq("_id", new BsonString(flowId)), Updates.set("state", new BsonBinary(state))))
                .block(Duration.ofSeconds(10));
        assertThat(r).isNotNull();
        assertThat(r.getMatchedCount()).isEqualTo(1);
    }

    @Override
    protected String rawDump(String flowId) {
        BsonDocument d = rawDocument(flowId);
        byte[] state = d.getBinary("state").getData();
        BsonDocument rest = d.clone();
        rest.remove("state");
        return rest.toJson() + " state=" + new String(state, StandardCharsets.ISO_8859_1);
    }
}
