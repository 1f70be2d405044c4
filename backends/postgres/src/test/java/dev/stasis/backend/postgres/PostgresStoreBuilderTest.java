package dev.stasis.backend.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class PostgresStoreBuilderTest {

    /** A factory that must never be asked for a connection by these tests. */
    private static final ConnectionFactory UNUSED = new ConnectionFactory() {
        @Override
        public Publisher<? extends Connection> create() {
            return Mono.error(new AssertionError("no connection expected"));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "unused";
        }
    };

    @Test
    @DisplayName("only r2dbc:postgresql: (or postgres:) URLs are accepted; the store pools by itself")
    void urls() {
        assertThatThrownBy(() -> PostgresStore.builder("r2dbc:pool:postgresql://u@h/db"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("r2dbc:pool:");
        assertThatThrownBy(() -> PostgresStore.builder("r2dbc:mysql://u@h/db"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mysql");
        assertThatThrownBy(() -> PostgresStore.builder("postgresql://u@h/db"))
                .isInstanceOf(IllegalArgumentException.class);
        PostgresStore store = PostgresStore.builder("r2dbc:postgres://u@127.0.0.1:1/db").maxPoolSize(2).build();
        assertThat(store.toString()).contains("\"stasis\".\"flows\"");
        store.close().as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("names are validated when set, durations must be positive, pool size at least 1")
    void options() {
        PostgresStore.Builder b = PostgresStore.builder(UNUSED);
        assertThatThrownBy(() -> b.schema("Bad-Name")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.table("x\"y")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.acquireTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.statementTimeout(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.maxPoolSize(0)).isInstanceOf(IllegalArgumentException.class);
        PostgresStore store = b.schema("tenant_a").table("approvals").build();
        assertThat(store.toString()).contains("\"tenant_a\".\"approvals\"");
    }

    @Test
    @DisplayName("pool options are refused for an application-owned factory, whose close() is a no-op")
    void applicationFactory() {
        assertThatThrownBy(() -> PostgresStore.builder(UNUSED).maxPoolSize(5).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("maxPoolSize");
        PostgresStore store = PostgresStore.builder(UNUSED).build();
        store.close().as(StepVerifier::create).verifyComplete();
    }

    @Test
    @DisplayName("a factory that fails to connect is mapped once, lazily, per subscription")
    void lazyAndMapped() {
        int[] calls = {0};
        ConnectionFactory refusing = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                calls[0]++;
                return Mono.error(new io.r2dbc.spi.R2dbcNonTransientResourceException("Cannot connect"));
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "refusing";
            }
        };
        PostgresStore store = PostgresStore.builder(refusing).build();
        Mono<?> find = store.findById("x");
        assertThat(calls[0]).isZero();
        find.as(StepVerifier::create).expectError(dev.stasis.StorageUnavailableException.class).verify();
        find.as(StepVerifier::create).expectError(dev.stasis.StorageUnavailableException.class).verify();
        assertThat(calls[0]).isEqualTo(2);
        store.health().as(StepVerifier::create)
                .assertNext(h -> assertThat(h.up()).isFalse())
                .verifyComplete();
    }
}
