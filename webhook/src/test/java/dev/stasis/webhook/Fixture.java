package dev.stasis.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import dev.stasis.FlowResult;
import dev.stasis.PersistenceHub;
import dev.stasis.StartOptions;
import dev.stasis.security.KeyRing;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.blockhound.BlockHound;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.ByteBufFlux;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;

/**
 * A hub on a {@link FaultyStore} with a hand-moved clock, the flows the tests use, and a small HTTP client. Every
 * test JVM that uses it runs with BlockHound installed, so a blocking call on a netty event loop or a Reactor
 * parallel thread fails the request (and so the test).
 */
final class Fixture {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

    static {
        // loadIntegrations(): without it BlockHound knows no non-blocking thread and reports nothing at all
        BlockHound.builder()
                .loadIntegrations()
                // class initialisation of a DRBG reads its seed once; not a per-request cost
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator", "getSystemEntropy")
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator$URLSeedGenerator", "getSeedBytes")
                // the test logger writes lines to a file synchronously (production logging is the application's)
                .allowBlockingCallsInside("org.slf4j.simple.SimpleLogger", "write")
                .install();
    }

    record Order(String orderId, int amount) {}

    record Receipt(String orderId, String approvedBy, boolean approved) {}

    record Note(String text) {}

    enum Decision { APPROVE, REJECT, ESCALATE }

    record Review(Decision decision, int score, double weight, boolean urgent, @Nullable String note) {}

    static final AwaitInput<Approval> APPROVAL = AwaitInput.approval("manager-approval")
            .name("Manager approval")
            .description("A manager approves purchases over 1000 EUR")
            .timeout(Duration.ofHours(4))
            .metadata(Map.of("department", "finance"))
            .build();

    static final AwaitInput<Note> DRAFT = AwaitInput.builder("draft", Note.class).name("Draft note").build();
    static final AwaitInput<Note> FINAL = AwaitInput.builder("final", Note.class).name("Final note").build();
    static final AwaitInput<Note> GO = AwaitInput.builder("go", Note.class).name("Go").build();
    static final AwaitInput<Review> REVIEW = AwaitInput.builder("review", Review.class)
            .name("Quality review <b>")
            .description("Rate the delivery & decide")
            .timeout(Duration.ofDays(2))
            .metadata(Map.of("team", "<qa>"))
            .build();

    final TestClock clock;
    final FaultyStore store = new FaultyStore();
    final AtomicInteger reserved = new AtomicInteger();
    final AtomicInteger placed = new AtomicInteger();
    final Sinks.One<String> gate = Sinks.one();
    final Sinks.One<String> entered = Sinks.one();

    final Flow<Order, Receipt> purchase = Flow.define("purchase", 1, Order.class, Receipt.class, (ctx, order) ->
            ctx.step("reserve", Integer.class, () -> Mono.fromSupplier(reserved::incrementAndGet))
                    .then(ctx.await(APPROVAL))
                    .flatMap(a -> ctx.step("place", Receipt.class, () -> Mono.fromSupplier(() -> {
                        placed.incrementAndGet();
                        return new Receipt(order.orderId(), a.approver(), a.approved());
                    }))));

    final Flow<Note, String> chain = Flow.define("chain", 1, Note.class, String.class, (ctx, in) ->
            ctx.await(DRAFT).flatMap(d -> ctx.await(FINAL).map(f -> in.text() + ":" + d.text() + ":" + f.text())));

    final Flow<Note, String> slow = Flow.define("slow", 1, Note.class, String.class, (ctx, in) ->
            ctx.await(GO).flatMap(g -> ctx.step("wait-for-gate", String.class, () -> {
                entered.tryEmitValue("entered");
                return gate.asMono();
            })));

    final Flow<Note, Review> review = Flow.define("review", 1, Note.class, Review.class, (ctx, in) ->
            ctx.await(REVIEW));

    final KeyRing ring = KeyRing.builder().add("t1", KeyRing.generateKey()).build();
    final PersistenceHub hub;

    /** A fixture whose clock starts at 2026-03-02T09:00:00Z. */
    Fixture() {
        this(Instant.parse("2026-03-02T09:00:00Z"));
    }

    Fixture(Instant start) {
        clock = new TestClock(start);
        hub = PersistenceHub.builder(store, ring)
                .clock(clock)
                .register(purchase)
                .register(chain)
                .register(slow)
                .register(review)
                .build();
    }

    StasisRoutes.Builder routes() {
        return StasisRoutes.builder(hub).clock(clock);
    }

    DisposableServer serve(StasisRoutes routes) {
        return StasisServer.builder(routes).port(0).build().start();
    }

    FlowResult.Suspended startPurchase(String orderId) {
        return startPurchase(orderId, StartOptions.none());
    }

    FlowResult.Suspended startPurchase(String orderId, StartOptions options) {
        return (FlowResult.Suspended) hub.start(purchase, new Order(orderId, 5000), options).block();
    }

    /** One HTTP exchange's outcome. */
    record Res(int status, HttpHeaders headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (java.io.IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        String header(String name) {
            return headers.get(name);
        }
    }

    /** A tiny HTTP client over reactor-netty's {@link HttpClient}; redirects are not followed. */
    static final class Http {
        private final HttpClient client;

        Http(DisposableServer server) {
            this.client = HttpClient.create().host("127.0.0.1").port(server.port());
        }

        Res get(String path, Map<String, String> headers) {
            return exchange(HttpMethod.GET, path, headers, null);
        }

        Res postJson(String path, String json) {
            return post(path, Map.of("Content-Type", "application/json"), json);
        }

        Res post(String path, Map<String, String> headers, String body) {
            return exchange(HttpMethod.POST, path, headers, ByteBufFlux.fromString(Mono.just(body)));
        }

        Res exchange(HttpMethod method, String path, Map<String, String> headers, @Nullable Publisher<ByteBuf> body) {
            return exchangeAsync(method, path, headers, body).block(Duration.ofSeconds(30));
        }

        Mono<Res> exchangeAsync(HttpMethod method, String path, Map<String, String> headers,
                @Nullable Publisher<ByteBuf> body) {
            HttpClient c = client.headers(h -> headers.forEach(h::set));
            HttpClient.ResponseReceiver<?> receiver = body == null
                    ? c.request(method).uri(path)
                    : c.request(method).uri(path).send(body);
            return receiver.responseSingle((res, content) -> content.asString().defaultIfEmpty("")
                    .map(s -> new Res(res.status().code(), res.responseHeaders(), s)));
        }
    }
}
