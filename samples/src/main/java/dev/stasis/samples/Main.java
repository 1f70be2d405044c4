package dev.stasis.samples;

import dev.stasis.StasisException;
import dev.stasis.security.KeyRingException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar stasis-samples.jar <command>}: {@code demo}, {@code approval-server}, {@code conversation},
 * {@code entity-returns}, {@code supervisor}, {@code quorum}, {@code resume KEY JSON}, {@code list}.
 */
@Command(name = "stasis-samples", mixinStandardHelpOptions = true, version = "stasis-samples 0.1.0",
        description = "Stasis samples on the filesystem store.",
        subcommands = {DemoCommand.class, ApprovalServerCommand.class, ConversationCommand.class,
            EntityReturnsCommand.class, SupervisorCommand.class, QuorumCommand.class, ResumeCommand.class,
            ListCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Spec
    private CommandSpec spec;

    /** Creates the command (picocli instantiates it). */
    public Main() {}

    /**
     * Runs a command and exits with its exit code (0 on success).
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs a command and returns its exit code, printing errors as one line (no stack traces).
     *
     * @param args the command line
     * @return the exit code
     */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8), args);
    }

    /**
     * Runs a command with its output going to the given writers (tests capture it this way).
     *
     * @param out standard output
     * @param err error output
     * @param args the command line
     * @return the exit code
     */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out); // set before execute: picocli hands these writers to every subcommand
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + describe(e));
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static String describe(Throwable e) {
        if (e instanceof KeyRingException) {
            return e.getMessage() + " (In these samples: add --dev-key for a development key.)";
        }
        if (e instanceof StasisException) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** The options every command shares. */
    static final class DataOptions {
        @Option(names = "--data", paramLabel = "DIR", defaultValue = ".stasis-data",
                description = "Data directory; the store is DIR/store (default: ${DEFAULT-VALUE}).")
        Path data = Path.of(".stasis-data");

        @Option(names = "--dev-key",
                description = "Development mode: when neither STASIS_KEYS nor STASIS_KEY_FILE is set, use (or create)"
                        + " the development key file DIR/store.dev-key. Never in production.")
        boolean devKey;
    }
}
