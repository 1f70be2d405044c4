package dev.stasis.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.CleanupCriteria;
import dev.stasis.FlowStatus;
import dev.stasis.QueryCriteria;
import dev.stasis.SuspensionInfo;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/** The admin API: every route checks the bearer token first (401 without it), then calls the hub. */
final class AdminRoutes {

    /** Flows counted per status by {@code /admin/metrics} before it stops counting and says so. */
    static final long COUNT_CAP = 100_000;

    private static final int COUNT_PAGE = QueryCriteria.MAX_LIMIT;

    private final StasisRoutes r;
    private final AdminAuth auth;

    AdminRoutes(StasisRoutes routes, AdminAuth auth) {
        this.r = routes;
        this.auth = auth;
    }

    private Mono<Void> guarded(HttpServerRequest request, HttpServerResponse response,
            Function<HttpServerRequest, Mono<Reply>> handler) {
        Mono<Reply> reply;
        if (!auth.isBearer(request.requestHeaders().get("Authorization"))) {
            reply = Mono.just(Problems.problem(r.mapper, 401, "a valid admin bearer token is required")
                    .header("WWW-Authenticate", "Bearer realm=\"stasis-admin\""));
        } else {
            reply = Mono.defer(() -> handler.apply(request))
                    .onErrorResume(e -> Mono.just(Problems.fromError(r.mapper, e, r.retryAfter)));
        }
        return reply.flatMap(rep -> rep.send(response));
    }

    Mono<Void> suspensions(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> {
            QueryCriteria criteria = criteria(new QueryStringDecoder(req.uri()).parameters());
            return r.hub.query(criteria).collectList().map(items -> {
                Map<String, @Nullable Object> body = new LinkedHashMap<>();
                body.put("items", items);
                body.put("next", items.size() == criteria.limit() ? items.get(items.size() - 1).flowId() : null);
                return json(200, body);
            });
        });
    }

    Mono<Void> flow(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> {
            String id = Paths.param(req, "id");
            return r.hub.describe(id)
                    .map(details -> json(200, details))
                    .defaultIfEmpty(Problems.problem(r.mapper, 404, "no such flow"));
        });
    }

    Mono<Void> cancel(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> {
            String id = Paths.param(req, "id");
            return optionalJson(req).flatMap(body -> {
                String reason = body.path("reason").asText("");
                String why = reason.isBlank() ? "cancelled by an administrator" : reason;
                return r.hub.cancel(id, why).flatMap(cancelled -> cancelled
                        ? Mono.just(json(200, Map.of("flowId", id, "status", FlowStatus.CANCELLED.name())))
                        : r.hub.describe(id)
                                .map(d -> Problems.problem(r.mapper, 409,
                                        "the flow is " + d.info().status() + ", not SUSPENDED"))
                                .defaultIfEmpty(Problems.problem(r.mapper, 404, "no such flow")));
            });
        });
    }

    Mono<Void> cleanup(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> optionalJson(req).flatMap(body -> {
            CleanupCriteria criteria = cleanupCriteria(body);
            return r.hub.cleanup(criteria).map(report -> json(200, report));
        }));
    }

    Mono<Void> health(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> r.hub.health()
                .map(h -> json(h.up() && h.provisioned() ? 200 : 503, h))
                .onErrorResume(e -> {
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("up", false);
                    body.put("provisioned", false);
                    body.put("error", e.getClass().getSimpleName());
                    return Mono.just(json(503, body));
                }));
    }

    Mono<Void> metrics(HttpServerRequest request, HttpServerResponse response) {
        return guarded(request, response, req -> Flux.fromArray(FlowStatus.values())
                .concatMap(status -> count(status, null, 0).map(n -> Map.entry(status.name(), n)))
                .collectList()
                .map(counts -> {
                    Map<String, Long> flows = new LinkedHashMap<>();
                    List<String> capped = new ArrayList<>();
                    for (Map.Entry<String, Long> e : counts) {
                        flows.put(e.getKey(), e.getValue());
                        if (e.getValue() >= COUNT_CAP) {
                            capped.add(e.getKey());
                        }
                    }
                    Map<String, Object> resumes = new LinkedHashMap<>();
                    resumes.put("total", r.metrics.total());
                    resumes.put("inFlight", r.metrics.inFlight());
                    resumes.put("shed", r.metrics.shed());
                    resumes.put("byStatus", r.metrics.byStatus());
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put("flows", flows);
                    body.put("flowsCountCapped", capped);
                    body.put("resumes", resumes);
                    body.put("resumeLatencyMs", r.metrics.latency());
                    return json(200, body);
                }));
    }

    /** Counts the flows in a status by paging through the store's index, up to {@link #COUNT_CAP}. */
    private Mono<Long> count(FlowStatus status, @Nullable String after, long counted) {
        QueryCriteria.Builder b = QueryCriteria.builder().status(status).limit(COUNT_PAGE);
        if (after != null) {
            b.afterFlowId(after);
        }
        return r.hub.query(b.build()).map(SuspensionInfo::flowId).collectList().flatMap(ids -> {
            long total = counted + ids.size();
            if (ids.size() < COUNT_PAGE || total >= COUNT_CAP) {
                return Mono.just(Math.min(total, COUNT_CAP));
            }
            return count(status, ids.get(ids.size() - 1), total);
        });
    }

    static QueryCriteria criteria(Map<String, List<String>> params) {
        QueryCriteria.Builder b = QueryCriteria.builder();
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            String name = e.getKey();
            String value = e.getValue().isEmpty() ? "" : e.getValue().get(0);
            if (value.isEmpty() && !name.equals("status")) {
                continue;
            }
            switch (name) {
                case "flowName" -> b.flowName(value);
                case "awaitId" -> b.awaitId(value);
                case "correlationId" -> b.correlationId(value);
                case "after" -> b.afterFlowId(value);
                case "status" -> b.status(statuses(e.getValue()).toArray(new FlowStatus[0]));
                case "limit" -> {
                    int limit;
                    try {
                        limit = Integer.parseInt(value);
                    } catch (NumberFormatException ex) {
                        throw new HttpError(400, "limit must be a number");
                    }
                    if (limit < 1 || limit > QueryCriteria.MAX_LIMIT) {
                        throw new HttpError(400, "limit must be between 1 and " + QueryCriteria.MAX_LIMIT);
                    }
                    b.limit(limit);
                }
                case "createdAfter" -> b.createdAfter(instant(name, value));
                case "createdBefore" -> b.createdBefore(instant(name, value));
                case "deadlineBefore" -> b.deadlineBefore(instant(name, value));
                case "deadlineAfter" -> b.deadlineAfter(instant(name, value));
                default -> {
                    if (name.startsWith("meta.") && name.length() > 5) {
                        b.metadata(name.substring(5), value);
                    } else {
                        throw new HttpError(400, "unknown parameter '" + name + "'");
                    }
                }
            }
        }
        return b.build();
    }

    private static Set<FlowStatus> statuses(List<String> values) {
        Set<FlowStatus> out = EnumSet.noneOf(FlowStatus.class);
        for (String value : values) {
            for (String part : value.split(",")) {
                if (part.isBlank()) {
                    continue;
                }
                try {
                    out.add(FlowStatus.valueOf(part.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new HttpError(400, "unknown status '" + part.trim() + "'");
                }
            }
        }
        return out;
    }

    private static Instant instant(String name, String value) {
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException e) {
            throw new HttpError(400, name + " must be an ISO-8601 instant such as 2026-01-31T12:00:00Z");
        }
    }

    static CleanupCriteria cleanupCriteria(JsonNode body) {
        CleanupCriteria c = CleanupCriteria.expired();
        if (body.hasNonNull("olderThan")) {
            try {
                c = CleanupCriteria.olderThan(Duration.parse(body.get("olderThan").asText()));
            } catch (DateTimeParseException e) {
                throw new HttpError(400, "olderThan must be an ISO-8601 duration such as P7D or PT12H");
            }
        }
        if (body.path("statuses").isArray() && !body.get("statuses").isEmpty()) {
            List<String> names = new ArrayList<>();
            body.get("statuses").forEach(s -> names.add(s.asText()));
            c = c.withStatuses(statuses(names).toArray(new FlowStatus[0]));
        }
        if (body.hasNonNull("flowName")) {
            c = c.withFlowName(body.get("flowName").asText());
        }
        return c;
    }

    /** A JSON object body, or an empty object when there is none; 415 for a body that is not JSON. */
    private Mono<JsonNode> optionalJson(HttpServerRequest request) {
        return Bodies.read(request, r.maxBodyBytes).flatMap(bytes -> {
            if (bytes.length == 0) {
                return Mono.just(r.mapper.createObjectNode());
            }
            if (!Bodies.isJson(Bodies.mediaType(request))) {
                return Mono.error(new HttpError(415, "the body must be application/json"));
            }
            try {
                JsonNode node = r.mapper.readTree(new String(bytes, StandardCharsets.UTF_8));
                if (node == null || !node.isObject()) {
                    return Mono.error(new HttpError(400, "the body must be a JSON object"));
                }
                return Mono.just(node);
            } catch (IOException e) {
                return Mono.error(new HttpError(400, "the body is not valid JSON"));
            }
        });
    }

    private Reply json(int status, Object body) {
        return Reply.of(status, Reply.JSON, Problems.write(r.mapper, body));
    }
}
