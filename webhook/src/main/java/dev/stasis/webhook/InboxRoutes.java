package dev.stasis.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.stasis.AlreadyResumedException;
import dev.stasis.FlowDetails;
import dev.stasis.FlowResult;
import dev.stasis.FlowStatus;
import dev.stasis.InputValidationException;
import dev.stasis.QueryCriteria;
import dev.stasis.ResumeOptions;
import dev.stasis.SuspensionInfo;
import dev.stasis.SuspensionKeyNotFoundException;
import dev.stasis.WaitHandle;
import dev.stasis.spi.WaitRecord;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * The approval inbox: server-rendered pages for people, reached through a login form with the admin token.
 *
 * <p>Security: the login sets an {@code HttpOnly; SameSite=Strict} cookie holding a session token derived from (but
 * not revealing) the admin token; pages without a valid session redirect to the login. Every form carries the
 * session's CSRF token, checked in constant time. Pages are sent with a Content-Security-Policy that allows only this
 * server's own script and stylesheet, {@code X-Frame-Options: DENY} and {@code Referrer-Policy: no-referrer}, and
 * every value that comes from a flow is HTML-escaped.
 *
 * <p>The inbox resumes by flow id and await id ({@link dev.stasis.PersistenceHub#resumeWait}); it never shows keys.
 * Each rendered form carries a random submission id, used as the idempotency key (a concurrent double submit gets
 * the winner's result from the hub) and as the key of a small in-process cache of recent outcome pages (a resubmit
 * after the flow moved on shows the same outcome again instead of "already answered": the hub's
 * {@code resumeWait} cannot find a wait that has left the open group).
 */
final class InboxRoutes {

    static final String COOKIE = "stasis_session";
    private static final String FORM = "application/x-www-form-urlencoded";
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private final StasisRoutes r;
    private final AdminAuth auth;
    private final String base;
    private final Map<String, Reply> assets;
    private final RecentOutcomes outcomes = new RecentOutcomes(1024);

    InboxRoutes(StasisRoutes routes, AdminAuth auth) {
        this.r = routes;
        this.auth = auth;
        this.base = routes.basePath;
        this.assets = Map.of(
                "inbox.css", Reply.of(200, "text/css; charset=utf-8", resource("inbox.css")),
                "inbox.js", Reply.of(200, "text/javascript; charset=utf-8", resource("inbox.js")));
    }

    private static byte[] resource(String name) {
        try (InputStream in = InboxRoutes.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- login

    Mono<Void> loginPage(HttpServerRequest request, HttpServerResponse response) {
        if (auth.isSession(session(request))) {
            return Reply.redirect(base + "/inbox").send(response);
        }
        return loginPage(null, 200).send(response);
    }

    Mono<Void> login(HttpServerRequest request, HttpServerResponse response) {
        return form(request)
                .map(form -> {
                    if (!auth.isAdminToken(first(form, "token"))) {
                        return loginPage("That token is not valid.", 401);
                    }
                    return Reply.redirect(base + "/inbox").header("Set-Cookie", cookie(auth.newSession(),
                            auth.sessionTtl().toSeconds()));
                })
                .onErrorResume(e -> Mono.just(errorPage(e, null)))
                .flatMap(reply -> reply.send(response));
    }

    Mono<Void> logout(HttpServerRequest request, HttpServerResponse response) {
        String session = session(request);
        return form(request)
                .map(form -> {
                    if (session == null || !auth.isCsrfToken(session, first(form, "_csrf"))) {
                        return Reply.redirect(base + "/login");
                    }
                    return Reply.redirect(base + "/login").header("Set-Cookie", cookie("", 0));
                })
                .onErrorResume(e -> Mono.just(errorPage(e, null)))
                .flatMap(reply -> reply.send(response));
    }

    private Reply loginPage(@Nullable String error, int status) {
        StringBuilder b = new StringBuilder();
        b.append("<section class=\"card narrow\"><h1>Log in</h1>");
        if (error != null) {
            b.append("<p class=\"error\" role=\"alert\">").append(Html.esc(error)).append("</p>");
        }
        b.append("<form method=\"post\" action=\"").append(Html.esc(base)).append("/login\">")
                .append("<div class=\"field\"><label for=\"token\">Admin token</label>")
                .append("<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" "
                        + "required autofocus></div>")
                .append("<button type=\"submit\">Log in</button></form></section>");
        return page(status, Html.page(base, "Log in", null, b.toString()));
    }

    private String cookie(String value, long maxAgeSeconds) {
        return COOKIE + "=" + value + "; Path=" + (base.isEmpty() ? "/" : base) + "; Max-Age=" + maxAgeSeconds
                + "; HttpOnly; SameSite=Strict" + (r.secureCookies ? "; Secure" : "");
    }

    private static @Nullable String session(HttpServerRequest request) {
        Set<Cookie> cookies = request.cookies().get(COOKIE);
        if (cookies == null || cookies.isEmpty()) {
            return null;
        }
        return cookies.iterator().next().value();
    }

    // ---------------------------------------------------------------- pages

    Mono<Void> asset(HttpServerRequest request, HttpServerResponse response) {
        Reply asset = assets.get(Paths.param(request, "name"));
        if (asset == null) {
            return Reply.of(404, "text/plain; charset=utf-8", "not found".getBytes(StandardCharsets.UTF_8))
                    .send(response);
        }
        return asset.send(response);
    }

    Mono<Void> list(HttpServerRequest request, HttpServerResponse response) {
        String session = session(request);
        if (!auth.isSession(session)) {
            return Reply.redirect(base + "/login").send(response);
        }
        String csrf = auth.csrfToken(session);
        QueryCriteria pending = QueryCriteria.builder().status(FlowStatus.SUSPENDED).limit(r.inboxLimit).build();
        return r.hub.query(pending)
                .flatMapSequential(info -> r.hub.describe(info.flowId())
                        .map(d -> new Row(info.flowId(), d))
                        .onErrorResume(e -> Mono.just(new Row(info.flowId() + " (" + info.flowName() + ")", null))),
                        4)
                .collectList()
                .map(rows -> listPage(rows, csrf))
                .onErrorResume(e -> Mono.just(errorPage(e, csrf)))
                .flatMap(reply -> reply.send(response));
    }

    /** One suspended flow of the list; {@code details} is null when its state could not be opened. */
    private record Row(String label, @Nullable FlowDetails details) {}

    private Reply listPage(List<Row> rows, String csrf) {
        StringBuilder b = new StringBuilder();
        List<String> unreadable = new ArrayList<>();
        int count = 0;
        StringBuilder body = new StringBuilder();
        for (Row row : rows) {
            FlowDetails d = row.details();
            if (d == null) {
                unreadable.add(row.label());
                continue;
            }
            for (FlowDetails.Wait w : d.waits()) {
                if (w.status() != WaitRecord.Status.PENDING) {
                    continue;
                }
                count++;
                String link = base + "/inbox/flows/" + Html.seg(d.info().flowId()) + "#wait-" + Html.seg(w.awaitId());
                body.append("<tr><td><a class=\"wait-link\" href=\"").append(Html.esc(link)).append("\">")
                        .append(Html.esc(w.name())).append("</a>");
                if (!w.description().isEmpty()) {
                    body.append("<div class=\"muted\">").append(Html.esc(w.description())).append("</div>");
                }
                body.append("</td><td>").append(Html.esc(d.info().flowName())).append(" <span class=\"muted\">v")
                        .append(d.info().flowVersion()).append("</span><div class=\"mono muted\">")
                        .append(Html.esc(d.info().flowId())).append("</div></td><td>")
                        .append(metadata(merge(d.info().metadata(), w.metadata()))).append("</td><td>")
                        .append(Html.time(w.deadline())).append("</td></tr>");
            }
        }
        b.append("<h1>Pending approvals</h1>");
        b.append("<p class=\"muted\">").append(count).append(count == 1 ? " wait" : " waits")
                .append(" open for input").append(rows.size() >= r.inboxLimit ? " (first " + r.inboxLimit
                        + " suspended flows shown)" : "").append(".</p>");
        if (count == 0) {
            b.append("<p class=\"empty\">Nothing is waiting for you.</p>");
        } else {
            b.append("<table class=\"inbox\"><thead><tr><th>Wait</th><th>Flow</th><th>Details</th>")
                    .append("<th>Deadline</th></tr></thead><tbody>").append(body).append("</tbody></table>");
        }
        if (!unreadable.isEmpty()) {
            b.append("<p class=\"error\">Could not open the state of: ")
                    .append(Html.esc(String.join(", ", unreadable))).append("</p>");
        }
        return page(200, Html.page(base, "Inbox", csrf, b.toString()));
    }

    Mono<Void> flow(HttpServerRequest request, HttpServerResponse response) {
        String session = session(request);
        if (!auth.isSession(session)) {
            return Reply.redirect(base + "/login").send(response);
        }
        String csrf = auth.csrfToken(session);
        return Mono.defer(() -> r.hub.describe(Paths.param(request, "id")))
                .map(d -> flowPage(d, csrf, null, Map.of(), Map.of(), 200))
                .switchIfEmpty(Mono.fromSupplier(() -> messagePage(404, "Not found",
                        "There is no such flow (it may have been cleaned up).", csrf)))
                .onErrorResume(e -> Mono.just(errorPage(e, csrf)))
                .flatMap(reply -> reply.send(response));
    }

    /**
     * The flow page: its facts, then one section per wait of the open group, with a form for each pending wait.
     * {@code failedAwaitId}'s form is pre-filled with {@code values} and shows {@code errors}.
     */
    private Reply flowPage(FlowDetails d, String csrf, @Nullable String failedAwaitId, Map<String, String> values,
            Map<String, List<String>> errors, int status) {
        StringBuilder b = new StringBuilder();
        var info = d.info();
        b.append("<p><a href=\"").append(Html.esc(base)).append("/inbox\">← All pending approvals</a></p>");
        b.append("<h1>").append(Html.esc(info.flowName())).append(" <span class=\"muted\">v")
                .append(info.flowVersion()).append("</span></h1>");
        b.append("<dl class=\"facts\"><dt>Flow id</dt><dd class=\"mono\">").append(Html.esc(info.flowId()))
                .append("</dd><dt>Status</dt><dd><span class=\"status status-").append(Html.esc(info.status()))
                .append("\">").append(Html.esc(info.status())).append("</span></dd>");
        if (info.correlationId() != null) {
            b.append("<dt>Correlation id</dt><dd class=\"mono\">").append(Html.esc(info.correlationId()))
                    .append("</dd>");
        }
        b.append("<dt>Started</dt><dd>").append(Html.time(info.createdAt())).append("</dd>");
        if (!info.metadata().isEmpty()) {
            b.append("<dt>Metadata</dt><dd>").append(metadata(info.metadata())).append("</dd>");
        }
        b.append("</dl>");
        boolean open = info.status() == FlowStatus.SUSPENDED;
        if (d.waits().isEmpty()) {
            b.append("<p class=\"empty\">This flow is not waiting for anything.</p>");
        }
        for (FlowDetails.Wait w : d.waits()) {
            b.append("<section class=\"card wait\" id=\"wait-").append(Html.esc(w.awaitId())).append("\">");
            b.append("<h2>").append(Html.esc(w.name())).append("</h2>");
            if (!w.description().isEmpty()) {
                b.append("<p>").append(Html.esc(w.description())).append("</p>");
            }
            b.append("<dl class=\"facts\"><dt>Await id</dt><dd class=\"mono\">").append(Html.esc(w.awaitId()))
                    .append("</dd><dt>Deadline</dt><dd>").append(Html.time(w.deadline())).append("</dd>");
            if (!w.metadata().isEmpty()) {
                b.append("<dt>Metadata</dt><dd>").append(metadata(w.metadata())).append("</dd>");
            }
            b.append("</dl>");
            if (open && w.status() == WaitRecord.Status.PENDING) {
                boolean failed = w.awaitId().equals(failedAwaitId);
                SchemaForm form = SchemaForm.of(w.schema());
                Map<String, List<String>> errs = failed ? errors : Map.of();
                String action = base + "/inbox/flows/" + Html.seg(info.flowId()) + "/waits/" + Html.seg(w.awaitId());
                b.append("<form method=\"post\" class=\"wait-form\" action=\"").append(Html.esc(action)).append("\">");
                if (errs.containsKey("")) {
                    b.append("<div class=\"error\" role=\"alert\">");
                    for (String e : errs.get("")) {
                        b.append("<p>").append(Html.esc(e)).append("</p>");
                    }
                    b.append("</div>");
                }
                b.append("<input type=\"hidden\" name=\"_csrf\" value=\"").append(Html.esc(csrf)).append("\">")
                        .append("<input type=\"hidden\" name=\"_submission\" value=\"")
                        .append(Html.esc(auth.newFormId())).append("\">")
                        .append(form.renderFields("w-" + w.awaitId(), failed ? values : Map.of(), errs))
                        .append("<p class=\"muted\"><span class=\"req\">*</span> required</p>")
                        .append("<button type=\"submit\">Submit</button></form>");
            } else {
                b.append("<p class=\"status\">").append(Html.esc(w.status().name().toLowerCase(java.util.Locale.ROOT)))
                        .append("</p>");
            }
            b.append("</section>");
        }
        return page(status, Html.page(base, info.flowName(), csrf, b.toString()));
    }

    // ---------------------------------------------------------------- submit

    Mono<Void> submit(HttpServerRequest request, HttpServerResponse response) {
        String session = session(request);
        if (!auth.isSession(session)) {
            return Reply.redirect(base + "/login").send(response);
        }
        String csrf = auth.csrfToken(session);
        return form(request)
                .flatMap(form -> {
                    if (!auth.isCsrfToken(session, first(form, "_csrf"))) {
                        return Mono.just(messagePage(403, "Forbidden",
                                "This form has expired or did not come from this inbox. Reload the page and try again.",
                                csrf));
                    }
                    String flowId = Paths.param(request, "id");
                    String awaitId = Paths.param(request, "awaitId");
                    return r.hub.describe(flowId)
                            .flatMap(d -> resume(d, awaitId, form, csrf))
                            .switchIfEmpty(Mono.fromSupplier(() -> messagePage(404, "Not found",
                                    "There is no such flow (it may have been cleaned up).", csrf)));
                })
                .onErrorResume(e -> Mono.just(errorPage(e, csrf)))
                .flatMap(reply -> reply.send(response));
    }

    private Mono<Reply> resume(FlowDetails d, String awaitId, Map<String, List<String>> form, String csrf) {
        FlowDetails.Wait wait = null;
        for (FlowDetails.Wait w : d.waits()) {
            if (w.awaitId().equals(awaitId)) {
                wait = w;
            }
        }
        String submission = first(form, "_submission");
        Reply replay = submission == null ? null : outcomes.get(submission);
        if (replay != null) {
            return Mono.just(replay);
        }
        if (wait == null || wait.status() != WaitRecord.Status.PENDING) {
            return Mono.just(closedWait(d, awaitId, csrf));
        }
        SchemaForm schemaForm = SchemaForm.of(wait.schema());
        JsonNode input = schemaForm.toJson(form, r.mapper);
        ResumeOptions options = submission == null || submission.isEmpty()
                ? ResumeOptions.none() : ResumeOptions.idempotencyKey("inbox:" + submission);
        return r.hub.resumeWait(d.info().flowId(), awaitId, input, options)
                .map(result -> {
                    Reply outcome = outcomePage(d, result, csrf);
                    if (submission != null) {
                        outcomes.put(submission, outcome);
                    }
                    return outcome;
                })
                .onErrorResume(InputValidationException.class, e -> {
                    Map<String, String> values = new LinkedHashMap<>();
                    form.forEach((k, v) -> {
                        if (!v.isEmpty()) {
                            values.put(k, v.get(0));
                        }
                    });
                    return Mono.just(flowPage(d, csrf, awaitId, values, schemaForm.errorsByField(e.violations()),
                            400));
                })
                .onErrorResume(AlreadyResumedException.class, e -> Mono.just(messagePage(409,
                        "Already answered", "Someone already answered this wait.", csrf)))
                .onErrorResume(SuspensionKeyNotFoundException.class, e -> Mono.just(messagePage(404,
                        "No longer open", "This wait is no longer open (it expired, was cancelled or answered).",
                        csrf)));
    }

    /** The answer for a wait that is not (or no longer) open: answered (409), timed out or unknown (404). */
    private Reply closedWait(FlowDetails d, String awaitId, String csrf) {
        for (SuspensionInfo.WaitInfo w : d.info().waits()) {
            if (w.awaitId().equals(awaitId) && (w.status() == WaitRecord.Status.RESOLVED
                    || w.status() == WaitRecord.Status.CLOSED)) {
                return messagePage(409, "Already answered", "Someone already answered this wait.", csrf);
            }
        }
        return messagePage(404, "No longer open",
                "This flow has no open wait '" + awaitId + "' (it expired, was cancelled or never existed).", csrf);
    }

    private Reply outcomePage(FlowDetails before, FlowResult result, String csrf) {
        StringBuilder b = new StringBuilder();
        String name = before.info().flowName();
        String flowLink = base + "/inbox/flows/" + Html.seg(result.flowId());
        b.append("<section class=\"card outcome outcome-").append(Html.esc(result.status())).append("\">");
        if (result instanceof FlowResult.Completed c) {
            b.append("<h1>Flow completed</h1><p>").append(Html.esc(name)).append(" <span class=\"mono muted\">")
                    .append(Html.esc(result.flowId())).append("</span> finished.</p>");
            b.append("<h2>Output</h2><pre class=\"output\">").append(Html.esc(pretty(c.output()))).append("</pre>");
        } else if (result instanceof FlowResult.Suspended s) {
            b.append("<h1>Flow is waiting again</h1><p>Your answer was recorded; ").append(Html.esc(name))
                    .append(" now waits for:</p><ul>");
            for (WaitHandle w : s.waits()) {
                b.append("<li><a href=\"").append(Html.esc(flowLink + "#wait-" + Html.seg(w.awaitId()))).append("\">")
                        .append(Html.esc(w.name())).append("</a> — deadline ").append(Html.time(w.deadline()))
                        .append("</li>");
            }
            b.append("</ul>");
        } else if (result instanceof FlowResult.Failed f) {
            b.append("<h1>Flow ").append(Html.esc(f.status().name().toLowerCase(java.util.Locale.ROOT)))
                    .append("</h1><p>").append(Html.esc(name)).append(" ended without an output.</p>")
                    .append("<pre class=\"output\">").append(Html.esc(f.errorType())).append(": ")
                    .append(Html.esc(f.message())).append("</pre>");
        }
        b.append("<p><a href=\"").append(Html.esc(base)).append("/inbox\">Back to the inbox</a></p></section>");
        return page(200, Html.page(base, "Outcome", csrf, b.toString()));
    }

    private String pretty(@Nullable Object output) {
        try {
            return r.mapper.writerWithDefaultPrettyPrinter().writeValueAsString(output);
        } catch (JsonProcessingException e) {
            return String.valueOf(output);
        }
    }

    // ---------------------------------------------------------------- helpers

    private Reply messagePage(int status, String title, String message, @Nullable String csrf) {
        return page(status, Html.page(base, title, csrf, "<section class=\"card\"><h1>" + Html.esc(title)
                + "</h1><p>" + Html.esc(message) + "</p><p><a href=\"" + Html.esc(base)
                + "/inbox\">Back to the inbox</a></p></section>"));
    }

    private Reply errorPage(Throwable e, @Nullable String csrf) {
        Problems.Classified c = Problems.classify(e);
        Reply page = messagePage(c.status(), "Something went wrong", c.detail(), csrf);
        if (c.retry()) {
            Problems.retry(page, r.retryAfter);
        }
        return c.close() ? page.close() : page;
    }

    /** An HTML page with the inbox's security headers. */
    private static Reply page(int status, String html) {
        return Reply.html(status, html)
                .header("Content-Security-Policy", CSP)
                .header("X-Frame-Options", "DENY")
                .header("Referrer-Policy", "no-referrer");
    }

    private static Map<String, String> merge(Map<String, String> a, Map<String, String> b) {
        Map<String, String> out = new LinkedHashMap<>(a);
        out.putAll(b);
        return out;
    }

    private static String metadata(Map<String, String> metadata) {
        if (metadata.isEmpty()) {
            return "<span class=\"muted\">—</span>";
        }
        StringBuilder b = new StringBuilder("<ul class=\"meta\">");
        new java.util.TreeMap<>(metadata).forEach((k, v) -> b.append("<li><span class=\"k\">").append(Html.esc(k))
                .append("</span> ").append(Html.esc(v)).append("</li>"));
        return b.append("</ul>").toString();
    }

    /** A url-encoded form body, read under the size limit; 415 for another media type. */
    private Mono<Map<String, List<String>>> form(HttpServerRequest request) {
        if (!FORM.equals(Bodies.mediaType(request))) {
            return Mono.error(new HttpError(415, "the form must be sent as " + FORM));
        }
        return Bodies.read(request, r.maxBodyBytes).map(bytes ->
                new QueryStringDecoder(new String(bytes, StandardCharsets.UTF_8), StandardCharsets.UTF_8, false)
                        .parameters());
    }

    private static @Nullable String first(Map<String, List<String>> form, String name) {
        List<String> values = form.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
