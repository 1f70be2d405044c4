package dev.stasis.webhook;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.jspecify.annotations.Nullable;

/** HTML escaping and the page frame of the inbox. Everything that is not a literal goes through {@link #esc}. */
final class Html {

    private static final DateTimeFormatter UTC = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")
            .withZone(ZoneOffset.UTC);

    private Html() {}

    /** Escapes text for element content and for double- or single-quoted attribute values. */
    static String esc(@Nullable Object value) {
        if (value == null) {
            return "";
        }
        String s = value.toString();
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** Encodes one path segment (so that ids with odd characters still make a valid, unambiguous link). */
    static String seg(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A {@code <time>} element (the page's script shows it in the reader's time zone). */
    static String time(@Nullable Instant t) {
        if (t == null) {
            return "<span class=\"muted\">none</span>";
        }
        return "<time datetime=\"" + esc(t.toString()) + "\">" + esc(UTC.format(t)) + "</time>";
    }

    /** A whole page: title, the base path for assets, an optional logout form, and the body. */
    static String page(String base, String title, @Nullable String csrf, String body) {
        StringBuilder h = new StringBuilder(2048 + body.length());
        h.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>").append(esc(title)).append(" · Stasis</title>")
                .append("<link rel=\"stylesheet\" href=\"").append(esc(base)).append("/inbox/assets/inbox.css\">")
                .append("<script defer src=\"").append(esc(base)).append("/inbox/assets/inbox.js\"></script>")
                .append("</head><body><header><a class=\"brand\" href=\"").append(esc(base))
                .append("/inbox\">Stasis inbox</a>");
        if (csrf != null) {
            h.append("<form method=\"post\" action=\"").append(esc(base)).append("/logout\" class=\"logout\">")
                    .append("<input type=\"hidden\" name=\"_csrf\" value=\"").append(esc(csrf)).append("\">")
                    .append("<button type=\"submit\">Log out</button></form>");
        }
        h.append("</header><main>").append(body).append("</main></body></html>\n");
        return h.toString();
    }
}
