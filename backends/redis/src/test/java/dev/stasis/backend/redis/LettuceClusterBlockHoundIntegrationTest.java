package dev.stasis.backend.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import reactor.blockhound.integration.BlockHoundIntegration;

class LettuceClusterBlockHoundIntegrationTest {

    @Test
    void isFoundByBlockHoundsServiceLoader() {
        assertThat(ServiceLoader.load(BlockHoundIntegration.class))
                .anySatisfy(i -> assertThat(i).isInstanceOf(LettuceClusterBlockHoundIntegration.class));
    }
}
