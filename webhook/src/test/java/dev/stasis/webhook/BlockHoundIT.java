package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/** Proves that the web tests would notice a blocking call on a netty event loop (BlockHound is installed). */
class BlockHoundIT {

    @Test
    @DisplayName("a handler that sleeps on the event loop fails instead of answering")
    void blockingIsCaught() {
        Fixture f = new Fixture();
        DisposableServer server = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> {
                    f.routes().build().accept(routes);
                    routes.get("/sleepy", (req, res) -> Mono.fromCallable(() -> {
                        Thread.sleep(Duration.ofMillis(5).toMillis());
                        return "slept";
                    }).flatMap(s -> res.sendString(Mono.just(s)).then()));
                })
                .bindNow();
        try {
            Fixture.Http http = new Fixture.Http(server);
            assertThat(http.get("/sleepy", Map.of()).status()).isEqualTo(500);
            assertThat(http.postJson("/resume/sk1_x", "{}").status()).isEqualTo(404);
        } finally {
            server.disposeNow();
        }
    }
}
