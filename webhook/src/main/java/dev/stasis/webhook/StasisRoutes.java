package dev.stasis.webhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.stasis.PersistenceHub;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import reactor.netty.http.server.HttpServerRoutes;
import reactor.netty.http.server.logging.AccessLogFactory;

/**
 * The Stasis HTTP routes, to mount on your own reactor-netty server:
 *
 * <pre>{@code
 * StasisRoutes stasis = StasisRoutes.builder(hub)
 *         .adminToken(System.getenv("STASIS_ADMIN_TOKEN"))     // enables /admin/** and the inbox
 *         .webhookSecret(System.getenv("STASIS_WEBHOOK_SECRET")) // whsec_…: Standard Webhooks signatures
 *         .build();
 * HttpServer.create()
 *         .accessLog(true, StasisRoutes.accessLog())          // keys redacted
 *         .route(routes -> { stasis.accept(routes); routes.get("/hello", myHandler); })
 *         .bindNow();
 * }</pre>
 *
 * <table>
 *   <caption>Routes (under {@link Builder#basePath(String)})</caption>
 *   <tr><th>route</th><th>answers</th></tr>
 *   <tr><td>{@code POST /resume/{key}}</td><td>200 next result; 400 problem+json with the schema violations;
 *       401 bad Standard Webhooks signature (when a secret is configured); 404 unknown or expired key (one answer
 *       for both); 409 already resumed; 413 body over the limit; 415 not JSON; 429 too many resumes in flight; 503
 *       store unavailable (with {@code Retry-After})</td></tr>
 *   <tr><td>{@code GET /admin/suspensions}, {@code GET /admin/flows/{id}}, {@code POST /admin/flows/{id}/cancel},
 *       {@code POST /admin/cleanup}, {@code GET /admin/health}, {@code GET /admin/metrics}</td><td>admin API
 *       behind {@code Authorization: Bearer <admin token>}; 401 without it</td></tr>
 *   <tr><td>{@code GET /login}, {@code POST /login}, {@code POST /logout}, {@code GET /inbox},
 *       {@code GET /inbox/flows/{id}}, {@code POST /inbox/flows/{id}/waits/{awaitId}}</td><td>the approval inbox
 *       for people (session cookie from the login form, CSRF token in every form)</td></tr>
 * </table>
 *
 * <p>Without an admin token only {@code POST /resume/{key}} is mounted. Keys are bearer capabilities that travel in
 * the URL: serve these routes over HTTPS only, and log requests through {@link #accessLog()} (or not at all), never
 * with a logger that prints raw URIs.
 *
 * <p>Every route is non-blocking: hub calls are chained, request bodies are read as they arrive (with the size
 * limit enforced while reading), and nothing waits on a thread.
 */
public final class StasisRoutes implements Consumer<HttpServerRoutes> {

    final PersistenceHub hub;
    final ObjectMapper mapper;
    final Clock clock;
    final String basePath;
    final long maxBodyBytes;
    final int maxConcurrentResumes;
    final Duration retryAfter;
    final @Nullable WebhookSignature signature;
    final @Nullable AdminAuth auth;
    final boolean secureCookies;
    final int inboxLimit;
    final ResumeMetrics metrics = new ResumeMetrics();

    private StasisRoutes(Builder b) {
        this.hub = b.hub;
        this.mapper = b.mapper != null ? b.mapper : new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        this.clock = b.clock;
        this.basePath = b.basePath;
        this.maxBodyBytes = b.maxBodyBytes;
        this.maxConcurrentResumes = b.maxConcurrentResumes;
        this.retryAfter = b.retryAfter;
        this.signature = b.webhookSecret == null ? null
                : new WebhookSignature(b.webhookSecret, b.signatureTolerance, b.clock);
        this.auth = b.adminToken == null ? null : new AdminAuth(b.adminToken, b.sessionTtl, b.clock);
        this.secureCookies = b.secureCookies;
        this.inboxLimit = b.inboxLimit;
    }

    /**
     * Starts a builder.
     *
     * @param hub the hub whose flows the routes resume
     * @return a builder with the defaults: 1 MiB body limit, 256 resumes in flight, no signatures, no admin API
     */
    public static Builder builder(PersistenceHub hub) {
        return new Builder(hub);
    }

    /**
     * Registers the routes.
     *
     * @param routes the server's route registry
     */
    @Override
    public void accept(HttpServerRoutes routes) {
        String p = basePath;
        ResumeRoute resume = new ResumeRoute(this);
        routes.post(p + "/resume/{key}", resume::handle);
        if (auth != null) {
            AdminRoutes admin = new AdminRoutes(this, auth);
            routes.get(p + "/admin/suspensions", admin::suspensions);
            routes.get(p + "/admin/flows/{id}", admin::flow);
            routes.post(p + "/admin/flows/{id}/cancel", admin::cancel);
            routes.post(p + "/admin/cleanup", admin::cleanup);
            routes.get(p + "/admin/health", admin::health);
            routes.get(p + "/admin/metrics", admin::metrics);
            InboxRoutes inbox = new InboxRoutes(this, auth);
            routes.get(p + "/login", inbox::loginPage);
            routes.post(p + "/login", inbox::login);
            routes.post(p + "/logout", inbox::logout);
            routes.get(p + "/inbox", inbox::list);
            routes.get(p + "/inbox/assets/{name}", inbox::asset);
            routes.get(p + "/inbox/flows/{id}", inbox::flow);
            routes.post(p + "/inbox/flows/{id}/waits/{awaitId}", inbox::submit);
        }
    }

    /**
     * An access-log format for {@code HttpServer.accessLog(true, StasisRoutes.accessLog())}: remote address,
     * method, request target with every resume key replaced by its redacted form ({@code sk1_#<12 hex of its
     * SHA-256>}), protocol, status, bytes and duration. Lines go to the {@code reactor.netty.http.server.AccessLog}
     * logger at INFO.
     *
     * @return the access-log factory
     */
    public static AccessLogFactory accessLog() {
        return Redaction::format;
    }

    /** Builds {@link StasisRoutes}. */
    public static final class Builder {
        private final PersistenceHub hub;
        private @Nullable ObjectMapper mapper;
        private Clock clock = Clock.systemUTC();
        private String basePath = "";
        private long maxBodyBytes = 1024 * 1024;
        private int maxConcurrentResumes = 256;
        private Duration retryAfter = Duration.ofSeconds(5);
        private @Nullable String webhookSecret;
        private Duration signatureTolerance = Duration.ofMinutes(5);
        private @Nullable String adminToken;
        private Duration sessionTtl = Duration.ofHours(8);
        private boolean secureCookies;
        private int inboxLimit = 200;

        private Builder(PersistenceHub hub) {
            this.hub = Objects.requireNonNull(hub, "hub");
        }

        /**
         * The token of the admin API ({@code Authorization: Bearer …}) and of the inbox login. Without one, neither
         * is mounted. Use at least 32 random characters; it is compared in constant time.
         *
         * @param token at least 16 characters
         * @return this builder
         */
        public Builder adminToken(String token) {
            this.adminToken = Objects.requireNonNull(token, "token");
            return this;
        }

        /**
         * Verifies Standard Webhooks signatures on {@code POST /resume/{key}}: {@code webhook-signature} must hold a
         * {@code v1} HMAC-SHA256 of {@code "<webhook-id>.<webhook-timestamp>.<body>"} under this secret, and
         * {@code webhook-timestamp} must be within the tolerance; otherwise 401.
         *
         * @param secret {@code whsec_} followed by the base64 key
         * @return this builder
         */
        public Builder webhookSecret(String secret) {
            this.webhookSecret = Objects.requireNonNull(secret, "secret");
            return this;
        }

        /**
         * How far {@code webhook-timestamp} may be from the clock, either way (default 5 minutes).
         *
         * @param tolerance the window
         * @return this builder
         */
        public Builder signatureTolerance(Duration tolerance) {
            this.signatureTolerance = Objects.requireNonNull(tolerance, "tolerance");
            return this;
        }

        /**
         * The largest request body accepted (default 1 MiB). A larger Content-Length is refused with 413 before
         * reading; a chunked body is refused with 413 as soon as the bytes read pass the limit.
         *
         * @param bytes the limit
         * @return this builder
         */
        public Builder maxBodyBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be positive");
            }
            this.maxBodyBytes = bytes;
            return this;
        }

        /**
         * How many resumes may be in flight at once on these routes (default 256); more get 429 with
         * {@code Retry-After} (load shedding: the hub and the store are not asked).
         *
         * @param max at least 1
         * @return this builder
         */
        public Builder maxConcurrentResumes(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConcurrentResumes must be at least 1");
            }
            this.maxConcurrentResumes = max;
            return this;
        }

        /**
         * The {@code Retry-After} sent with 429 and 503 answers (default 5 seconds).
         *
         * @param retryAfter the delay, rounded down to seconds (at least 1)
         * @return this builder
         */
        public Builder retryAfter(Duration retryAfter) {
            this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
            return this;
        }

        /**
         * The clock for signature timestamps and session expiry (default UTC system clock).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The mapper that writes flow outputs and admin answers (default: Jackson with Java time as ISO-8601).
         *
         * @param mapper the mapper
         * @return this builder
         */
        public Builder objectMapper(ObjectMapper mapper) {
            this.mapper = Objects.requireNonNull(mapper, "mapper");
            return this;
        }

        /**
         * A prefix for every route, e.g. {@code "/stasis"} (default none).
         *
         * @param basePath empty, or starting with {@code /} and not ending with one
         * @return this builder
         */
        public Builder basePath(String basePath) {
            if (!basePath.isEmpty() && (!basePath.startsWith("/") || basePath.endsWith("/"))) {
                throw new IllegalArgumentException("basePath must be empty or start with / and not end with /");
            }
            this.basePath = basePath;
            return this;
        }

        /**
         * How long an inbox login lasts (default 8 hours).
         *
         * @param ttl the session lifetime
         * @return this builder
         */
        public Builder sessionTtl(Duration ttl) {
            this.sessionTtl = Objects.requireNonNull(ttl, "ttl");
            return this;
        }

        /**
         * Adds {@code Secure} to the session cookie (default off; turn it on whenever the inbox is served over
         * HTTPS, which it should be).
         *
         * @param secure whether the cookie is HTTPS-only
         * @return this builder
         */
        public Builder secureCookies(boolean secure) {
            this.secureCookies = secure;
            return this;
        }

        /**
         * How many suspended flows the inbox lists (default 200).
         *
         * @param limit 1 to 10,000
         * @return this builder
         */
        public Builder inboxLimit(int limit) {
            if (limit < 1 || limit > 10_000) {
                throw new IllegalArgumentException("inboxLimit must be between 1 and 10000");
            }
            this.inboxLimit = limit;
            return this;
        }

        /**
         * Builds the routes. Checks the secret and the token here, so that a bad configuration fails at start.
         *
         * @return the routes
         */
        public StasisRoutes build() {
            return new StasisRoutes(this);
        }
    }
}
