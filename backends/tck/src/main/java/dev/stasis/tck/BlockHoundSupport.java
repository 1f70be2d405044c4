package dev.stasis.tck;

import reactor.blockhound.BlockHound;

/**
 * Installs BlockHound once per JVM, so that every blocking call on a non-blocking thread (Reactor's parallel
 * scheduler, netty event loops) fails the test that made it. The kit runs its calls on
 * {@code Schedulers.parallel()} so that stores are checked on exactly such threads.
 */
public final class BlockHoundSupport {

    private static boolean installed;

    private BlockHoundSupport() {}

    /** Installs BlockHound if it is not installed yet. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        // loadIntegrations(): without it BlockHound knows no non-blocking thread (Reactor's parallel scheduler marks its
        // threads through the Reactor integration) and reports nothing at all
        BlockHound.builder()
                .loadIntegrations()
                // class initialisation of the DRBG reads its seed once; not a per-call cost
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator", "getSystemEntropy")
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator$URLSeedGenerator", "getSeedBytes")
                // the test logger writes lines synchronously (production logging is the application's)
                .allowBlockingCallsInside("org.slf4j.simple.SimpleLogger", "write")
                // Short critical sections of libraries guarded by j.u.c locks: under contention they park for
                // microseconds (no I/O). Allowed by name so that everything else (I/O, sleeps, block()) still fails.
                // Jackson fills its (de)serializer caches once per type under a ReentrantLock
                .allowBlockingCallsInside("com.fasterxml.jackson.databind.deser.DeserializerCache",
                        "_createAndCacheValueDeserializer")
                // Reactor cancels a periodic task (a disposed sweeper) under a lock
                .allowBlockingCallsInside("reactor.core.scheduler.PeriodicWorkerTask", "dispose")
                // the MongoDB driver's connection pool and server selection take their locks through these helpers;
                // BlockHound throwing from inside them corrupts the pool's StampedLock queue (a hang, seen)
                .allowBlockingCallsInside("com.mongodb.internal.Locks", "checkedWithLock")
                .allowBlockingCallsInside("com.mongodb.internal.Locks", "lockInterruptibly")
                // netty 4.2's adaptive buffer allocator grows its magazines under a StampedLock (seen under the Neo4j
                // driver's event loops)
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines")
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$Magazine", "free")
                // the Neo4j driver guards a transaction's state with a ReentrantLock
                .allowBlockingCallsInside("org.neo4j.driver.internal.util.LockUtil", "executeWithLock")
                // closing a Neo4j driver shuts its pool's executor from the netty thread that closed the last
                // connection (ScheduledThreadPoolExecutor takes its queue lock): teardown only, it failed
                // Neo4jCrashRecoveryIT's cleanup in CI (driver 6.x: the lambda of PooledBoltConnectionSource.close)
                .allowBlockingCallsInside("org.neo4j.bolt.connection.pooled.PooledBoltConnectionSource",
                        "lambda$close$2")
                // lettuce serialises writers of a shared connection with a short ReentrantLock section
                .allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "incrementWriters")
                .allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "decrementWriters")
                .allowBlockingCallsInside("io.lettuce.core.protocol.SharedLock", "doExclusive")
                .install();
        installed = true;
    }
}
