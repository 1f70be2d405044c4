package dev.stasis.bench;

import java.util.Arrays;
import picocli.CommandLine;

/**
 * Entry point of {@code stasis-bench.jar}. {@code jmh [args]} runs the JMH codec benchmarks (JMH's own command line:
 * {@code -f 1 -wi 2 -i 3 -w 1s -r 1s}, a regexp, {@code -rf json -rff file}…); everything else is the load harness
 * ({@code --help}).
 */
public final class Main {

    private Main() {}

    /**
     * Runs the harness or JMH.
     *
     * @param args command line
     * @throws Exception from JMH
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("jmh")) {
            org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        int code = BenchCommand.commandLine(System.out, args).execute(args);
        System.exit(code);
    }
}
