package dev.stasis.webhook;

import io.netty.handler.codec.http.HttpHeaderNames;
import java.io.ByteArrayOutputStream;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;

/** Reads request bodies with a size limit that is enforced while the bytes arrive, not after. */
final class Bodies {

    private Bodies() {}

    /** The body was larger than the limit (or announced so in its Content-Length). */
    static final class TooLargeException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLargeException() {
            super("request body over the limit", null, false, false);
        }
    }

    /**
     * The announced Content-Length when it is over the limit (so the caller can answer 413 without reading), else
     * {@code false}. A malformed Content-Length is left to the HTTP decoder.
     */
    static boolean announcedTooLarge(HttpServerRequest request, long limit) {
        String length = request.requestHeaders().get(HttpHeaderNames.CONTENT_LENGTH);
        if (length == null) {
            return false;
        }
        try {
            return Long.parseLong(length.trim()) > limit;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * Reads the whole body, failing with {@link TooLargeException} as soon as more than {@code limit} bytes have
     * arrived (the subscription to the rest of the body is cancelled at that point). Each chunk is copied out of its
     * buffer before the buffer is released.
     */
    static Mono<byte[]> read(HttpServerRequest request, long limit) {
        if (announcedTooLarge(request, limit)) {
            return Mono.error(new TooLargeException());
        }
        return Mono.defer(() -> {
            Accumulator acc = new Accumulator(limit);
            return request.receive()
                    .handle((buf, sink) -> {
                        int n = buf.readableBytes();
                        if (acc.size + n > acc.limit) {
                            sink.error(new TooLargeException());
                            return;
                        }
                        byte[] chunk = new byte[n];
                        buf.getBytes(buf.readerIndex(), chunk);
                        acc.append(chunk);
                        sink.next(n);
                    })
                    .then(Mono.fromSupplier(acc::bytes));
        });
    }

    /** The value of a media type without its parameters, lower case; {@code null} when absent. */
    static @Nullable String mediaType(HttpServerRequest request) {
        String type = request.requestHeaders().get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null) {
            return null;
        }
        int semi = type.indexOf(';');
        return (semi < 0 ? type : type.substring(0, semi)).trim().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code application/json} or any {@code application/*+json}. */
    static boolean isJson(@Nullable String mediaType) {
        return mediaType != null
                && (mediaType.equals("application/json")
                        || mediaType.startsWith("application/") && mediaType.endsWith("+json"));
    }

    private static final class Accumulator {
        final long limit;
        long size;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Accumulator(long limit) {
            this.limit = limit;
        }

        void append(byte[] chunk) {
            out.write(chunk, 0, chunk.length);
            size += chunk.length;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
