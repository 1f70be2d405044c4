package dev.stasis.webhook;

import dev.stasis.FlowResult;
import dev.stasis.ResumeOptions;
import dev.stasis.WaitHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * {@code POST /resume/{key}}. Order of checks: load shedding (429), announced size (413), media type (415),
 * signature headers (401), body read under the limit (413), signature over the body (401), then the hub: the key's
 * record is looked up by its hash whether or not the key exists, so unknown and known keys cost the same store call.
 */
final class ResumeRoute {

    private final StasisRoutes r;

    ResumeRoute(StasisRoutes routes) {
        this.r = routes;
    }

    Mono<Void> handle(HttpServerRequest request, HttpServerResponse response) {
        long start = System.nanoTime();
        Mono<Reply> reply;
        if (!r.metrics.tryAcquire(r.maxConcurrentResumes)) {
            reply = Mono.just(Problems.retry(
                    Problems.problem(r.mapper, 429, "too many resumes in flight; retry later"), r.retryAfter));
        } else {
            // the slot is freed as soon as the resume has its reply, before the reply is sent: a client that reads
            // /admin/metrics right after its answer must not see its own resume still in flight. doFinally covers
            // a cancelled request; the flag frees the slot exactly once.
            java.util.concurrent.atomic.AtomicBoolean held = new java.util.concurrent.atomic.AtomicBoolean(true);
            Runnable release = () -> {
                if (held.compareAndSet(true, false)) {
                    r.metrics.release();
                }
            };
            reply = Mono.defer(() -> resume(request))
                    .onErrorResume(e -> Mono.just(Problems.fromError(r.mapper, e, r.retryAfter)))
                    .doOnNext(rep -> release.run())
                    .doFinally(s -> release.run());
        }
        return reply.flatMap(rep -> {
            r.metrics.record(rep.status, System.nanoTime() - start);
            return rep.send(response);
        });
    }

    private Mono<Reply> resume(HttpServerRequest request) {
        String key = request.param("key");
        if (Bodies.announcedTooLarge(request, r.maxBodyBytes)) {
            return Mono.error(new Bodies.TooLargeException());
        }
        if (!Bodies.isJson(Bodies.mediaType(request))) {
            return Mono.just(Problems.problem(r.mapper, 415, "the body must be application/json"));
        }
        String id = request.requestHeaders().get("webhook-id");
        String timestamp = request.requestHeaders().get("webhook-timestamp");
        String signatureHeader = request.requestHeaders().get("webhook-signature");
        WebhookSignature signature = r.signature;
        if (signature != null) {
            String problem = signature.checkHeaders(id, timestamp, signatureHeader);
            if (problem != null) {
                return Mono.just(unauthorized(problem));
            }
        }
        return Bodies.read(request, r.maxBodyBytes).flatMap(body -> {
            if (signature != null && !signature.matches(id, timestamp, signatureHeader, body)) {
                return Mono.just(unauthorized("no webhook-signature matches"));
            }
            String idempotencyKey = request.requestHeaders().get("Idempotency-Key");
            if (idempotencyKey == null || idempotencyKey.isEmpty()) {
                idempotencyKey = id == null || id.isEmpty() ? null : id;
            }
            ResumeOptions options = new ResumeOptions(idempotencyKey);
            return r.hub.resumeJson(key == null ? "" : key, new String(body, StandardCharsets.UTF_8), options)
                    .map(result -> Reply.of(200, Reply.JSON, Problems.write(r.mapper, resultBody(result))));
        });
    }

    private Reply unauthorized(String detail) {
        return Problems.problem(r.mapper, 401, "webhook signature verification failed: " + detail);
    }

    /** The JSON of a flow result: status, flow id, and the output, the open waits or the error. */
    static Map<String, @Nullable Object> resultBody(FlowResult result) {
        Map<String, @Nullable Object> body = new LinkedHashMap<>();
        body.put("status", result.status().name());
        body.put("flowId", result.flowId());
        if (result instanceof FlowResult.Completed c) {
            body.put("output", c.output());
        } else if (result instanceof FlowResult.Suspended s) {
            body.put("expiresAt", s.expiresAt());
            List<Map<String, @Nullable Object>> waits = new ArrayList<>();
            for (WaitHandle w : s.waits()) {
                Map<String, @Nullable Object> wait = new LinkedHashMap<>();
                wait.put("awaitId", w.awaitId());
                wait.put("name", w.name());
                wait.put("description", w.description());
                wait.put("deadline", w.deadline());
                if (w.key() != null) {
                    wait.put("key", w.key());
                }
                wait.put("metadata", w.metadata());
                waits.add(wait);
            }
            body.put("waits", waits);
        } else if (result instanceof FlowResult.Failed f) {
            body.put("error", Map.of("type", f.errorType(), "message", f.message()));
        }
        return body;
    }
}
