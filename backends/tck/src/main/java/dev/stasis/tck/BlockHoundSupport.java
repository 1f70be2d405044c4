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
        BlockHound.builder()
                // class initialisation of the DRBG reads its seed once; not a per-call cost
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator", "getSystemEntropy")
                .allowBlockingCallsInside("sun.security.provider.SeedGenerator$URLSeedGenerator", "getSeedBytes")
                .install();
        installed = true;
    }
}
