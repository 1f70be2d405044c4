package dev.stasis.tck;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Installs BlockHound when the JUnit launcher session of a test JVM opens, before any test class (and so before
 * any Reactor or netty thread) exists. Registered through {@code META-INF/services}, so every module that tests a
 * store with this kit runs all its tests under BlockHound.
 *
 * <p>Why not in a test's {@code @BeforeAll}: BlockHound re-transforms JDK classes when it installs; threads that
 * are at that moment parked inside them (a Reactor scheduler's idle workers, left by an earlier test class in the
 * same JVM) then fail with {@code IllegalMonitorStateException} and the scheduler stops running tasks (seen: the
 * outage test hung when it installed BlockHound after the crash test had used {@code Schedulers.parallel()}).
 */
public final class BlockHoundLauncherListener implements LauncherSessionListener {

    /** Used by the JUnit platform through the service loader. */
    public BlockHoundLauncherListener() {}

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        BlockHoundSupport.install();
    }
}
