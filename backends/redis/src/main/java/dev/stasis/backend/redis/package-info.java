/**
 * A {@link dev.stasis.spi.StateStore} on Redis, standalone or Redis Cluster, through lettuce's reactive API: see
 * {@link dev.stasis.backend.redis.RedisStore}.
 */
@NullMarked
package dev.stasis.backend.redis;

import org.jspecify.annotations.NullMarked;
