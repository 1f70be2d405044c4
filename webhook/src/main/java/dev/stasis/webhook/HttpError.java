package dev.stasis.webhook;

/** A request the routes refuse with a 4xx status and a problem detail (mapped by {@link Problems#fromError}). */
final class HttpError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;

    HttpError(int status, String detail) {
        super(detail, null, false, false);
        this.status = status;
    }
}
