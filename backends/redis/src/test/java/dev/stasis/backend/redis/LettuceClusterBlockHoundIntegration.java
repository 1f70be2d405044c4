package dev.stasis.backend.redis;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * One more library lock section allowed by name, for this module's tests, in the spirit of the kit's
 * {@code BlockHoundSupport} (which already allows lettuce's {@code SharedLock}): the first command a cluster connection
 * routes to a slot fills lettuce's per-slot writer cache under a {@code ReentrantLock}
 * ({@code PooledClusterConnectionProvider.lambda$getWriteConnection$1}, a few field writes, no I/O). Under contention on
 * a loaded machine it parks for microseconds, and BlockHound reported it from the cluster suite's storm (thousands of
 * fresh slots written at once). Loaded by {@code BlockHound.builder().loadIntegrations()} through
 * {@code META-INF/services}; every other blocking call still fails.
 */
public final class LettuceClusterBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("io.lettuce.core.cluster.PooledClusterConnectionProvider",
                "lambda$getWriteConnection$1");
    }
}
