package dev.stasis.backend.redis;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandInterruptedException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisReadOnlyException;
import io.lettuce.core.cluster.PartitionSelectorException;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The one place where lettuce's errors become Stasis errors.
 *
 * <p><b>Transient</b> ({@link StorageUnavailableException}, retryable): the server cannot be reached or the
 * connection broke ({@link RedisConnectionException}, {@link IOException}, a closed connection, commands rejected
 * while disconnected or because the request queue is full), a command timed out
 * ({@link RedisCommandTimeoutException}, {@link TimeoutException}), and the server replies that mean "try again
 * shortly": {@code LOADING}, {@code BUSY}, {@code CLUSTERDOWN}, {@code TRYAGAIN}, {@code MASTERDOWN}, {@code READONLY}
 * (a replica promoted or demoted during failover) and a slot without a known node. <b>Everything else</b> (wrong types,
 * script errors, out of memory, authentication) is a {@link StorageException}. Stasis' own exceptions pass through.
 */
final class RedisErrors {

    private static final String[] TRANSIENT_REPLIES = {
        "LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY"
    };

    private RedisErrors() {}

    /**
     * Maps an error.
     *
     * @param e what the driver (or Reactor) signalled
     * @return a {@link StorageException} (possibly {@code e} itself)
     */
    static Throwable map(Throwable e) {
        if (e instanceof StorageException) {
            return e;
        }
        if (isTransient(e)) {
            return new StorageUnavailableException("redis unavailable: " + describe(e), e);
        }
        return new StorageException("redis command failed: " + describe(e), e);
    }

    /**
     * Whether an error (or one of its causes) is transient.
     *
     * @param e the error
     * @return whether retrying may succeed
     */
    static boolean isTransient(Throwable e) {
        Throwable t = e;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof RedisConnectionException
                    || t instanceof RedisCommandTimeoutException
                    || t instanceof RedisCommandInterruptedException
                    || t instanceof RedisLoadingException
                    || t instanceof RedisBusyException
                    || t instanceof RedisReadOnlyException
                    || t instanceof PartitionSelectorException
                    || t instanceof TimeoutException
                    || t instanceof IOException) {
                return true;
            }
            if (t instanceof RedisCommandExecutionException && startsWithTransientReply(t.getMessage())) {
                return true;
            }
            if (t instanceof RedisException && isClosedConnection(t.getMessage())) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWithTransientReply(@Nullable String message) {
        if (message == null) {
            return false;
        }
        for (String reply : TRANSIENT_REPLIES) {
            if (message.startsWith(reply)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isClosedConnection(@Nullable String message) {
        if (message == null) {
            return false;
        }
        String m = message.toLowerCase(Locale.ROOT);
        return m.contains("connection closed") || m.contains("connection is closed")
                || m.contains("connection reset") || m.contains("disconnected") || m.contains("not connected")
                || m.contains("queue size exceeded");
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : " (" + m + ")");
    }
}
