package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.StartOptions;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.netty.ByteBufFlux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;

/** The admin API over real HTTP: bearer token, query with cursor, describe, cancel, cleanup, health, metrics. */
class AdminApiIT {

    private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN);
    private static final String APPROVE = "{\"approved\":true,\"approver\":\"ann\"}";

    private final Fixture f = new Fixture();
    private DisposableServer server;
    private Fixture.Http http;

    @BeforeEach
    void start() {
        server = f.serve(f.routes().adminToken(Fixture.ADMIN_TOKEN).build());
        http = new Fixture.Http(server);
    }

    @AfterEach
    void stop() {
        server.disposeNow();
    }

    private Fixture.Res get(String path) {
        return http.get(path, AUTH);
    }

    private Fixture.Res post(String path, String json) {
        return http.post(path, Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN,
                "Content-Type", "application/json"), json);
    }

    @Test
    @DisplayName("401 on every admin route without the token, with a wrong one, or with another scheme")
    void unauthorized() {
        List<String[]> routes = List.of(
                new String[] {"GET", "/admin/suspensions"}, new String[] {"GET", "/admin/flows/x"},
                new String[] {"POST", "/admin/flows/x/cancel"}, new String[] {"POST", "/admin/cleanup"},
                new String[] {"GET", "/admin/health"}, new String[] {"GET", "/admin/metrics"});
        List<Map<String, String>> wrong = List.of(Map.of(),
                Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN + "x"),
                Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN.substring(1)),
                Map.of("Authorization", "Basic " + Fixture.ADMIN_TOKEN));
        for (String[] route : routes) {
            for (Map<String, String> headers : wrong) {
                Fixture.Res res = http.exchange(HttpMethod.valueOf(route[0]), route[1], headers,
                        route[0].equals("POST") ? ByteBufFlux.fromString(Mono.just("")) : null);
                assertThat(res.status()).as(route[0] + " " + route[1] + " " + headers).isEqualTo(401);
                assertThat(res.header("WWW-Authenticate")).startsWith("Bearer");
            }
        }
        assertThat(get("/admin/health").status()).isEqualTo(200);
    }

    @Test
    @DisplayName("GET /admin/suspensions filters in the store and pages with a cursor")
    void suspensions() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(f.startPurchase("q-" + i, StartOptions.correlationId("order-" + i).withMetadata("region",
                    i == 0 ? "eu" : "us")).flowId());
        }
        f.hub.start(f.chain, new Fixture.Note("n")).block();
        FlowResult.Suspended done = f.startPurchase("q-done");
        f.hub.resume(done.key(), Map.of("approved", true, "approver", "ann")).block();

        // ids are ordered by creation time, then at random within one millisecond (the test clock stands still)
        List<String> sorted = ids.stream().sorted().toList();
        JsonNode page1 = get("/admin/suspensions?flowName=purchase&status=SUSPENDED&limit=2").json();
        assertThat(page1.get("items").findValuesAsText("flowId")).containsExactly(sorted.get(0), sorted.get(1));
        assertThat(page1.get("next").asText()).isEqualTo(sorted.get(1));
        JsonNode page2 = get("/admin/suspensions?flowName=purchase&status=suspended&limit=2&after="
                + page1.get("next").asText()).json();
        assertThat(page2.get("items").findValuesAsText("flowId")).containsExactly(sorted.get(2));
        assertThat(page2.get("next").isNull()).isTrue();

        JsonNode item = page2.get("items").get(0);
        assertThat(item.get("flowName").asText()).isEqualTo("purchase");
        assertThat(item.get("status").asText()).isEqualTo("SUSPENDED");
        assertThat(item.get("correlationId").asText()).isEqualTo("order-" + ids.indexOf(sorted.get(2)));
        assertThat(item.get("waits").get(0).get("awaitId").asText()).isEqualTo("manager-approval");
        assertThat(item.toString()).doesNotContain("sk1_");

        assertThat(get("/admin/suspensions?correlationId=order-1").json().get("items").findValuesAsText("flowId"))
                .containsExactly(ids.get(1));
        assertThat(get("/admin/suspensions?meta.region=eu").json().get("items").findValuesAsText("flowId"))
                .containsExactly(ids.get(0));
        assertThat(get("/admin/suspensions?awaitId=draft").json().get("items").findValuesAsText("flowName"))
                .containsExactly("chain");
        assertThat(get("/admin/suspensions?status=COMPLETED,CANCELLED").json().get("items")
                .findValuesAsText("flowId")).containsExactly(done.flowId());
        assertThat(get("/admin/suspensions?createdBefore=2020-01-01T00:00:00Z").json().get("items")).isEmpty();

        for (String bad : List.of("status=SLEEPING", "limit=0", "limit=many", "colour=red", "createdAfter=yesterday")) {
            Fixture.Res res = get("/admin/suspensions?" + bad);
            assertThat(res.status()).as(bad).isEqualTo(400);
            assertThat(res.header("Content-Type")).isEqualTo("application/problem+json");
        }
    }

    @Test
    @DisplayName("GET /admin/flows/{id} describes a flow and its waits; 404 for an unknown id")
    void describe() {
        FlowResult.Suspended s = f.startPurchase("d-1");

        Fixture.Res res = get("/admin/flows/" + s.flowId());

        assertThat(res.status()).isEqualTo(200);
        JsonNode json = res.json();
        assertThat(json.get("info").get("flowId").asText()).isEqualTo(s.flowId());
        JsonNode wait = json.get("waits").get(0);
        assertThat(wait.get("name").asText()).isEqualTo("Manager approval");
        assertThat(wait.get("description").asText()).isEqualTo("A manager approves purchases over 1000 EUR");
        assertThat(wait.get("metadata").get("department").asText()).isEqualTo("finance");
        assertThat(wait.get("status").asText()).isEqualTo("PENDING");
        assertThat(wait.get("schema").get("properties").has("approved")).isTrue();
        assertThat(wait.get("deadline").asText()).isEqualTo("2026-03-02T13:00:00Z");
        assertThat(get("/admin/flows/0000000000000000000000000000dead").status()).isEqualTo(404);
    }

    @Test
    @DisplayName("POST /admin/flows/{id}/cancel ends a suspended flow (its key stops working); 409 and 404 otherwise")
    void cancel() {
        FlowResult.Suspended s = f.startPurchase("c-1");

        Fixture.Res res = post("/admin/flows/" + s.flowId() + "/cancel", "{\"reason\":\"duplicate order\"}");

        assertThat(res.status()).isEqualTo(200);
        assertThat(res.json().get("status").asText()).isEqualTo("CANCELLED");
        assertThat(f.hub.describe(s.flowId()).block().info().status()).isEqualTo(FlowStatus.CANCELLED);
        assertThat(http.postJson("/resume/" + s.key(), APPROVE).status()).isEqualTo(404);
        assertThat(post("/admin/flows/" + s.flowId() + "/cancel", "").status()).isEqualTo(409);
        assertThat(post("/admin/flows/0000000000000000000000000000dead/cancel", "").status()).isEqualTo(404);

        FlowResult.Suspended other = f.startPurchase("c-2");
        Fixture.Res text = http.post("/admin/flows/" + other.flowId() + "/cancel",
                Map.of("Authorization", "Bearer " + Fixture.ADMIN_TOKEN, "Content-Type", "text/plain"), "because");
        assertThat(text.status()).isEqualTo(415);
        assertThat(post("/admin/flows/" + other.flowId() + "/cancel", "[1]").status()).isEqualTo(400);
        assertThat(f.hub.describe(other.flowId()).block().info().status()).isEqualTo(FlowStatus.SUSPENDED);
    }

    @Test
    @DisplayName("POST /admin/cleanup removes finished flows whose retention ended (by default) or by criteria")
    void cleanup() {
        FlowResult.Suspended a = f.startPurchase("x-1");
        FlowResult.Suspended b = f.startPurchase("x-2");
        FlowResult.Suspended open = f.startPurchase("x-3");
        f.hub.resume(a.key(), Map.of("approved", true, "approver", "ann")).block();
        f.hub.cancel(b.flowId(), "test").block();

        assertThat(post("/admin/cleanup", "").json().get("deleted").asLong()).isZero();
        assertThat(post("/admin/cleanup", "{\"olderThan\":\"PT0S\",\"statuses\":[\"CANCELLED\"]}").json()
                .get("deleted").asLong()).isZero();
        f.clock.advance(Duration.ofSeconds(1));
        Fixture.Res cancelled = post("/admin/cleanup", "{\"olderThan\":\"PT0S\",\"statuses\":[\"CANCELLED\"]}");
        assertThat(cancelled.status()).isEqualTo(200);
        assertThat(cancelled.json().get("deleted").asLong()).isEqualTo(1);
        assertThat(f.hub.describe(b.flowId()).blockOptional()).isEmpty();

        f.clock.advance(Duration.ofDays(8));
        Fixture.Res expired = post("/admin/cleanup", "");
        assertThat(expired.json().get("deleted").asLong()).isEqualTo(1);
        assertThat(expired.json().get("errors")).isEmpty();
        assertThat(f.hub.describe(a.flowId()).blockOptional()).isEmpty();
        assertThat(f.hub.describe(open.flowId()).blockOptional()).isPresent();

        assertThat(post("/admin/cleanup", "{\"olderThan\":\"a week\"}").status()).isEqualTo(400);
    }

    @Test
    @DisplayName("GET /admin/health: 200 when the store answers and is provisioned, 503 when it does not")
    void health() {
        Fixture.Res up = get("/admin/health");
        assertThat(up.status()).isEqualTo(200);
        assertThat(up.json().get("store").asText()).isEqualTo("in-memory");
        assertThat(up.json().get("up").asBoolean()).isTrue();
        assertThat(up.json().get("provisioned").asBoolean()).isTrue();

        f.store.down.set(true);
        Fixture.Res down = get("/admin/health");
        f.store.down.set(false);
        assertThat(down.status()).isEqualTo(503);
        assertThat(down.json().get("up").asBoolean()).isFalse();
    }

    @Test
    @DisplayName("GET /admin/metrics: flows by status, resumes by HTTP status, latency percentiles")
    void metrics() {
        FlowResult.Suspended a = f.startPurchase("m-1");
        f.startPurchase("m-2");
        assertThat(http.postJson("/resume/" + a.key(), APPROVE).status()).isEqualTo(200);
        assertThat(http.postJson("/resume/" + a.key(), APPROVE).status()).isEqualTo(409);
        assertThat(http.postJson("/resume/sk1_unknown", APPROVE).status()).isEqualTo(404);

        JsonNode m = get("/admin/metrics").json();

        assertThat(m.get("flows").get("SUSPENDED").asLong()).isEqualTo(1);
        assertThat(m.get("flows").get("COMPLETED").asLong()).isEqualTo(1);
        assertThat(m.get("flows").get("FAILED").asLong()).isZero();
        assertThat(m.get("flowsCountCapped")).isEmpty();
        assertThat(m.get("resumes").get("total").asLong()).isEqualTo(3);
        assertThat(m.get("resumes").get("byStatus").get("200").asLong()).isEqualTo(1);
        assertThat(m.get("resumes").get("byStatus").get("409").asLong()).isEqualTo(1);
        assertThat(m.get("resumes").get("byStatus").get("404").asLong()).isEqualTo(1);
        assertThat(m.get("resumes").get("inFlight").asInt()).isZero();
        JsonNode latency = m.get("resumeLatencyMs");
        assertThat(latency.get("samples").asInt()).isEqualTo(3);
        assertThat(latency.get("p50").asDouble()).isPositive();
        assertThat(latency.get("p99").asDouble()).isGreaterThanOrEqualTo(latency.get("p95").asDouble());
        assertThat(latency.get("max").asDouble()).isGreaterThanOrEqualTo(latency.get("p99").asDouble());
    }
}
