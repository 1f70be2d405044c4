package dev.stasis.samples;

import dev.stasis.AlreadyResumedException;
import dev.stasis.FlowResult;
import dev.stasis.InputValidationException;
import dev.stasis.ResumeOptions;
import dev.stasis.SuspensionKeyNotFoundException;
import dev.stasis.WaitHandle;
import dev.stasis.samples.ConversationFlow.Message;
import dev.stasis.samples.ConversationFlow.Start;
import dev.stasis.samples.ConversationFlow.Transcript;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code conversation start} and {@code conversation say KEY MESSAGE}: a chat whose state lives only in the store.
 * Every {@code say} is a new process with a new hub; the key it is given is the only link to the conversation.
 */
@Command(name = "conversation", mixinStandardHelpOptions = true,
        description = {"A chat loop where each user turn is an await; the state survives restarts.",
            "  conversation start [--user NAME]     prints the bot's greeting and the first key",
            "  conversation say KEY MESSAGE         resumes with a message (in this new process), prints the reply"
                + " and the next key; \"bye\" or \"end\" finishes with the transcript"},
        subcommands = {ConversationCommand.StartCommand.class, ConversationCommand.SayCommand.class})
final class ConversationCommand implements Runnable {

    private static final Duration T = Duration.ofMinutes(1);

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code conversation start}: starts a conversation and prints its first key. */
    @Command(name = "start", mixinStandardHelpOptions = true, description = "Starts a conversation.")
    static final class StartCommand implements Callable<Integer> {

        @Option(names = "--user", defaultValue = "Ada", description = "Your name (default: ${DEFAULT-VALUE}).")
        String user = "Ada";

        @Mixin
        Main.DataOptions options = new Main.DataOptions();

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            Workspace ws = Workspace.open(options.data, options.devKey, "conversation-" + ProcessHandle.current().pid());
            FlowResult r = ws.hub.start(ConversationFlow.FLOW, new Start(user)).block(T);
            if (!(r instanceof FlowResult.Suspended s)) {
                out.println("error: expected the conversation to wait for you, got " + r);
                return 1;
            }
            out.println("conversation " + s.flowId() + " started (process " + ProcessHandle.current().pid() + ")");
            printTurn(out, s, options);
            return 0;
        }
    }

    /** {@code conversation say KEY MESSAGE}: one user turn, in a fresh process and hub. */
    @Command(name = "say", mixinStandardHelpOptions = true,
            description = {"Says something: resumes the conversation's wait with a message.",
                "Exit codes: 0 ok, 3 invalid input, 4 key already used, 5 unknown or expired key, 1 other errors."})
    static final class SayCommand implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "KEY", description = "The key printed by the previous turn.")
        String key = "";

        @Parameters(index = "1", paramLabel = "MESSAGE", description = "What you say (\"bye\" or \"end\" to finish).")
        String message = "";

        @Mixin
        Main.DataOptions options = new Main.DataOptions();

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            long pid = ProcessHandle.current().pid();
            // a new hub on the same directory: everything the conversation knows comes from the store
            Workspace ws = Workspace.open(options.data, options.devKey, "conversation-" + pid);
            out.println("you: " + message);
            FlowResult r;
            try {
                r = ws.hub.resume(key, new Message(message), ResumeOptions.none()).block(T);
            } catch (AlreadyResumedException e) {
                out.println("refused: this key was already used (" + e.getMessage() + "); use the newest key");
                return ResumeCommand.ALREADY_RESUMED;
            } catch (SuspensionKeyNotFoundException e) { // includes SuspensionExpiredException
                out.println("refused: " + e.getMessage());
                return ResumeCommand.NOT_FOUND;
            } catch (InputValidationException e) {
                out.println("refused: " + e.violations());
                return ResumeCommand.INVALID_INPUT;
            }
            if (r instanceof FlowResult.Suspended s) {
                printTurn(out, s, options);
                return 0;
            }
            if (r instanceof FlowResult.Completed c) {
                Transcript t = c.output(Transcript.class);
                if (t == null) {
                    out.println("error: the conversation completed without a transcript");
                    return 1;
                }
                out.println("conversation " + c.flowId() + " is COMPLETED. Transcript:");
                t.lines().forEach(line -> out.println("  " + line));
                out.println(t.summary());
                return 0;
            }
            out.println("conversation " + r.flowId() + " ended: " + r);
            return 1;
        }
    }

    /** Prints the bot's line (the wait's description), the next key, and the command for the next turn. */
    private static void printTurn(PrintWriter out, FlowResult.Suspended s, Main.DataOptions options) {
        WaitHandle wait = s.waits().get(0);
        out.println("bot: " + wait.description());
        out.println("key: " + s.key());
        out.println("reply with: java -jar samples/target/stasis-samples.jar conversation say " + s.key()
                + " \"your message\" --data " + options.data + (options.devKey ? " --dev-key" : ""));
    }
}
