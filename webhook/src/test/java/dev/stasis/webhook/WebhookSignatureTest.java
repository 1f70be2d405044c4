package dev.stasis.webhook;

import static dev.stasis.webhook.StandardWebhooksVectors.PUBLISHED_ID;
import static dev.stasis.webhook.StandardWebhooksVectors.PUBLISHED_PAYLOAD;
import static dev.stasis.webhook.StandardWebhooksVectors.PUBLISHED_SECRET;
import static dev.stasis.webhook.StandardWebhooksVectors.PUBLISHED_SIGNATURE;
import static dev.stasis.webhook.StandardWebhooksVectors.PUBLISHED_TIMESTAMP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {

    private final TestClock clock = new TestClock(Instant.ofEpochSecond(PUBLISHED_TIMESTAMP));
    private final WebhookSignature verifier = new WebhookSignature(PUBLISHED_SECRET, Duration.ofMinutes(5), clock);
    private final byte[] payload = PUBLISHED_PAYLOAD.getBytes(StandardCharsets.UTF_8);
    private final String ts = String.valueOf(PUBLISHED_TIMESTAMP);

    @Test
    @DisplayName("signs the Standard Webhooks published example to the published signature")
    void publishedExample() {
        String mine = "v1," + Base64.getEncoder().encodeToString(verifier.sign(PUBLISHED_ID, ts, payload));
        assertThat(mine).isEqualTo(PUBLISHED_SIGNATURE);
        assertThat(StandardWebhooksVectors.sign(PUBLISHED_SECRET, PUBLISHED_ID, PUBLISHED_TIMESTAMP, PUBLISHED_PAYLOAD))
                .isEqualTo(PUBLISHED_SIGNATURE);
        assertThat(verifier.checkHeaders(PUBLISHED_ID, ts, PUBLISHED_SIGNATURE)).isNull();
        assertThat(verifier.matches(PUBLISHED_ID, ts, PUBLISHED_SIGNATURE, payload)).isTrue();
    }

    @Test
    @DisplayName("accepts a header with several signatures when one of them matches")
    void severalSignatures() {
        String header = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
                + PUBLISHED_SIGNATURE + " v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw==";
        assertThat(verifier.matches(PUBLISHED_ID, ts, header, payload)).isTrue();
    }

    @Test
    @DisplayName("rejects a wrong signature, another version prefix, a changed id, timestamp or body")
    void rejectsTampering() {
        assertThat(verifier.matches(PUBLISHED_ID, ts, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", payload))
                .isFalse();
        assertThat(verifier.matches(PUBLISHED_ID, ts, PUBLISHED_SIGNATURE.replace("v1,", "v2,"), payload)).isFalse();
        assertThat(verifier.matches("msg_other", ts, PUBLISHED_SIGNATURE, payload)).isFalse();
        assertThat(verifier.matches(PUBLISHED_ID, String.valueOf(PUBLISHED_TIMESTAMP + 1), PUBLISHED_SIGNATURE,
                payload)).isFalse();
        assertThat(verifier.matches(PUBLISHED_ID, ts, PUBLISHED_SIGNATURE,
                "{\"test\": 2432232315}".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(verifier.matches(PUBLISHED_ID, ts, "v1,not-base64!!", payload)).isFalse();
    }

    @Test
    @DisplayName("the timestamp must lie within the tolerance, either way; missing headers are refused")
    void timestampWindow() {
        assertThat(verifier.checkHeaders(PUBLISHED_ID, String.valueOf(PUBLISHED_TIMESTAMP - 300), "v1,x")).isNull();
        assertThat(verifier.checkHeaders(PUBLISHED_ID, String.valueOf(PUBLISHED_TIMESTAMP - 301), "v1,x"))
                .contains("tolerance");
        assertThat(verifier.checkHeaders(PUBLISHED_ID, String.valueOf(PUBLISHED_TIMESTAMP + 301), "v1,x"))
                .contains("tolerance");
        assertThat(verifier.checkHeaders(PUBLISHED_ID, "yesterday", "v1,x")).contains("malformed");
        assertThat(verifier.checkHeaders(null, ts, "v1,x")).contains("missing");
        assertThat(verifier.checkHeaders(PUBLISHED_ID, null, "v1,x")).contains("missing");
        assertThat(verifier.checkHeaders(PUBLISHED_ID, ts, null)).contains("missing");
    }

    @Test
    @DisplayName("a secret that is not base64 is refused at build time")
    void badSecret() {
        assertThatThrownBy(() -> new WebhookSignature("whsec_***", Duration.ofMinutes(5), clock))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WebhookSignature("whsec_", Duration.ofMinutes(5), clock))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
