package dev.stasis.samples;

import dev.stasis.Approval;
import dev.stasis.AwaitInput;
import dev.stasis.AwaitResults;
import dev.stasis.Flow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * Two of three approvers must approve. One suspension hands out three keys ({@code ctx.awaitQuorum(2, ...)}); the
 * flow continues as soon as two of them answered, and the third key stops working.
 *
 * <p>Mind the semantics: a quorum counts <em>answers</em>, not approvals. So the flow looks at the two answers:
 * two approvals approve, two rejections reject, and a split (one each) asks the third approver, with a new wait
 * and a new key, to break the tie.
 */
public final class QuorumFlow {

    /**
     * What is to be approved.
     *
     * @param title a short title
     * @param amountEur the amount
     */
    public record Proposal(String title, int amountEur) {}

    /**
     * The decision.
     *
     * @param title the proposal's title
     * @param approved whether two approvers approved
     * @param approvedBy the approvers who approved (their await ids)
     * @param rejectedBy the approvers who rejected
     */
    public record Decision(String title, boolean approved, List<String> approvedBy, List<String> rejectedBy) {}

    /** The three approvers, one wait each. */
    public static final List<AwaitInput<Approval>> APPROVERS = List.of(
            approver("alice", "Alice (finance)"),
            approver("bob", "Bob (engineering)"),
            approver("carol", "Carol (legal)"));

    /** The flow definition, "quorum-approval" version 1. */
    public static final Flow<Proposal, Decision> FLOW = Flow.define("quorum-approval", 1, Proposal.class,
            Decision.class, (ctx, proposal) -> ctx.awaitQuorum(2, APPROVERS).flatMap(answers -> {
                Decision decision = decide(proposal, answers, null, null);
                if (decision.approvedBy().size() == 2 || decision.rejectedBy().size() == 2) {
                    return Mono.just(decision);
                }
                // one approval, one rejection: the approver who has not answered decides (a new wait, a new key)
                AwaitInput<Approval> third = APPROVERS.stream().filter(w -> answers.get(w).isEmpty())
                        .findFirst().orElseThrow();
                return ctx.await(third).map(tieBreak -> decide(proposal, answers, third, tieBreak));
            }));

    private QuorumFlow() {}

    private static AwaitInput<Approval> approver(String id, String name) {
        return AwaitInput.approval(id)
                .name("Approval by " + name)
                .description("Two of three approvers must approve the proposal")
                .timeout(Duration.ofDays(3))
                .build();
    }

    private static Decision decide(Proposal proposal, AwaitResults answers,
            @Nullable AwaitInput<Approval> tieBreaker, @Nullable Approval tieBreak) {
        List<String> yes = new ArrayList<>();
        List<String> no = new ArrayList<>();
        for (AwaitInput<Approval> w : APPROVERS) {
            Optional<Approval> answer = w == tieBreaker ? Optional.ofNullable(tieBreak) : answers.get(w);
            answer.ifPresent(a -> (a.approved() ? yes : no).add(w.id()));
        }
        return new Decision(proposal.title(), yes.size() >= 2, yes, no);
    }
}
