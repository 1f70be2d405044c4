package dev.stasis.webhook;

import dev.stasis.PersistenceHub;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A standalone HTTP server that runs {@link StasisRoutes} and nothing else:
 *
 * <pre>{@code
 * DisposableServer server = StasisServer.builder(StasisRoutes.builder(hub).adminToken(token).build())
 *         .port(8080)
 *         .build()
 *         .start();                 // blocks until bound; server.port(), server.disposeNow()
 * }</pre>
 *
 * <p>Access logs are on by default, through {@link StasisRoutes#accessLog()} (keys redacted), on the
 * {@code reactor.netty.http.server.AccessLog} logger. A request has {@link Builder#requestTimeout(Duration) 30
 * seconds} to arrive in full, so a client that dribbles its body cannot hold a resume slot for long.
 */
public final class StasisServer {

    private final StasisRoutes routes;
    private final String host;
    private final int port;
    private final boolean accessLog;
    private final @Nullable Duration requestTimeout;

    private StasisServer(Builder b) {
        this.routes = b.routes;
        this.host = b.host;
        this.port = b.port;
        this.accessLog = b.accessLog;
        this.requestTimeout = b.requestTimeout;
    }

    /**
     * A builder for a server with the default routes of {@code hub} (resume only: no admin token, no signatures).
     *
     * @param hub the hub
     * @return a builder
     */
    public static Builder builder(PersistenceHub hub) {
        return new Builder(StasisRoutes.builder(hub).build());
    }

    /**
     * A builder for a server running configured routes.
     *
     * @param routes the routes, e.g. {@code StasisRoutes.builder(hub).adminToken(t).build()}
     * @return a builder
     */
    public static Builder builder(StasisRoutes routes) {
        return new Builder(routes);
    }

    /**
     * The reactor-netty server this runs, for further configuration (TLS with {@code secure(...)}, metrics, …).
     *
     * @return the configured, unbound server
     */
    public HttpServer httpServer() {
        HttpServer server = HttpServer.create().host(host).port(port).route(routes);
        if (accessLog) {
            server = server.accessLog(true, StasisRoutes.accessLog());
        }
        if (requestTimeout != null) {
            server = server.requestTimeout(requestTimeout);
        }
        return server;
    }

    /**
     * Binds the server without blocking.
     *
     * @return emits the bound server
     */
    public Mono<? extends DisposableServer> bind() {
        return httpServer().bind();
    }

    /**
     * Binds the server, blocking until it listens (for {@code main} methods and tests; from reactive code use
     * {@link #bind()}). Stop it with {@link DisposableServer#disposeNow()}.
     *
     * @return the bound server: {@link DisposableServer#port()} tells the port when 0 was asked for
     */
    public DisposableServer start() {
        return httpServer().bindNow();
    }

    /** Builds a {@link StasisServer}. */
    public static final class Builder {
        private final StasisRoutes routes;
        private String host = "127.0.0.1";
        private int port = 8080;
        private boolean accessLog = true;
        private @Nullable Duration requestTimeout = Duration.ofSeconds(30);

        private Builder(StasisRoutes routes) {
            this.routes = Objects.requireNonNull(routes, "routes");
        }

        /**
         * The address to listen on (default {@code 127.0.0.1}; use {@code 0.0.0.0} behind a TLS proxy).
         *
         * @param host a host name or address
         * @return this builder
         */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /**
         * The port (default 8080; 0 picks a free one).
         *
         * @param port the port
         * @return this builder
         */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Whether to write access logs with redacted keys (default on).
         *
         * @param enabled on or off
         * @return this builder
         */
        public Builder accessLog(boolean enabled) {
            this.accessLog = enabled;
            return this;
        }

        /**
         * How long a request may take to arrive in full (default 30 seconds); {@code null} for no limit.
         *
         * @param timeout the timeout
         * @return this builder
         */
        public Builder requestTimeout(@Nullable Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        /**
         * Builds the server (not yet bound).
         *
         * @return the server
         */
        public StasisServer build() {
            return new StasisServer(this);
        }
    }
}
