package dev.stasis.webhook;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import reactor.netty.http.server.HttpServerRequest;

/** Path parameters, percent-decoded (reactor-netty hands them over raw). */
final class Paths {

    private Paths() {}

    static String param(HttpServerRequest request, String name) {
        String raw = request.param(name);
        if (raw == null) {
            return "";
        }
        try {
            // '+' is a literal in a path; only %XX sequences are decoded
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new HttpError(400, "malformed percent-encoding in the path");
        }
    }
}
