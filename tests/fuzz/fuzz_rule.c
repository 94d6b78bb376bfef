/* tests/fuzz/fuzz_rule.c: alert rule expressions (core/rule.h rule_parse), then every accessor
 * and formatter of a rule that parsed. */
#include <stdio.h>

#include "core/rule.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    struct rule *r = NULL;
    struct rule_error e;
    char out[2048]; /* a rule is at most 1024 bytes; its canonical text fits */
    if (rule_parse(text, &r, &e) == 0) {
        (void)rule_subject_name(rule_subject(r));
        (void)rule_field_name(rule_field(r));
        (void)rule_op_name(rule_op(r));
        (void)rule_state_name(rule_state(r));
        (void)rule_unit_name(rule_unit(r));
        (void)rule_arg(r);
        (void)rule_field_path(r);
        (void)rule_for_ms(r);
        (void)rule_in_ms(r);
        (void)rule_subject_text(r);
        (void)rule_value_text(r);
        (void)rule_for_text(r);
        (void)rule_in_text(r);
        rule_format(r, out, sizeof out);
        rule_format(r, out, 8); /* truncation */
        if (rule_op(r) != RULE_IS) {
            static const double values[] = {0, 0.5, 70, 1e3, 1e12, -1, 1e300};
            double t = rule_threshold(r);
            (void)rule_compare(r, t);
            for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
                (void)rule_compare(r, values[i]);
                rule_format_value(r, values[i], out, sizeof out);
            }
            rule_format_value(r, t, out, sizeof out);
        }
        /* The canonical text must parse again (it is what `tend alerts` shows and saves). */
        rule_format(r, out, sizeof out);
        struct rule *again = NULL;
        if (rule_parse(out, &again, &e) != 0) {
            fprintf(stderr, "canonical text \"%s\" of \"%s\" does not parse: %s\n", out, text,
                    e.message);
            abort();
        }
        rule_free(again);
    } else if (e.offset > size) {
        fprintf(stderr, "error offset %zu past the text (%zu bytes)\n", e.offset, size);
        abort();
    }
    rule_free(r);
    free(text);
    return 0;
}
