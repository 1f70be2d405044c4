package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.FlowResult;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.netty.DisposableServer;

/** Standard Webhooks signatures on {@code POST /resume/{key}}, with signatures computed by the test itself. */
class SignatureIT {

    private static final String SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";

    private final Fixture f = new Fixture();
    private DisposableServer server;
    private Fixture.Http http;
    private FlowResult.Suspended s;
    private final String body = "{\"approved\":true,\"approver\":\"ann\"}";

    @BeforeEach
    void start() {
        server = f.serve(f.routes().webhookSecret(SECRET).build());
        http = new Fixture.Http(server);
        s = f.startPurchase("sig-1");
    }

    @AfterEach
    void stop() {
        server.disposeNow();
    }

    private Fixture.Res send(String id, long timestamp, String signature, String payload) {
        return http.post("/resume/" + s.key(), Map.of("Content-Type", "application/json", "webhook-id", id,
                "webhook-timestamp", String.valueOf(timestamp), "webhook-signature", signature), payload);
    }

    private long now() {
        return f.clock.instant().getEpochSecond();
    }

    @Test
    @DisplayName("a correctly signed delivery resumes the flow")
    void signed() {
        String sig = StandardWebhooksVectors.sign(SECRET, "msg_1", now(), body);

        Fixture.Res res = send("msg_1", now(), sig, body);

        assertThat(res.status()).isEqualTo(200);
        assertThat(res.json().get("status").asText()).isEqualTo("COMPLETED");
    }

    @Test
    @DisplayName("several signatures (key rotation): one valid one is enough")
    void rotated() {
        String valid = StandardWebhooksVectors.sign(SECRET, "msg_2", now(), body);
        String old = StandardWebhooksVectors.sign("whsec_b2xkLXNlY3JldC1rZXk=", "msg_2", now(), body);

        assertThat(send("msg_2", now(), old + " " + valid, body).status()).isEqualTo(200);
    }

    @Test
    @DisplayName("401: unsigned, stale, future, wrongly signed and tampered deliveries; the key keeps working")
    void refused() {
        Fixture.Res unsigned = http.postJson("/resume/" + s.key(), body);
        long stale = now() - Duration.ofMinutes(6).toSeconds();
        Fixture.Res old = send("msg_3", stale, StandardWebhooksVectors.sign(SECRET, "msg_3", stale, body), body);
        long future = now() + Duration.ofMinutes(6).toSeconds();
        Fixture.Res early = send("msg_3", future, StandardWebhooksVectors.sign(SECRET, "msg_3", future, body), body);
        Fixture.Res wrongKey = send("msg_3", now(),
                StandardWebhooksVectors.sign("whsec_b3RoZXIta2V5", "msg_3", now(), body), body);
        Fixture.Res tampered = send("msg_3", now(), StandardWebhooksVectors.sign(SECRET, "msg_3", now(), body),
                body.replace("ann", "eve"));
        Fixture.Res otherId = send("msg_4", now(), StandardWebhooksVectors.sign(SECRET, "msg_3", now(), body), body);

        for (Fixture.Res res : new Fixture.Res[] {unsigned, old, early, wrongKey, tampered, otherId}) {
            assertThat(res.status()).isEqualTo(401);
            assertThat(res.header("Content-Type")).isEqualTo("application/problem+json");
        }
        assertThat(old.json().get("detail").asText()).contains("tolerance");
        assertThat(f.placed).hasValue(0);
        assertThat(send("msg_5", now(), StandardWebhooksVectors.sign(SECRET, "msg_5", now(), body), body).status())
                .isEqualTo(200);
    }

    @Test
    @DisplayName("the signed webhook-id is the idempotency key: a redelivery gets the first answer")
    void redelivery() {
        String sig = StandardWebhooksVectors.sign(SECRET, "msg_6", now(), body);
        Fixture.Res first = send("msg_6", now(), sig, body);
        f.clock.advance(Duration.ofSeconds(30));
        long later = now();
        Fixture.Res again = send("msg_6", later, StandardWebhooksVectors.sign(SECRET, "msg_6", later, body), body);

        assertThat(first.status()).isEqualTo(200);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(f.placed).hasValue(1);
    }
}
