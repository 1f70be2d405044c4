package dev.stasis.backend.neo4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.neo4j.driver.exceptions.AuthenticationException;
import org.neo4j.driver.exceptions.ClientException;
import org.neo4j.driver.exceptions.DatabaseException;
import org.neo4j.driver.exceptions.DiscoveryException;
import org.neo4j.driver.exceptions.ServiceUnavailableException;
import org.neo4j.driver.exceptions.SessionExpiredException;
import org.neo4j.driver.exceptions.TransientException;

class Neo4jErrorsTest {

    private static ClientException clientError(String code, String message) {
        return new ClientException("50N42", "error: general processing exception", code, message, Map.of(), null);
    }

    @Test
    @DisplayName("connection, session, transient and discovery errors are transient")
    void transientErrors() {
        assertThat(Neo4jErrors.map("op", new ServiceUnavailableException("refused")))
                .isInstanceOf(StorageUnavailableException.class)
                .hasMessageContaining("op")
                .hasMessageContaining("refused");
        assertThat(Neo4jErrors.map("op", new SessionExpiredException("leader switched")))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(Neo4jErrors.map("op", new TransientException("Neo.TransientError.Transaction.DeadlockDetected",
                "deadlock"))).isInstanceOf(StorageUnavailableException.class);
        assertThat(Neo4jErrors.map("op", new DiscoveryException("no routing table", null)))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(Neo4jErrors.map("op", new RuntimeException("wrapped", new IOException("reset by peer"))))
                .isInstanceOf(StorageUnavailableException.class);
        assertThat(Neo4jErrors.map("op", new ServiceUnavailableException("x")).isRetryable()).isTrue();
    }

    @Test
    @DisplayName("a schema rule created by another instance first is recognised, also when mapped; other errors are not")
    void schemaRuleRace() {
        ClientException race = clientError("Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
                "An equivalent index already exists");
        assertThat(Neo4jErrors.isSchemaRuleRace(race)).isTrue();
        assertThat(Neo4jErrors.isSchemaRuleRace(Neo4jErrors.map("provision", race))).isTrue();
        assertThat(Neo4jErrors.isSchemaRuleRace(
                clientError("Neo.ClientError.Schema.ConstraintWithNameAlreadyExists", "name taken"))).isTrue();
        assertThat(Neo4jErrors.isSchemaRuleRace(clientError(Neo4jErrors.CONSTRAINT_VIOLATION, "dup"))).isFalse();
        assertThat(Neo4jErrors.isSchemaRuleRace(clientError("Neo.ClientError.Statement.SyntaxError", "x"))).isFalse();
        assertThat(Neo4jErrors.isSchemaRuleRace(new ServiceUnavailableException("refused"))).isFalse();
    }

    @Test
    @DisplayName("a uniqueness violation is a duplicate naming the field, never the value")
    void duplicates() {
        StorageException e = Neo4jErrors.map("insert", clientError(Neo4jErrors.CONSTRAINT_VIOLATION,
                "Node(3) already exists with label `Wait` and property `keyHash` = 'abc123'"));
        assertThat(e).isInstanceOf(DuplicateRecordException.class).hasMessage("key hash already stored");
        assertThat(e.getMessage()).doesNotContain("abc123");
        assertThat(Neo4jErrors.map("insert", clientError(Neo4jErrors.CONSTRAINT_VIOLATION,
                "Node(1) already exists with label `Flow` and property `id` = 'f1'")))
                .hasMessage("flow id already stored");
        assertThat(Neo4jErrors.map("insert", clientError(Neo4jErrors.CONSTRAINT_VIOLATION,
                "Node(1) already exists with label `acme_Flow` and property `correlationId` = 'c'")))
                .hasMessage("correlation id already stored");
        assertThat(Neo4jErrors.map("insert", clientError(Neo4jErrors.CONSTRAINT_VIOLATION, "something new")))
                .isInstanceOf(DuplicateRecordException.class)
                .hasMessage("a unique field already stored");
        assertThat(Neo4jErrors.map("insert", clientError(Neo4jErrors.CONSTRAINT_VIOLATION, "x")).isRetryable())
                .isFalse();
    }

    @Test
    @DisplayName("other client, database and security errors are permanent")
    void permanentErrors() {
        assertThat(Neo4jErrors.map("query", clientError("Neo.ClientError.Statement.SyntaxError", "bad")))
                .isExactlyInstanceOf(StorageException.class)
                .hasMessageContaining("Neo.ClientError.Statement.SyntaxError");
        assertThat(Neo4jErrors.map("query", new DatabaseException("Neo.DatabaseError.General.UnknownError", "boom")))
                .isExactlyInstanceOf(StorageException.class);
        assertThat(Neo4jErrors.map("query", new AuthenticationException("Neo.ClientError.Security.Unauthorized",
                "no"))).isExactlyInstanceOf(StorageException.class);
        assertThat(Neo4jErrors.map("query", new IllegalStateException("missing property id")))
                .isExactlyInstanceOf(StorageException.class)
                .hasMessageContaining("missing property id");
    }

    @Test
    @DisplayName("a Stasis storage error passes through unchanged")
    void passThrough() {
        StorageUnavailableException own = new StorageUnavailableException("torn");
        assertThat(Neo4jErrors.map("op", own)).isSameAs(own);
    }
}
