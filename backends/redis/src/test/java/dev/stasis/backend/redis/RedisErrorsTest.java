package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.stasis.StorageException;
import dev.stasis.StorageUnavailableException;
import dev.stasis.spi.DuplicateRecordException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisNoScriptException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class RedisErrorsTest {

    @Test
    void transientErrorsBecomeStorageUnavailable() {
        for (Throwable e : new Throwable[] {
            new RedisConnectionException("Unable to connect to 127.0.0.1:1"),
            new RedisCommandTimeoutException("Command timed out after 1 minute(s)"),
            new RedisLoadingException("LOADING Redis is loading the dataset in memory"),
            new RedisCommandExecutionException("CLUSTERDOWN The cluster is down"),
            new RedisCommandExecutionException("TRYAGAIN Multiple keys request during rehashing of slot"),
            new RedisCommandExecutionException("READONLY You can't write against a read only replica."),
            new RedisException("Connection closed"),
            new RedisException("Connection is closed"),
            new RedisException("Currently not connected. Commands are rejected."),
            new RedisException("Request queue size exceeded: 10. Commands are not accepted until the queue size"
                    + " drops."),
            new RedisException("wrapped", new ClosedChannelException()),
            new IOException("Connection reset by peer"),
            new TimeoutException("Did not observe any item within 10000ms")
        }) {
            Throwable mapped = RedisErrors.map(e);
            assertThat(mapped).as(e.toString()).isInstanceOf(StorageUnavailableException.class).hasCause(e);
            assertThat(((StorageException) mapped).isRetryable()).isTrue();
        }
    }

    @Test
    void otherErrorsBecomeStorageException() {
        for (Throwable e : new Throwable[] {
            new RedisCommandExecutionException("WRONGTYPE Operation against a key holding the wrong kind of value"),
            new RedisCommandExecutionException("ERR Error running script"),
            new RedisCommandExecutionException("OOM command not allowed when used memory > 'maxmemory'."),
            new RedisNoScriptException("NOSCRIPT No matching script"),
            new IllegalStateException("bug")
        }) {
            Throwable mapped = RedisErrors.map(e);
            assertThat(mapped).as(e.toString()).isExactlyInstanceOf(StorageException.class).hasCause(e);
        }
    }

    @Test
    void storeErrorsPassThrough() {
        DuplicateRecordException dup = new DuplicateRecordException("key hash already stored");
        assertThat(RedisErrors.map(dup)).isSameAs(dup);
        StorageUnavailableException down = new StorageUnavailableException("down");
        assertThat(RedisErrors.map(down)).isSameAs(down);
    }
}
