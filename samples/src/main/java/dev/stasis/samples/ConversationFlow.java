package dev.stasis.samples;

import dev.stasis.AwaitInput;
import dev.stasis.Flow;
import dev.stasis.FlowContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import reactor.core.publisher.Mono;

/**
 * A chat loop: every user turn is an {@code await}, and the flow routes on the message. "bye" or "end" ends the
 * conversation with a transcript; anything else gets a reply and waits for the next turn.
 *
 * <p>Between two turns nothing of the conversation is in memory: each message resumes the flow (possibly in another
 * process), which replays its journal up to the newest turn and continues from there.
 */
public final class ConversationFlow {

    /**
     * Starts a conversation.
     *
     * @param user the user's name
     */
    public record Start(String user) {}

    /**
     * One user turn: the input of the {@code message} wait.
     *
     * @param text what the user says
     */
    public record Message(String text) {}

    /**
     * The flow's output once the user says goodbye.
     *
     * @param user the user's name
     * @param lines every line of the conversation, bot and user, in order
     * @param summary one line about the conversation
     */
    public record Transcript(String user, List<String> lines, String summary) {}

    /** The await id of every user turn (the n-th turn is {@code message#n} in the journal). */
    public static final String MESSAGE = "message";

    /** The flow definition, "conversation" version 1. */
    public static final Flow<Start, Transcript> FLOW = Flow.define("conversation", 1, Start.class, Transcript.class,
            (ctx, start) -> turn(ctx, start.user(), List.of(),
                    "Hi " + start.user() + "! What's on your mind? (say \"bye\" to end)"));

    private ConversationFlow() {}

    /**
     * One turn: show the bot's prompt, wait for the user, then end or reply and recurse. The recursion is a chain
     * of lazy {@code Mono}s, not a stack of threads: a turn that has no input yet suspends the whole flow.
     */
    private static Mono<Transcript> turn(FlowContext ctx, String user, List<String> lines, String prompt) {
        List<String> shown = append(lines, "bot: " + prompt);
        // The prompt travels as the wait's description: the caller receives it with the new key and shows it.
        return ctx.await(userTurn(prompt)).flatMap(message -> {
            List<String> said = append(shown, user + ": " + message.text());
            if (isGoodbye(message.text())) {
                List<String> all = append(said, "bot: Bye " + user + ", talk soon!");
                long messages = all.stream().filter(l -> l.startsWith(user + ": ")).count();
                return Mono.just(new Transcript(user, all, user + " sent " + messages + " messages; the conversation"
                        + " ended with \"" + message.text().trim() + "\"."));
            }
            int turnNo = (int) said.stream().filter(l -> l.startsWith(user + ": ")).count();
            // A reply is a step: a real bot (an LLM call) is not deterministic, so its answer is journaled and
            // replayed as recorded on every later resume instead of being asked for again.
            return ctx.stepValue("reply", String.class, () -> reply(message.text(), turnNo))
                    .flatMap(reply -> turn(ctx, user, said, reply));
        });
    }

    /**
     * The wait for the user's next message; each turn builds one with the bot's latest prompt as description.
     *
     * @param prompt what the bot says before the user's turn
     * @return the wait
     */
    static AwaitInput<Message> userTurn(String prompt) {
        return AwaitInput.builder(MESSAGE, Message.class)
                .name("Your turn")
                .description(prompt)
                .timeout(Duration.ofDays(7))
                .build();
    }

    /**
     * Whether a message ends the conversation: "bye" or "end", in any case, with optional punctuation.
     *
     * @param text the message
     * @return {@code true} to end
     */
    static boolean isGoodbye(String text) {
        String word = text.trim().toLowerCase(Locale.ROOT).replaceAll("[.!]+$", "");
        return word.equals("bye") || word.equals("end");
    }

    /** A stand-in for a real bot. */
    private static String reply(String text, int turnNo) {
        String trimmed = text.trim();
        if (trimmed.endsWith("?")) {
            return "Good question! I am only a sample bot, so let me ask back: what do you think? (turn " + turnNo
                    + ")";
        }
        return "You said \"" + trimmed + "\". Tell me more, or say bye. (turn " + turnNo + ")";
    }

    private static List<String> append(List<String> lines, String line) {
        List<String> copy = new ArrayList<>(lines);
        copy.add(line);
        return List.copyOf(copy);
    }
}
