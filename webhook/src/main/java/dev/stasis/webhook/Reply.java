package dev.stasis.webhook;

import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerResponse;

/**
 * One complete HTTP answer, built before anything is written: every route computes a {@code Mono<Reply>} and
 * {@link #send} writes it in one go (so metrics see the final status, and no half-written response escapes).
 */
final class Reply {

    static final String JSON = "application/json";
    static final String PROBLEM = "application/problem+json";
    static final String HTML = "text/html; charset=utf-8";

    /** How long a connection is drained after a {@link #close()} answer before it is closed. */
    static final Duration LINGER = Duration.ofSeconds(2);

    final int status;
    final String contentType;
    final byte[] body;
    final Map<String, String> headers = new LinkedHashMap<>();
    private boolean closeAfter;

    private Reply(int status, String contentType, byte[] body) {
        this.status = status;
        this.contentType = contentType;
        this.body = body;
    }

    static Reply of(int status, String contentType, byte[] body) {
        return new Reply(status, contentType, body);
    }

    static Reply html(int status, String html) {
        return new Reply(status, HTML, html.getBytes(StandardCharsets.UTF_8));
    }

    static Reply redirect(String location) {
        return new Reply(303, "text/plain; charset=utf-8", new byte[0]).header("Location", location);
    }

    Reply header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    /**
     * Ends the connection after this answer, for answers sent before the request body was read (413). A plain
     * {@code Connection: close} would make the server close at once, and a socket closed while the client is still
     * sending is reset: the client may then never see the answer. So this is a lingering close, as nginx and Apache
     * do it: the answer is written in full, the output is shut down (the client reads the end of the stream right
     * after the answer), the rest of the request keeps being read and discarded by the HTTP layer, and the connection
     * is closed after {@link #LINGER} at the latest.
     */
    Reply close() {
        closeAfter = true;
        return this;
    }

    boolean closes() {
        return closeAfter;
    }

    Mono<Void> send(HttpServerResponse response) {
        response.status(HttpResponseStatus.valueOf(status));
        response.header(HttpHeaderNames.CONTENT_TYPE, contentType);
        response.header(HttpHeaderNames.CONTENT_LENGTH, String.valueOf(body.length));
        response.header("X-Content-Type-Options", "nosniff");
        response.header(HttpHeaderNames.CACHE_CONTROL, "no-store");
        headers.forEach(response::header);
        Mono<Void> sent = body.length == 0 ? response.send().then() : response.sendByteArray(Mono.just(body)).then();
        if (!closeAfter) {
            return sent;
        }
        return sent.then(Mono.fromRunnable(() -> response.withConnection(connection -> {
            Channel channel = connection.channel();
            if (channel instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            }
            channel.eventLoop().schedule(() -> {
                channel.close();
            }, LINGER.toMillis(), TimeUnit.MILLISECONDS);
        })));
    }
}
