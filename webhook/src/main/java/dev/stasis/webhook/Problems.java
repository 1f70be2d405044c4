package dev.stasis.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.AlreadyResumedException;
import dev.stasis.FlowDefinitionNotFoundException;
import dev.stasis.FlowRunningException;
import dev.stasis.InputValidationException;
import dev.stasis.StasisException;
import dev.stasis.StateIntegrityException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.SuspensionKeyNotFoundException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RFC 9457 problem details, and the one place where the hub's errors become HTTP statuses.
 *
 * <p>The 404 answer is the same for an unknown, malformed, cancelled or expired key: the client learns nothing
 * about which keys exist. Server-side errors are logged here, with the exception's message (which by the engine's
 * contract never holds a key or plaintext state) but without request details.
 */
final class Problems {

    private static final Logger log = LoggerFactory.getLogger(Problems.class);

    /** The problem type of input that fails the wait's schema (the others use {@code about:blank}). */
    static final String INVALID_INPUT = "urn:stasis:problem:invalid-input";

    static final String NOT_FOUND_DETAIL = "no suspension answers to this key";

    private Problems() {}

    static Reply problem(ObjectMapper mapper, int status, String detail) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", HttpResponseStatus.valueOf(status).reasonPhrase());
        body.put("status", status);
        body.put("detail", detail);
        return Reply.of(status, Reply.PROBLEM, write(mapper, body));
    }

    static Reply validation(ObjectMapper mapper, InputValidationException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", INVALID_INPUT);
        body.put("title", "Invalid input");
        body.put("status", 400);
        body.put("detail", "the input does not satisfy the wait's schema");
        if (!"(unknown)".equals(e.awaitId())) {
            body.put("awaitId", e.awaitId());
        }
        List<Map<String, String>> errors = new ArrayList<>();
        for (InputValidationException.Violation v : e.violations()) {
            errors.add(Map.of("pointer", v.path(), "detail", v.message()));
        }
        body.put("errors", errors);
        return Reply.of(400, Reply.PROBLEM, write(mapper, body));
    }

    /**
     * What an error means for HTTP.
     *
     * @param status the status code
     * @param detail the problem detail (safe to show: no key, no state)
     * @param retry whether to send {@code Retry-After}
     * @param close whether to close the connection (the body was not read)
     */
    record Classified(int status, String detail, boolean retry, boolean close) {}

    /** The one mapping from errors (the hub's and the routes' own) to statuses; logs server-side errors. */
    static Classified classify(Throwable e) {
        if (e instanceof Bodies.TooLargeException) {
            return new Classified(413, "the request body is larger than the limit", false, true);
        }
        if (e instanceof HttpError he) {
            return new Classified(he.status, String.valueOf(he.getMessage()), false, false);
        }
        if (e instanceof InputValidationException) {
            return new Classified(400, "the input does not satisfy the wait's schema", false, false);
        }
        if (e instanceof SuspensionKeyNotFoundException) {
            // also SuspensionExpiredException: unknown and expired keys get the very same answer
            return new Classified(404, NOT_FOUND_DETAIL, false, false);
        }
        if (e instanceof AlreadyResumedException) {
            return new Classified(409, "this wait was already resumed", false, false);
        }
        if (e instanceof FlowRunningException) {
            return new Classified(503, "the winning resume of this delivery is still running; retry", true, false);
        }
        if (e instanceof StorageUnavailableException) {
            log.warn("store unavailable: {}", e.getMessage());
            return new Classified(503, "the store is unavailable; retry later", true, false);
        }
        if (e instanceof FlowDefinitionNotFoundException) {
            log.error("{}", e.getMessage());
            return new Classified(503, "this flow's version is not deployed here; retry later", true, false);
        }
        if (e instanceof StateIntegrityException) {
            log.error("stored state failed authentication: {}", e.getMessage());
            return new Classified(500, "the stored state of this flow failed authentication", false, false);
        }
        if (e instanceof StasisException) {
            log.error("hub error: {}: {}", e.getClass().getSimpleName(), e.getMessage());
            return new Classified(500, "internal error", false, false);
        }
        log.error("unexpected error", e);
        return new Classified(500, "internal error", false, false);
    }

    /** The problem+json answer for an error of a resume (or of any hub call). */
    static Reply fromError(ObjectMapper mapper, Throwable e, Duration retryAfter) {
        if (e instanceof InputValidationException ive) {
            return validation(mapper, ive);
        }
        Classified c = classify(e);
        Reply reply = problem(mapper, c.status(), c.detail());
        if (c.retry()) {
            retry(reply, retryAfter);
        }
        return c.close() ? reply.close() : reply;
    }

    static Reply retry(Reply reply, Duration retryAfter) {
        return reply.header("Retry-After", String.valueOf(Math.max(1, retryAfter.toSeconds())));
    }

    static byte[] write(ObjectMapper mapper, Object body) {
        try {
            return mapper.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }
}
