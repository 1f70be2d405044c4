package dev.stasis.backend.mongodb;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoClientException;
import com.mongodb.MongoCommandException;
import com.mongodb.MongoCredential;
import com.mongodb.MongoNotPrimaryException;
import com.mongodb.MongoSecurityException;
import com.mongodb.MongoSocketOpenException;
import com.mongodb.MongoSocketReadTimeoutException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.MongoWriteException;
import com.mongodb.ServerAddress;
import com.mongodb.WriteError;
import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.Set;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MongoErrorsTest {

    private static final ServerAddress HOST = new ServerAddress("db1", 27017);

    private static MongoWriteException writeError(int code, String message) {
        return new MongoWriteException(new WriteError(code, message, new BsonDocument()), HOST, Set.of());
    }

    private static MongoCommandException commandError(int code, String name) {
        BsonDocument response = new BsonDocument("ok", new BsonInt32(0))
                .append("code", new BsonInt32(code))
                .append("codeName", new BsonString(name))
                .append("errmsg", new BsonString(name + " happened"));
        return new MongoCommandException(response, HOST);
    }

    @Test
    @DisplayName("code 11000 becomes DuplicateRecordException naming the field, never quoting the value")
    void duplicateKey() {
        String hash = "ab".repeat(32);
        StorageException e = MongoErrors.map("insert", writeError(11000,
                "E11000 duplicate key error collection: stasis.flows index: stasis_keyHashes_unique dup key: "
                        + "{ keyHashes: \"" + hash + "\" }"));
        assertThat(e).isExactlyInstanceOf(DuplicateRecordException.class).hasMessage("key hash already stored");
        assertThat(e.getMessage()).doesNotContain(hash);
        assertThat(e.isRetryable()).isFalse();

        assertThat(MongoErrors.map("insert", writeError(11000,
                        "E11000 duplicate key error collection: stasis.flows index: stasis_correlationId_unique "
                                + "dup key: { correlationId: \"return-42\" }")))
                .isExactlyInstanceOf(DuplicateRecordException.class)
                .hasMessage("correlation id already stored");
        assertThat(MongoErrors.map("insert", writeError(11000,
                        "E11000 duplicate key error collection: stasis.flows index: _id_ dup key: { _id: \"0abc\" }")))
                .isExactlyInstanceOf(DuplicateRecordException.class)
                .hasMessage("flow id already stored");
        assertThat(MongoErrors.map("insert", writeError(11000, "something unexpected")))
                .isExactlyInstanceOf(DuplicateRecordException.class)
                .hasMessage("a unique field is already stored");
        assertThat(MongoErrors.map("compare-and-set", commandError(11000, "DuplicateKey")))
                .isExactlyInstanceOf(DuplicateRecordException.class);
    }

    @Test
    @DisplayName("timeouts, sockets, failover and connection errors are transient")
    void transientErrors() {
        assertUnavailable(new MongoTimeoutException("Timed out while waiting for a server"));
        assertUnavailable(new MongoSocketOpenException("Exception opening socket", HOST, new IOException("refused")));
        assertUnavailable(new MongoSocketReadTimeoutException("read timed out", HOST, new SocketTimeoutException()));
        assertUnavailable(new MongoNotPrimaryException(
                new BsonDocument("code", new BsonInt32(10107)).append("errmsg", new BsonString("not primary")), HOST));
        assertUnavailable(commandError(91, "ShutdownInProgress"));
        assertUnavailable(commandError(189, "PrimarySteppedDown"));
        assertUnavailable(commandError(50, "MaxTimeMSExpired"));
        assertUnavailable(writeError(11602, "InterruptedDueToReplStateChange"));
        assertUnavailable(new MongoClientException("Connection refused while checking out a connection"));
        MongoCommandException labelled = commandError(112, "WriteConflict");
        labelled.addLabel("RetryableWriteError");
        assertUnavailable(labelled);
    }

    private static void assertUnavailable(Throwable driverError) {
        StorageException e = MongoErrors.map("query", driverError);
        assertThat(e).as(driverError.toString()).isExactlyInstanceOf(StorageUnavailableException.class);
        assertThat(e.isRetryable()).isTrue();
        assertThat(e).hasCause(driverError);
        assertThat(e.getMessage()).contains("query");
    }

    @Test
    @DisplayName("authentication, rejected commands and non-driver errors are not retryable")
    void permanentErrors() {
        assertPermanent(commandError(13, "Unauthorized"));
        assertPermanent(commandError(85, "IndexOptionsConflict"));
        assertPermanent(new MongoSecurityException(
                MongoCredential.createCredential("u", "admin", "p".toCharArray()), "auth failed"));
        assertPermanent(new MongoClientException("state should be: open"));
        assertPermanent(new IllegalStateException("state should be: open"));
    }

    private static void assertPermanent(Throwable driverError) {
        StorageException e = MongoErrors.map("insert", driverError);
        assertThat(e).as(driverError.toString()).isExactlyInstanceOf(StorageException.class);
        assertThat(e.isRetryable()).isFalse();
        assertThat(e).hasCause(driverError);
    }

    @Test
    @DisplayName("errors that are already storage errors pass through unchanged")
    void passThrough() {
        StorageUnavailableException unavailable = new StorageUnavailableException("down");
        assertThat(MongoErrors.map("insert", unavailable)).isSameAs(unavailable);
        DuplicateRecordException duplicate = new DuplicateRecordException("dup");
        assertThat(MongoErrors.map("insert", duplicate)).isSameAs(duplicate);
    }

    @Test
    @DisplayName("the conflicting field is read from the index name only")
    void conflictingField() {
        assertThat(MongoErrors.conflictingField(null)).isNull();
        assertThat(MongoErrors.conflictingField("index: other_index dup key: { keyHashes: 1 }")).isNull();
        assertThat(MongoErrors.conflictingField(
                "index: stasis_correlationId_unique dup key: { correlationId: \"keyHashes _id_\" }"))
                .isEqualTo("correlation id");
    }
}
