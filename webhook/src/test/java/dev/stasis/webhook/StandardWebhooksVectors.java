package dev.stasis.webhook;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks signatures computed straight from the specification with {@code javax.crypto}, independently of
 * the code under test, plus the example the Standard Webhooks reference libraries publish.
 */
final class StandardWebhooksVectors {

    /**
     * The published example (standard-webhooks/standard-webhooks, libraries/go/webhook_test.go, TestWebhookSign): this
     * secret, id, timestamp and payload sign to {@link #PUBLISHED_SIGNATURE}.
     */
    static final String PUBLISHED_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    static final String PUBLISHED_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    static final long PUBLISHED_TIMESTAMP = 1614265330L;
    static final String PUBLISHED_PAYLOAD = "{\"test\": 2432232314}";
    static final String PUBLISHED_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private StandardWebhooksVectors() {}

    /** {@code v1,} + base64(HMAC-SHA256(base64decode(secret without whsec_), id + "." + ts + "." + body)). */
    static String sign(String secret, String id, long timestamp, String body) {
        try {
            byte[] key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] digest = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(digest);
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }
}
