/* tests/unit/watch/test_probe_driver.c: what watch/probe.c guarantees whatever the kind does.
 *
 * Kinds written here on purpose (through probe__new_kind): one that answers at once with what
 * the test says, and one that holds its attempt until the test lets go (reporting late or never,
 * ignoring cancel). Cases: timeout enforced and late answers dropped; no second attempt while
 * a cancelled one is stuck; start-to-start interval and jittered first run; liveness after N
 * failures only past the grace period, and probe_reset; probe_free from inside the callback;
 * a start error reported as the failure; the JSON export. */
#include "probe_test.h"

/* The instant kind: reports `next_status` with `next_msg` from inside start(). */
static enum probe_status next_status = PROBE_OK;
static const char *next_msg = "fine";
static int start_error; /* < 0: start() fails with it */

static int instant_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                        struct err *err)
{
    (void)spec, (void)state, (void)err;
    probe_set_target(p, "instant");
    return 0;
}

static int instant_start(struct probe_run *r, struct err *err)
{
    if (start_error)
        return err_set(err, start_error, "cannot start the instant thing");
    probe_run_metric(r, "answer", 42);
    probe_run_report(r, next_status, "%s", next_msg);
    probe_run_release(r);
    return 0;
}

static void instant_cancel(struct probe_run *r)
{
    (void)r;
    UNIT_FAIL("cancel called on an attempt that had reported");
}

static const struct probe_kind instant = {
    .name = "instant", .init = instant_init, .start = instant_start, .cancel = instant_cancel};

/* The held kind: keeps each run in `held` until the test reports/releases it. */
static struct probe_run *held[8];
static int nheld, ncancels;

static int held_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                     struct err *err)
{
    (void)p, (void)spec, (void)state, (void)err;
    return 0;
}

static int held_start(struct probe_run *r, struct err *err)
{
    (void)err;
    held[nheld++] = r;
    return 0;
}

static void held_cancel(struct probe_run *r)
{
    (void)r;
    ncancels++; /* and ignore it: a misbehaving kind */
}

static const struct probe_kind holding = {
    .name = "held", .init = held_init, .start = held_start, .cancel = held_cancel};

static struct watch_probe *new_probe(const struct probe_kind *k, struct probe_spec *s,
                                     struct rec *r)
{
    struct watch_probe *p = NULL;
    struct err err = {0};
    if (!s->name)
        s->name = "drv";
    uv_update_time(loop);
    if (probe__new_kind(sched, s, k, rec_cb, r, &p, &err) < 0)
        UNIT_FAIL("probe__new_kind: %s", err.msg);
    return p;
}

TEST(timeout_enforced_late_answer_dropped)
{
    struct rec r = {0};
    nheld = ncancels = 0;
    struct probe_spec s = {.kind = PROBE_EXEC, .interval_ms = 400, .timeout_ms = 100};
    struct watch_probe *p = new_probe(&holding, &s, &r);
    uint64_t t0 = uv_now(loop);
    CHECK(RUN_UNTIL(r.n >= 1, 2000));
    CHECK_INT(r.st[0].status, PROBE_FAILING);
    CHECK_MSG(&r.st[0], "no answer from drv within 100 ms (timeout)");
    CHECK(r.at[0] - t0 >= 100 && r.at[0] - t0 < 200);
    CHECK_INT(ncancels, 1);
    probe_run_report(held[0], PROBE_OK, "too late"); /* dropped */
    CHECK_INT(r.n, 1);
    CHECK_INT(probe_state(p)->status, PROBE_FAILING);
    /* Still held: the next start is refused instead of piling up a second attempt. */
    CHECK(RUN_UNTIL(r.n >= 2, 2000));
    CHECK_INT(nheld, 1);
    CHECK_MSG(&r.st[1], "the previous attempt is still stuck");
    probe_run_release(held[0]); /* the kind finally lets go: attempts resume */
    CHECK(RUN_UNTIL(nheld >= 2, 2000));
    probe_run_report(held[1], PROBE_OK, "answered");
    probe_run_release(held[1]);
    CHECK_INT(probe_state(p)->status, PROBE_OK);
    CHECK_STR(probe_state(p)->msg, "answered");
    probe_free(p);
    RUN_UNTIL(false, 10);
    for (int i = 2; i < nheld; i++)
        probe_run_release(held[i]); /* cancelled by probe_free */
}

TEST(interval_and_jitter)
{
    struct rec r = {0};
    next_status = PROBE_OK;
    struct probe_spec s = {.kind = PROBE_HTTP, .interval_ms = 150, .timeout_ms = 100};
    struct watch_probe *p = new_probe(&instant, &s, &r);
    uint64_t t0 = uv_now(loop);
    CHECK(RUN_UNTIL(r.n >= 6, 3000));
    CHECK(r.at[0] - t0 < 30); /* jitter 0 in these tests: at once */
    for (int i = 1; i < 6; i++)
        if (r.at[i] - r.at[i - 1] < 140 || r.at[i] - r.at[i - 1] > 200)
            UNIT_FAIL("gap %d: %llu ms, interval 150", i,
                      (unsigned long long)(r.at[i] - r.at[i - 1]));
    CHECK_INT(r.changes, 1);
    probe_free(p);
    /* With jitter the first runs spread over [0, jitter). */
    struct probe_sched *js;
    struct probe_sched_opts o = {.jitter_ms = 1000};
    struct err err = {0};
    CHECK(probe_sched_new(loop, &o, &js, &err) == 0);
    struct rec jr[8];
    struct watch_probe *jp[8];
    memset(jr, 0, sizeof jr);
    s.interval_ms = 5000;
    uv_update_time(loop);
    t0 = uv_now(loop);
    for (int i = 0; i < 8; i++)
        CHECK(probe__new_kind(js, &s, &instant, rec_cb, &jr[i], &jp[i], &err) == 0);
    uint64_t lo = UINT64_MAX, hi = 0;
    CHECK(RUN_UNTIL(jr[0].n && jr[1].n && jr[2].n && jr[3].n && jr[4].n && jr[5].n && jr[6].n &&
                        jr[7].n,
                    3000));
    for (int i = 0; i < 8; i++) {
        lo = MIN(lo, jr[i].at[0] - t0);
        hi = MAX(hi, jr[i].at[0] - t0);
        probe_free(jp[i]);
    }
    CHECK(hi <= 1050 && hi - lo >= 100); /* 8 draws from [0, 1000): not all at once */
    bool closed = false;
    probe_sched_close(js, sched_closed, &closed);
    CHECK(RUN_UNTIL(closed, 2000));
}

TEST(liveness_after_failures_and_grace)
{
    struct rec r = {0};
    next_status = PROBE_FAILING;
    next_msg = "HTTP 503";
    struct probe_spec s = {
        .kind = PROBE_HTTP, .interval_ms = 100, .timeout_ms = 50, .failures = 3, .grace_ms = 450};
    struct watch_probe *p = new_probe(&instant, &s, &r);
    uint64_t t0 = uv_now(loop);
    CHECK(RUN_UNTIL(r.n >= 4, 2000));
    CHECK(r.st[3].consecutive_failures == 4 && !r.st[3].is_liveness_due); /* within grace */
    CHECK(RUN_UNTIL(probe_state(p)->is_liveness_due, 2000));
    CHECK(uv_now(loop) - t0 >= 450);
    probe_reset(p); /* restarted: counting starts over, grace again */
    CHECK_INT(probe_state(p)->consecutive_failures, 0);
    CHECK(!probe_state(p)->is_liveness_due);
    int n = r.n;
    CHECK(RUN_UNTIL(r.n >= n + 3, 2000));
    CHECK(!probe_state(p)->is_liveness_due);
    next_status = PROBE_OK;
    CHECK(RUN_UNTIL(probe_state(p)->status == PROBE_OK, 2000));
    CHECK_INT(probe_state(p)->consecutive_failures, 0);
    probe_free(p);
    next_msg = "fine";
}

static void free_in_cb(void *arg, struct watch_probe *p, const struct probe_state *st,
                       bool is_change)
{
    (void)st, (void)is_change;
    (*(int *)arg)++;
    probe_free(p);
}

TEST(free_from_callback_and_start_error)
{
    int calls = 0;
    struct watch_probe *p = NULL;
    struct err err = {0};
    struct probe_spec s = {.name = "x", .kind = PROBE_HTTP, .interval_ms = 100, .timeout_ms = 50};
    CHECK(probe__new_kind(sched, &s, &instant, free_in_cb, &calls, &p, &err) == 0);
    RUN_UNTIL(false, 300);
    CHECK_INT(calls, 1);
    struct rec r = {0};
    start_error = -TE_STATE;
    p = new_probe(&instant, &s, &r);
    CHECK(RUN_UNTIL(r.n >= 1, 1000));
    CHECK_INT(r.st[0].status, PROBE_FAILING);
    CHECK_STR(r.st[0].msg, "cannot start the instant thing");
    start_error = 0;
    probe_free(p);
}

TEST(json_export)
{
    struct rec r = {0};
    next_status = PROBE_OK;
    struct probe_spec s = {
        .name = "api", .kind = PROBE_HTTP, .interval_ms = 1000, .timeout_ms = 500};
    struct watch_probe *p = new_probe(&instant, &s, &r);
    json_t *j = probe_to_json(p);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "pending");
    CHECK(json_is_null(json_object_get(j, "since")));
    json_decref(j);
    CHECK(RUN_UNTIL(r.n >= 1, 1000));
    j = probe_to_json(p);
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK_STR(json_string_value(json_object_get(j, "name")), "api");
    CHECK_STR(json_string_value(json_object_get(j, "kind")), "http");
    CHECK_STR(json_string_value(json_object_get(j, "target")), "instant");
    CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
    CHECK_STR(json_string_value(json_object_get(j, "message")), "fine");
    CHECK(json_is_string(json_object_get(j, "since")));
    CHECK_INT(json_integer_value(json_object_get(j, "runs")), 1);
    CHECK_INT(json_integer_value(json_object_get(j, "interval_ms")), 1000);
    CHECK(json_real_value(json_object_get(json_object_get(j, "metrics"), "answer")) == 42);
    fprintf(stderr, "  (%s)\n", text);
    free(text);
    json_decref(j);
    probe_free(p);
    enum probe_kind_id k;
    CHECK(probe_kind_parse("file_age", &k) == 0 && k == PROBE_FILE_AGE);
    CHECK(probe_kind_parse("ftp", &k) == -TE_NOTFOUND);
}

int main(void)
{
    test_init();
    RUN(timeout_enforced_late_answer_dropped);
    RUN(interval_and_jitter);
    RUN(liveness_after_failures_and_grace);
    RUN(free_from_callback_and_start_error);
    RUN(json_export);
    test_fini();
    return unit_done();
}
