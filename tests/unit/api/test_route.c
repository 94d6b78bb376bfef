/* tests/unit/api/test_route.c: route patterns, path parameters, query strings, decoding. */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "unit.h"

static void h1(void *ctx, struct api_req *r)
{
}
static void h2(void *ctx, struct api_req *r)
{
}

static struct api_routes table(void)
{
    struct api_routes t = {0};
    api__routes_add(&t, "GET", "/v1/ping", h1, NULL, true);
    api__routes_add(&t, "GET", "/v1/status", h1, NULL, false);
    api__routes_add(&t, "POST", "/v1/apps/:target/:verb", h2, (void *)1, false);
    api__routes_add(&t, "GET", "/v1/apps/:app", h2, (void *)2, false);
    api__routes_add(&t, "GET", "/v1/apps/:app/env", h2, (void *)3, false);
    api__routes_add(&t, "POST", "/v1/up", h2, (void *)4, false);
    api__routes_add(&t, "GET", "/", h1, (void *)5, false);
    return t;
}

/* Match and return the route's ctx, or NULL; `m` gets the kind of match. */
static const struct api_route_entry *match(struct api_routes *t, const char *method,
                                           const char *path, struct api_params *p,
                                           enum api_match *m, char *allow, int *rc)
{
    const struct api_route_entry *e = NULL;
    *rc = api__routes_match(t, method, path, &e, p, allow, 64, m);
    return e;
}

TEST(literal_and_params)
{
    struct api_routes t = table();
    struct api_params p = {0};
    enum api_match m;
    char allow[64];
    int rc;
    const struct api_route_entry *e = match(&t, "GET", "/v1/ping", &p, &m, allow, &rc);
    CHECK(e && e->fn == h1 && e->is_public);
    CHECK_INT(m, API_MATCH_OK);
    CHECK_INT(p.n, 0);

    e = match(&t, "POST", "/v1/apps/api:2/restart", &p, &m, allow, &rc);
    CHECK(e && e->ctx == (void *)1);
    CHECK_STR(api__params_get(&p, "target"), "api:2");
    CHECK_STR(api__params_get(&p, "verb"), "restart");
    CHECK(api__params_get(&p, "app") == NULL);
    api__params_fini(&p);

    e = match(&t, "GET", "/v1/apps/web/env", &p, &m, allow, &rc);
    CHECK(e && e->ctx == (void *)3);
    CHECK_STR(api__params_get(&p, "app"), "web");
    api__params_fini(&p);

    e = match(&t, "GET", "/", &p, &m, allow, &rc);
    CHECK(e && e->ctx == (void *)5);
    api__routes_fini(&t);
}

TEST(params_are_decoded_after_splitting)
{
    struct api_routes t = table();
    struct api_params p = {0};
    enum api_match m;
    char allow[64];
    int rc;
    const struct api_route_entry *e = match(&t, "GET", "/v1/apps/my%20app%2Fx", &p, &m, allow, &rc);
    CHECK(e && e->ctx == (void *)2);
    CHECK_STR(api__params_get(&p, "app"), "my app/x"); /* %2F is data, not a separator */
    api__params_fini(&p);
    api__routes_fini(&t);
}

TEST(not_found_and_wrong_method)
{
    struct api_routes t = table();
    struct api_params p = {0};
    enum api_match m;
    char allow[64];
    int rc;
    CHECK(match(&t, "GET", "/v1/nothing", &p, &m, allow, &rc) == NULL);
    CHECK_INT(m, API_MATCH_NONE);
    CHECK(match(&t, "GET", "/v1/ping/extra", &p, &m, allow, &rc) == NULL);
    CHECK_INT(m, API_MATCH_NONE);
    CHECK(match(&t, "GET", "/v1/apps//env", &p, &m, allow, &rc) == NULL); /* empty param */
    CHECK_INT(m, API_MATCH_NONE);
    CHECK(match(&t, "GET", "/v1/up", &p, &m, allow, &rc) == NULL);
    CHECK_INT(m, API_MATCH_METHOD);
    CHECK_STR(allow, "POST");
    CHECK(match(&t, "DELETE", "/v1/apps/x", &p, &m, allow, &rc) == NULL);
    CHECK_INT(m, API_MATCH_METHOD);
    CHECK_STR(allow, "GET");
    CHECK_INT(p.n, 0);
    /* Deeper than any route and deeper than the splitter's limit. */
    char deep[200];
    for (int i = 0; i < 40; i++)
        memcpy(deep + 2 * i, "/a", 3);
    CHECK(match(&t, "GET", deep, &p, &m, allow, &rc) == NULL);
    CHECK_INT(rc, 0);
    api__routes_fini(&t);
}

TEST(bad_encoding_in_params)
{
    struct api_routes t = table();
    struct api_params p = {0};
    enum api_match m;
    char allow[64];
    int rc;
    CHECK(match(&t, "GET", "/v1/apps/a%zz", &p, &m, allow, &rc) == NULL);
    CHECK_INT(rc, -TE_PARSE);
    CHECK(match(&t, "GET", "/v1/apps/a%00b", &p, &m, allow, &rc) == NULL);
    CHECK_INT(rc, -TE_PARSE);
    CHECK(match(&t, "GET", "/v1/apps/a%2", &p, &m, allow, &rc) == NULL);
    CHECK_INT(rc, -TE_PARSE);
    CHECK_INT(p.n, 0);
    api__routes_fini(&t);
}

TEST(pct_decode)
{
    char *s = NULL;
    CHECK_INT(api__pct_decode("a%41b", 5, false, &s), 0);
    CHECK_STR(s, "aAb");
    free(s);
    CHECK_INT(api__pct_decode("a+b%2b", 6, true, &s), 0);
    CHECK_STR(s, "a b+");
    free(s);
    CHECK_INT(api__pct_decode("a+b", 3, false, &s), 0);
    CHECK_STR(s, "a+b");
    free(s);
    CHECK_INT(api__pct_decode("%e4%b8%ad", 9, false, &s), 0);
    CHECK_STR(s, "\xe4\xb8\xad");
    free(s);
    CHECK_INT(api__pct_decode("", 0, false, &s), 0);
    CHECK_STR(s, "");
    free(s);
    s = NULL;
    CHECK_INT(api__pct_decode("%", 1, false, &s), -TE_PARSE);
    CHECK_INT(api__pct_decode("%4", 2, false, &s), -TE_PARSE);
    CHECK_INT(api__pct_decode("%g1", 3, false, &s), -TE_PARSE);
    CHECK_INT(api__pct_decode("x%00", 4, false, &s), -TE_PARSE);
    CHECK(s == NULL);
    /* Only `len` bytes are read: the escape is cut short. */
    CHECK_INT(api__pct_decode("%41", 2, false, &s), -TE_PARSE);
}

TEST(query_parse)
{
    struct api_params q = {0};
    const char *qs = "app=web&instance=2&follow&stream=out&msg=a+b%26c&=skip&&last=";
    CHECK_INT(api__query_parse(qs, strlen(qs), &q), 0);
    CHECK_STR(api__params_get(&q, "app"), "web");
    CHECK_STR(api__params_get(&q, "instance"), "2");
    CHECK_STR(api__params_get(&q, "follow"), "");
    CHECK_STR(api__params_get(&q, "msg"), "a b&c");
    CHECK_STR(api__params_get(&q, "last"), "");
    CHECK(api__params_get(&q, "") == NULL);
    CHECK(api__params_get(&q, "nope") == NULL);
    CHECK_INT(q.n, 6);
    api__params_fini(&q);

    /* The first of repeated keys wins; an encoded key is decoded. */
    const char *rep = "a=1&a=2&b%5B%5D=x";
    CHECK_INT(api__query_parse(rep, strlen(rep), &q), 0);
    CHECK_STR(api__params_get(&q, "a"), "1");
    CHECK_STR(api__params_get(&q, "b[]"), "x");
    api__params_fini(&q);

    CHECK_INT(api__query_parse("a=%zz", 5, &q), -TE_PARSE);
    CHECK_INT(q.n, 0);
    CHECK_INT(api__query_parse("a=1&b%=2", 8, &q), -TE_PARSE);
    CHECK_INT(q.n, 0);
    CHECK_INT(api__query_parse("", 0, &q), 0);
    CHECK_INT(q.n, 0);
}

TEST(token_check)
{
    const char *tok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char good[100];
    snprintf(good, sizeof good, "Bearer %s", tok);
    CHECK(api__token_check(tok, good));
    snprintf(good, sizeof good, "bearer  %s ", tok);
    CHECK(api__token_check(tok, good));
    CHECK(!api__token_check(tok, NULL));
    CHECK(!api__token_check(tok, ""));
    CHECK(!api__token_check(tok, "Bearer "));
    CHECK(!api__token_check(tok, tok)); /* no scheme */
    char bad[100];
    snprintf(bad, sizeof bad, "Bearer %s", tok);
    bad[strlen(bad) - 1] = '0';
    CHECK(!api__token_check(tok, bad));
    bad[strlen(bad) - 1] = '\0';
    CHECK(!api__token_check(tok, bad)); /* a prefix of the token */
    snprintf(bad, sizeof bad, "Basic %s", tok);
    CHECK(!api__token_check(tok, bad));
    CHECK(!api__token_check("", "Bearer "));
}

int main(void)
{
    RUN(literal_and_params);
    RUN(params_are_decoded_after_splitting);
    RUN(not_found_and_wrong_method);
    RUN(bad_encoding_in_params);
    RUN(pct_decode);
    RUN(query_parse);
    RUN(token_check);
    return unit_done();
}
