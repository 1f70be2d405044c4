package dev.stasis.webhook;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.DrbgParameters;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The admin token and everything derived from it.
 *
 * <ul>
 *   <li>Bearer check: SHA-256 of the presented and the configured token compared with
 *       {@link MessageDigest#isEqual} (constant time, and no length leak).</li>
 *   <li>Inbox sessions: a stateless cookie value {@code base64url(expiry || nonce) "." base64url(HMAC)} under a
 *       session key derived from the admin token (HMAC-SHA256 of a fixed label), never the token itself. Changing the
 *       admin token ends every session.</li>
 *   <li>CSRF tokens: HMAC of the session's payload under the same key, one per session.</li>
 * </ul>
 */
final class AdminAuth {

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final int NONCE_BYTES = 16;

    private final byte[] tokenHash;
    private final byte[] sessionKey;
    private final Duration sessionTtl;
    private final Clock clock;
    private final SecureRandom random;

    AdminAuth(String adminToken, Duration sessionTtl, Clock clock) {
        if (adminToken.length() < 16) {
            throw new IllegalArgumentException("the admin token must have at least 16 characters");
        }
        byte[] token = adminToken.getBytes(StandardCharsets.UTF_8);
        this.tokenHash = sha256(token);
        this.sessionKey = hmac(token, "stasis inbox session v1".getBytes(StandardCharsets.US_ASCII));
        this.sessionTtl = sessionTtl;
        this.clock = clock;
        this.random = drbg();
    }

    /** Whether {@code presented} is the admin token (constant time). */
    boolean isAdminToken(@Nullable String presented) {
        if (presented == null) {
            return false;
        }
        return MessageDigest.isEqual(tokenHash, sha256(presented.getBytes(StandardCharsets.UTF_8)));
    }

    /** Whether an {@code Authorization} header carries the admin token as a bearer token. */
    boolean isBearer(@Nullable String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return isAdminToken(authorization.substring(7).trim());
    }

    /** A fresh session cookie value, valid for the session lifetime. */
    String newSession() {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        long expires = clock.instant().plus(sessionTtl).getEpochSecond();
        byte[] payload = ByteBuffer.allocate(8 + NONCE_BYTES).putLong(expires).put(nonce).array();
        return B64.encodeToString(payload) + "." + B64.encodeToString(hmac(sessionKey, payload));
    }

    Duration sessionTtl() {
        return sessionTtl;
    }

    /** Whether a cookie value is an unexpired session issued under the current admin token. */
    boolean isSession(@Nullable String value) {
        byte[] payload = payload(value);
        if (payload == null) {
            return false;
        }
        long expires = ByteBuffer.wrap(payload).getLong();
        return clock.instant().getEpochSecond() < expires;
    }

    /** The CSRF token that forms of this session must carry. */
    String csrfToken(String session) {
        byte[] payload = payload(session);
        if (payload == null) {
            throw new IllegalArgumentException("not a session");
        }
        byte[] label = "csrf.".getBytes(StandardCharsets.US_ASCII);
        byte[] input = ByteBuffer.allocate(label.length + payload.length).put(label).put(payload).array();
        return B64.encodeToString(hmac(sessionKey, input));
    }

    /** Whether a submitted CSRF token belongs to the session (constant time). */
    boolean isCsrfToken(String session, @Nullable String presented) {
        if (presented == null || !isSession(session)) {
            return false;
        }
        return MessageDigest.isEqual(csrfToken(session).getBytes(StandardCharsets.US_ASCII),
                presented.getBytes(StandardCharsets.US_ASCII));
    }

    /** A random id for one rendered form (its idempotency key). */
    String newFormId() {
        byte[] id = new byte[NONCE_BYTES];
        random.nextBytes(id);
        return B64.encodeToString(id);
    }

    private byte @Nullable [] payload(@Nullable String value) {
        if (value == null) {
            return null;
        }
        int dot = value.indexOf('.');
        if (dot < 0) {
            return null;
        }
        byte[] payload;
        byte[] mac;
        try {
            payload = B64D.decode(value.substring(0, dot));
            mac = B64D.decode(value.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (payload.length != 8 + NONCE_BYTES || !MessageDigest.isEqual(hmac(sessionKey, payload), mac)) {
            return null;
        }
        return payload;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * A DRBG seeded once, here (at build time, off the event loops), so that later draws do not read the operating
     * system's entropy source on a request thread.
     */
    private static SecureRandom drbg() {
        SecureRandom r;
        try {
            r = SecureRandom.getInstance("DRBG", DrbgParameters.instantiation(256,
                    DrbgParameters.Capability.RESEED_ONLY, "stasis-webhook".getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            r = new SecureRandom();
        }
        r.nextBytes(new byte[1]);
        return r;
    }
}
