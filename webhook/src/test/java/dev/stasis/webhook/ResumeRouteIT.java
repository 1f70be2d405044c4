package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.PersistenceHub;
import dev.stasis.security.KeyRing;
import dev.stasis.security.ResumeKeys;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/** {@code POST /resume/{key}} over real HTTP: every answer the route gives. */
class ResumeRouteIT {

    private final Fixture f = new Fixture();
    private DisposableServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.disposeNow();
        }
    }

    private Fixture.Http start(StasisRoutes routes) {
        server = f.serve(routes);
        return new Fixture.Http(server);
    }

    private Fixture.Http start() {
        return start(f.routes().build());
    }

    @Test
    @DisplayName("200: a resume that completes the flow answers with status, flow id and output")
    void completes() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-1");

        Fixture.Res res = http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}");

        assertThat(res.status()).isEqualTo(200);
        assertThat(res.header("Content-Type")).isEqualTo("application/json");
        JsonNode json = res.json();
        assertThat(json.get("status").asText()).isEqualTo("COMPLETED");
        assertThat(json.get("flowId").asText()).isEqualTo(s.flowId());
        assertThat(json.get("output")).isEqualTo(Fixture.JSON.createObjectNode()
                .put("orderId", "o-1").put("approvedBy", "ann").put("approved", true));
        assertThat(f.reserved).hasValue(1);
        assertThat(f.placed).hasValue(1);
    }

    @Test
    @DisplayName("200: a resume that reaches the next wait answers with the new wait and its key")
    void suspendsAgain() {
        Fixture.Http http = start();
        FlowResult.Suspended s = (FlowResult.Suspended) f.hub.start(f.chain, new Fixture.Note("in")).block();

        Fixture.Res first = http.postJson("/resume/" + s.key(), "{\"text\":\"d\"}");

        assertThat(first.status()).isEqualTo(200);
        JsonNode json = first.json();
        assertThat(json.get("status").asText()).isEqualTo("SUSPENDED");
        assertThat(json.get("flowId").asText()).isEqualTo(s.flowId());
        JsonNode wait = json.get("waits").get(0);
        assertThat(wait.get("awaitId").asText()).isEqualTo("final");
        assertThat(wait.get("name").asText()).isEqualTo("Final note");
        assertThat(wait.has("deadline")).isTrue();
        String next = wait.get("key").asText();
        assertThat(ResumeKeys.isWellFormed(next)).isTrue();

        Fixture.Res second = http.postJson("/resume/" + next, "{\"text\":\"f\"}");
        assertThat(second.json().get("status").asText()).isEqualTo("COMPLETED");
        assertThat(second.json().get("output").asText()).isEqualTo("in:d:f");
    }

    @Test
    @DisplayName("400: schema violations come back as RFC 9457 problem+json with JSON Pointers; the key keeps working")
    void invalidInput() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-2");

        Fixture.Res res = http.postJson("/resume/" + s.key(), "{\"approved\":\"yes\",\"approver\":\"ann\"}");

        assertThat(res.status()).isEqualTo(400);
        assertThat(res.header("Content-Type")).isEqualTo("application/problem+json");
        JsonNode json = res.json();
        assertThat(json.get("type").asText()).isEqualTo(Problems.INVALID_INPUT);
        assertThat(json.get("status").asInt()).isEqualTo(400);
        assertThat(json.get("awaitId").asText()).isEqualTo("manager-approval");
        assertThat(json.get("errors").findValuesAsText("pointer")).containsExactly("/approved");
        assertThat(json.get("errors").get(0).get("detail").asText()).isNotBlank();

        Fixture.Res malformed = http.postJson("/resume/" + s.key(), "{\"approved\": tru");
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.json().get("errors").get(0).get("pointer").asText()).isEmpty();

        Fixture.Res ok = http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}");
        assertThat(ok.status()).isEqualTo(200);
    }

    @Test
    @DisplayName("404: unknown, malformed and expired keys get the very same answer, after the same store lookup")
    void notFound() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-3");
        String body = "{\"approved\":true,\"approver\":\"ann\"}";

        int before = f.store.keyLookups.get();
        Fixture.Res unknown = http.postJson("/resume/" + ResumeKeys.generate(), body);
        int unknownLookups = f.store.keyLookups.get() - before;

        f.clock.advance(Duration.ofHours(5));
        before = f.store.keyLookups.get();
        Fixture.Res expired = http.postJson("/resume/" + s.key(), body);
        int expiredLookups = f.store.keyLookups.get() - before;

        Fixture.Res malformed = http.postJson("/resume/not-a-key", body);

        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.header("Content-Type")).isEqualTo("application/problem+json");
        assertThat(expired.status()).isEqualTo(404);
        assertThat(expired.body()).isEqualTo(unknown.body());
        assertThat(malformed.status()).isEqualTo(404);
        assertThat(malformed.body()).isEqualTo(unknown.body());
        assertThat(unknownLookups).isEqualTo(1);
        assertThat(expiredLookups).isEqualTo(1);
    }

    @Test
    @DisplayName("409: a second resume of a key without the winner's idempotency key")
    void alreadyResumed() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-4");
        String body = "{\"approved\":true,\"approver\":\"ann\"}";

        assertThat(http.postJson("/resume/" + s.key(), body).status()).isEqualTo(200);
        Fixture.Res again = http.postJson("/resume/" + s.key(), body);

        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().get("status").asInt()).isEqualTo(409);
        assertThat(f.placed).hasValue(1);
    }

    @Test
    @DisplayName("duplicate deliveries: the same webhook-id 20 times at once resumes once and answers 20 times alike")
    void duplicateDeliveries() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-5");
        Map<String, String> headers = Map.of("Content-Type", "application/json", "webhook-id", "msg_dup_1");
        String body = "{\"approved\":true,\"approver\":\"bob\"}";

        List<Fixture.Res> answers = Flux.range(0, 20)
                .flatMap(i -> http.exchangeAsync(HttpMethod.POST, "/resume/" + s.key(), headers,
                                Mono.fromSupplier(() -> Unpooled.copiedBuffer(body, StandardCharsets.UTF_8)))
                        .subscribeOn(Schedulers.boundedElastic()), 20)
                .collectList()
                .block(Duration.ofSeconds(60));

        assertThat(answers).hasSize(20);
        assertThat(answers).extracting(Fixture.Res::status).containsOnly(200);
        assertThat(answers).extracting(Fixture.Res::body).containsOnly(answers.get(0).body());
        assertThat(answers.get(0).json().get("status").asText()).isEqualTo("COMPLETED");
        assertThat(f.placed).hasValue(1);

        // a late redelivery gets the same answer too; another delivery id gets 409
        assertThat(http.post("/resume/" + s.key(), headers, body).body()).isEqualTo(answers.get(0).body());
        assertThat(http.post("/resume/" + s.key(),
                Map.of("Content-Type", "application/json", "webhook-id", "msg_other"), body).status()).isEqualTo(409);
    }

    @Test
    @DisplayName("Idempotency-Key: a retried request gets the first answer (including new keys)")
    void idempotencyKey() {
        Fixture.Http http = start();
        FlowResult.Suspended s = (FlowResult.Suspended) f.hub.start(f.chain, new Fixture.Note("in")).block();
        Map<String, String> headers = Map.of("Content-Type", "application/json", "Idempotency-Key", "req-42");

        Fixture.Res first = http.post("/resume/" + s.key(), headers, "{\"text\":\"d\"}");
        Fixture.Res retry = http.post("/resume/" + s.key(), headers, "{\"text\":\"d\"}");

        assertThat(first.status()).isEqualTo(200);
        assertThat(retry.status()).isEqualTo(200);
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(first.json().get("waits").get(0).has("key")).isTrue();
    }

    @Test
    @DisplayName("413: a chunked body is cut off as soon as it passes the limit; the key keeps working")
    void tooLargeChunked() {
        Fixture.Http http = start(f.routes().maxBodyBytes(1024).build());
        FlowResult.Suspended s = f.startPurchase("o-6");
        Flux<ByteBuf> chunks = Flux.range(0, 64).map(i -> Unpooled.copiedBuffer(" ".repeat(256), StandardCharsets.UTF_8));

        Fixture.Res res = http.exchange(HttpMethod.POST, "/resume/" + s.key(),
                Map.of("Content-Type", "application/json"), chunks);

        assertThat(res.status()).isEqualTo(413);
        assertThat(res.header("Content-Type")).isEqualTo("application/problem+json");
        assertThat(http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}").status())
                .isEqualTo(200);
    }

    @Test
    @DisplayName("413: a Content-Length over the limit is refused without reading the body")
    void tooLargeAnnounced() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-7");

        // announces 10 MiB but sends two bytes: only an answer that does not wait for the body can arrive
        Fixture.Res res = http.post("/resume/" + s.key(),
                Map.of("Content-Type", "application/json", "Content-Length", String.valueOf(10 * 1024 * 1024)), "{}");

        assertThat(res.status()).isEqualTo(413);
        assertThat(f.store.keyLookups).hasValue(0);
    }

    @Test
    @DisplayName("415: a body that is not JSON")
    void notJson() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-8");

        Fixture.Res text = http.post("/resume/" + s.key(), Map.of("Content-Type", "text/plain"), "approved");
        Fixture.Res none = http.post("/resume/" + s.key(), Map.of(), "{}");
        Fixture.Res vendorJson = http.post("/resume/" + s.key(),
                Map.of("Content-Type", "application/vnd.acme+json; charset=utf-8"),
                "{\"approved\":false,\"approver\":\"eve\"}");

        assertThat(text.status()).isEqualTo(415);
        assertThat(text.header("Content-Type")).isEqualTo("application/problem+json");
        assertThat(none.status()).isEqualTo(415);
        assertThat(vendorJson.status()).isEqualTo(200);
    }

    @Test
    @DisplayName("429: more resumes in flight than allowed are shed with Retry-After, without touching the store")
    void loadShedding() {
        StasisRoutes routes = f.routes().maxConcurrentResumes(1).retryAfter(Duration.ofSeconds(2)).build();
        Fixture.Http http = start(routes);
        FlowResult.Suspended slow = (FlowResult.Suspended) f.hub.start(f.slow, new Fixture.Note("x")).block();
        FlowResult.Suspended other = f.startPurchase("o-9");

        Mono<Fixture.Res> first = http.exchangeAsync(HttpMethod.POST, "/resume/" + slow.key(),
                Map.of("Content-Type", "application/json"),
                Mono.fromSupplier(() -> Unpooled.copiedBuffer("{\"text\":\"go\"}", StandardCharsets.UTF_8))).cache();
        first.subscribe();
        f.entered.asMono().block(Duration.ofSeconds(30));
        int lookups = f.store.keyLookups.get();

        Fixture.Res shed = http.postJson("/resume/" + other.key(), "{\"approved\":true,\"approver\":\"ann\"}");

        assertThat(shed.status()).isEqualTo(429);
        assertThat(shed.header("Retry-After")).isEqualTo("2");
        assertThat(f.store.keyLookups.get()).isEqualTo(lookups);
        assertThat(routes.metrics.shed()).isEqualTo(1);

        f.gate.tryEmitValue("opened");
        Fixture.Res done = first.block(Duration.ofSeconds(30));
        assertThat(done.status()).isEqualTo(200);
        assertThat(done.json().get("output").asText()).isEqualTo("opened");
        assertThat(http.postJson("/resume/" + other.key(), "{\"approved\":true,\"approver\":\"ann\"}").status())
                .isEqualTo(200);
    }

    @Test
    @DisplayName("503: an unavailable store answers with Retry-After; nothing is lost")
    void storeUnavailable() {
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-10");

        f.store.down.set(true);
        Fixture.Res res = http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}");
        f.store.down.set(false);

        assertThat(res.status()).isEqualTo(503);
        assertThat(res.header("Retry-After")).isEqualTo("5");
        assertThat(res.header("Content-Type")).isEqualTo("application/problem+json");
        assertThat(http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}").status())
                .isEqualTo(200);
        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.COMPLETED);
    }

    @Test
    @DisplayName("503 when this server does not run the flow's version; 500 when the stored state does not open")
    void serverSideErrors() {
        FlowResult.Suspended s = f.startPurchase("o-13");
        String body = "{\"approved\":true,\"approver\":\"ann\"}";

        PersistenceHub withoutFlow = PersistenceHub.builder(f.store, f.ring).clock(f.clock).build();
        server = f.serve(StasisRoutes.builder(withoutFlow).build());
        Fixture.Res notDeployed = new Fixture.Http(server).postJson("/resume/" + s.key(), body);
        server.disposeNow();

        PersistenceHub otherKeys = PersistenceHub.builder(f.store, KeyRing.builder().add("t9", KeyRing.generateKey())
                .build()).clock(f.clock).register(f.purchase).build();
        server = f.serve(StasisRoutes.builder(otherKeys).build());
        Fixture.Res unreadable = new Fixture.Http(server).postJson("/resume/" + s.key(), body);

        assertThat(notDeployed.status()).isEqualTo(503);
        assertThat(notDeployed.header("Retry-After")).isEqualTo("5");
        assertThat(unreadable.status()).isEqualTo(500);
        assertThat(unreadable.json().get("detail").asText()).isEqualTo("the stored state of this flow failed authentication");
        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.SUSPENDED);
    }

    @Test
    @DisplayName("mounted on an application's own HttpServer, under a base path, beside its own routes")
    void mounted() {
        StasisRoutes stasis = f.routes().basePath("/stasis").build();
        server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> {
                    stasis.accept(routes);
                    routes.get("/hello", (req, res) -> res.sendString(Mono.just("hi")));
                })
                .bindNow();
        Fixture.Http http = new Fixture.Http(server);
        FlowResult.Suspended s = f.startPurchase("o-11");

        assertThat(http.get("/hello", Map.of()).body()).isEqualTo("hi");
        assertThat(http.postJson("/resume/" + s.key(), "{}").status()).isEqualTo(404);
        assertThat(http.postJson("/stasis/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}").status())
                .isEqualTo(200);
    }

    @Test
    @DisplayName("the access log shows the redacted key, never the key")
    void accessLogRedactsKeys() throws Exception {
        Path log = Path.of(System.getProperty("org.slf4j.simpleLogger.logFile", "target/it-webhook.log"));
        Fixture.Http http = start();
        FlowResult.Suspended s = f.startPurchase("o-12");
        String redacted = ResumeKeys.redact(s.key());

        assertThat(http.postJson("/resume/" + s.key(), "{\"approved\":true,\"approver\":\"ann\"}").status())
                .isEqualTo(200);

        // the line is written after the response went out: poll the file (bounded), no sleeping thread
        String line = Mono.fromCallable(() -> Files.readAllLines(log).stream()
                        .filter(l -> l.contains(redacted)).findFirst().orElse(""))
                .filter(l -> !l.isEmpty())
                .repeatWhenEmpty(200, tick -> tick.delayElements(Duration.ofMillis(25)))
                .block(Duration.ofSeconds(30));
        assertThat(line).contains("\"POST /resume/" + redacted + " HTTP/1.1\" 200");
        assertThat(Files.readString(log)).doesNotContain(s.key());
    }
}
