package dev.stasis.webhook;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Verifies Standard Webhooks symmetric signatures: {@code webhook-signature} holds one or more space-separated
 * {@code v1,<base64 HMAC-SHA256>} entries over {@code "<webhook-id>.<webhook-timestamp>.<raw body>"}, keyed with
 * the base64-decoded part of a {@code whsec_} secret; {@code webhook-timestamp} (unix seconds) must lie within the
 * tolerance of the clock. Signatures are compared as bytes with {@link MessageDigest#isEqual}.
 */
final class WebhookSignature {

    static final String SECRET_PREFIX = "whsec_";

    private final byte[] key;
    private final Duration tolerance;
    private final Clock clock;

    WebhookSignature(String secret, Duration tolerance, Clock clock) {
        String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
        try {
            this.key = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the webhook secret must be whsec_ followed by base64", e);
        }
        if (key.length == 0) {
            throw new IllegalArgumentException("the webhook secret is empty");
        }
        if (tolerance.isNegative()) {
            throw new IllegalArgumentException("the tolerance must not be negative");
        }
        this.tolerance = tolerance;
        this.clock = clock;
    }

    /** What is wrong with a request's signature headers, or {@code null} when they pass the checks before the body. */
    @Nullable String checkHeaders(@Nullable String id, @Nullable String timestamp, @Nullable String signature) {
        if (id == null || id.isEmpty() || timestamp == null || signature == null || signature.isBlank()) {
            return "missing webhook-id, webhook-timestamp or webhook-signature";
        }
        long seconds;
        try {
            seconds = Long.parseLong(timestamp.trim());
        } catch (NumberFormatException e) {
            return "malformed webhook-timestamp";
        }
        Instant sent = Instant.ofEpochSecond(seconds);
        Instant now = clock.instant();
        if (sent.isBefore(now.minus(tolerance)) || sent.isAfter(now.plus(tolerance))) {
            return "webhook-timestamp outside the tolerance window";
        }
        return null;
    }

    /** Whether one of the {@code v1} signatures in the header matches the body. */
    boolean matches(String id, String timestamp, String signatureHeader, byte[] body) {
        byte[] expected = sign(id, timestamp.trim(), body);
        boolean match = false;
        for (String entry : signatureHeader.trim().split(" +")) {
            int comma = entry.indexOf(',');
            if (comma < 0 || !entry.substring(0, comma).equals("v1")) {
                continue;
            }
            byte[] presented;
            try {
                presented = Base64.getDecoder().decode(entry.substring(comma + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            // no early exit: every presented signature is compared
            match |= MessageDigest.isEqual(expected, presented);
        }
        return match;
    }

    byte[] sign(String id, String timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
