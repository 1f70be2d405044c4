package dev.stasis.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.stasis.InputValidationException.Violation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SchemaFormTest {

    private static final ObjectMapper M = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return M.readTree(text);
    }

    private static final String SCHEMA = """
            {"type":"object","required":["decision","score","ok"],"properties":{
              "decision":{"type":"string","enum":["APPROVE","REJECT",null]},
              "score":{"type":"integer"},
              "weight":{"type":["number","null"],"description":"0 to 1"},
              "ok":{"type":"boolean","title":"Looks good?"},
              "when":{"type":"string","format":"date"},
              "note":{"type":["string","null"]},
              "tags":{"type":"array","items":{"type":"string"}}}}""";

    @Test
    @DisplayName("one field per property, kinds from the schema types, required from 'required'")
    void fields() throws Exception {
        SchemaForm form = SchemaForm.of(json(SCHEMA));

        assertThat(form.fields()).extracting(SchemaForm.Field::name)
                .containsExactly("decision", "score", "weight", "ok", "when", "note", "tags");
        assertThat(form.fields()).extracting(SchemaForm.Field::kind).containsExactly(SchemaForm.Kind.ENUM,
                SchemaForm.Kind.INTEGER, SchemaForm.Kind.NUMBER, SchemaForm.Kind.BOOLEAN, SchemaForm.Kind.DATE,
                SchemaForm.Kind.STRING, SchemaForm.Kind.JSON);
        assertThat(form.fields()).extracting(SchemaForm.Field::required)
                .containsExactly(true, true, false, true, false, false, false);
        assertThat(form.fields().get(0).options()).extracting(JsonNode::asText).containsExactly("APPROVE", "REJECT");
        assertThat(form.fields().get(3).label()).isEqualTo("Looks good?");
        assertThat(form.fields().get(2).help()).isEqualTo("0 to 1");
    }

    @Test
    @DisplayName("submitted strings become typed JSON; empty fields are left out; unparsable values stay strings")
    void toJson() throws Exception {
        SchemaForm form = SchemaForm.of(json(SCHEMA));
        Map<String, List<String>> submitted = Map.of(
                "field.decision", List.of("REJECT"),
                "field.score", List.of("12"),
                "field.weight", List.of("0.25"),
                "field.ok", List.of("false"),
                "field.when", List.of(""),
                "field.note", List.of("a \"quoted\" <note>"),
                "field.tags", List.of("[\"x\",\"y\"]"),
                "field.unknown", List.of("ignored"),
                "_csrf", List.of("t"));

        // compared as text: the number nodes are BigInteger/BigDecimal nodes, the parsed ones int/double
        assertThat(form.toJson(submitted, M).toString()).isEqualTo(json("""
                {"decision":"REJECT","score":12,"weight":0.25,"ok":false,"note":"a \\"quoted\\" <note>",
                 "tags":["x","y"]}""").toString());
        assertThat(form.toJson(Map.of("field.score", List.of("twelve"), "field.ok", List.of("maybe")), M))
                .isEqualTo(json("{\"score\":\"twelve\",\"ok\":\"maybe\"}"));
        assertThat(form.toJson(Map.of("field.weight", List.of("3")), M).get("weight").isIntegralNumber()).isTrue();
    }

    @Test
    @DisplayName("a schema that is not an object with properties gives one whole-value field")
    void wholeValue() throws Exception {
        SchemaForm text = SchemaForm.of(json("{\"type\":\"string\"}"));
        assertThat(text.fields()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(SchemaForm.Kind.STRING);
            assertThat(f.formName()).isEqualTo("value");
        });
        assertThat(text.toJson(Map.of("value", List.of("hello")), M)).isEqualTo(json("\"hello\""));
        assertThat(text.toJson(Map.of(), M).isNull()).isTrue();
        assertThat(SchemaForm.of(null).fields().get(0).kind()).isEqualTo(SchemaForm.Kind.JSON);
    }

    @Test
    @DisplayName("violations are placed next to their field by JSON Pointer or by the missing property's name")
    void errorsByField() throws Exception {
        SchemaForm form = SchemaForm.of(json(SCHEMA));

        Map<String, List<String>> errors = form.errorsByField(List.of(
                new Violation("/score", "string found, integer expected"),
                new Violation("", "$: required property 'decision' not found"),
                new Violation("/tags/0", "integer found, string expected"),
                new Violation("", "something about the whole input")));

        assertThat(errors).containsOnlyKeys("score", "decision", "tags", "");
        assertThat(errors.get("")).containsExactly("something about the whole input");
    }

    @Test
    @DisplayName("rendered inputs escape labels, help, values and options, and mark required fields")
    void render() throws Exception {
        SchemaForm form = SchemaForm.of(json("""
                {"type":"object","required":["a"],"properties":{
                  "a":{"type":"string","title":"<A>","description":"\\"help\\" & more"},
                  "b":{"type":"string","enum":["x<y"]}}}"""));

        String html = form.renderFields("p", Map.of("field.a", "\"><script>", "field.b", "x<y"),
                Map.of("a", List.of("<bad>")));

        assertThat(html).contains("<label for=\"p-a\">&lt;A&gt; <span class=\"req\" title=\"required\">*</span>")
                .contains("value=\"&quot;&gt;&lt;script&gt;\"")
                .contains("<p class=\"help\">&quot;help&quot; &amp; more</p>")
                .contains("<p class=\"error\">&lt;bad&gt;</p>")
                .contains("<option value=\"x&lt;y\" selected>x&lt;y</option>")
                .contains("<div class=\"field invalid\">")
                .doesNotContain("<script>").doesNotContain("<A>");
    }
}
