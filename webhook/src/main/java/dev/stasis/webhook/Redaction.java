package dev.stasis.webhook;

import dev.stasis.security.ResumeKeys;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;
import reactor.netty.http.server.ConnectionInformation;
import reactor.netty.http.server.logging.AccessLog;
import reactor.netty.http.server.logging.AccessLogArgProvider;

/** Access-log lines without resume keys. */
final class Redaction {

    private Redaction() {}

    /**
     * The request target with every key replaced by {@link ResumeKeys#redact}: the path segment after a
     * {@code resume} segment (whatever it looks like: a mistyped key is still a near-secret), and any segment or
     * query value that starts with the key prefix.
     */
    static String uri(@Nullable CharSequence uri) {
        if (uri == null) {
            return "-";
        }
        String s = uri.toString();
        int q = s.indexOf('?');
        String path = q < 0 ? s : s.substring(0, q);
        String query = q < 0 ? null : s.substring(q + 1);
        String[] segments = path.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            boolean afterResume = i > 0 && segments[i - 1].equals("resume");
            if (!segments[i].isEmpty() && (afterResume || segments[i].startsWith(ResumeKeys.PREFIX))) {
                segments[i] = ResumeKeys.redact(segments[i]);
            }
        }
        StringBuilder out = new StringBuilder(String.join("/", segments));
        if (query != null) {
            out.append('?');
            String[] pairs = query.split("&", -1);
            for (int i = 0; i < pairs.length; i++) {
                if (i > 0) {
                    out.append('&');
                }
                int eq = pairs[i].indexOf('=');
                String value = eq < 0 ? pairs[i] : pairs[i].substring(eq + 1);
                if (value.startsWith(ResumeKeys.PREFIX)) {
                    out.append(eq < 0 ? "" : pairs[i].substring(0, eq + 1)).append(ResumeKeys.redact(value));
                } else {
                    out.append(pairs[i]);
                }
            }
        }
        return out.toString();
    }

    /** One access-log line: remote address, method, redacted target, protocol, status, bytes, milliseconds. */
    static @Nullable AccessLog format(AccessLogArgProvider a) {
        return AccessLog.create("{} \"{} {} {}\" {} {} {}ms", address(a.connectionInformation()), a.method(),
                uri(a.uri()), a.protocol(), a.status(), a.contentLength() < 0 ? "-" : a.contentLength(), a.duration());
    }

    private static String address(@Nullable ConnectionInformation info) {
        SocketAddress remote = info == null ? null : info.connectionRemoteAddress();
        return remote instanceof InetSocketAddress inet ? inet.getHostString() : "-";
    }
}
