/* cli/verbs_daemon.c: the daemon itself: ping, version, kill, save, resurrect.
 *
 * `ping` starts the daemon when it is not running (as PM2's does), so `tend ping` is also the
 * way to start it by hand. `version` and `kill` never start it: asking a version must not spawn
 * a process, and starting a daemon only to stop it would be absurd. `kill` returns once the
 * socket stops answering (polled with a deadline), so a script may start a fresh daemon next. */
#include "cli/cli_int.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "version.h"

#define KILL_DEADLINE_MS 60000
#define KILL_POLL_MS 50

int cli__verb_ping(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    if (cli__call(cli, "GET", "/v1/ping", NULL, &ans, &err) < 0) {
        json_decref(ans);
        return cli__fail(&err, "reach the daemon");
    }
    if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
    } else {
        char up[32];
        const char *v = json_string_value(json_object_get(ans, "version"));
        double ms = json_number_value(json_object_get(ans, "uptime_ms"));
        cli__human_duration(up, sizeof up, ms > 0 ? (uint64_t)ms : 0);
        printf("pong: daemon %s, pid %lld, up %s, home %s\n", v ? v : "?",
               (long long)json_integer_value(json_object_get(ans, "pid")), up,
               cli->home[0] ? cli->home : "?");
    }
    json_decref(ans);
    return 0;
}

int cli__verb_version(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    cli->autostart = false;
    bool up = cli__call(cli, "GET", "/v1/ping", NULL, &ans, &err) == 0;
    const char *dv = up ? json_string_value(json_object_get(ans, "version")) : NULL;
    json_int_t pid = up ? json_integer_value(json_object_get(ans, "pid")) : 0;
    if (cli__flag(&a, "json")) {
        json_t *o = json_pack("{s:s, s:i}", "version", TEND_VERSION, "api", TEND_API_VERSION);
        if (up)
            json_object_set_new(o, "daemon", json_incref(ans));
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("tend %s\n", TEND_VERSION);
        if (up)
            printf("daemon %s (pid %lld)\n", dv ? dv : "?", (long long)pid);
        if (up && dv && strcmp(dv, TEND_VERSION) != 0)
            fprintf(stderr, "tend: the daemon runs another version\n"
                            "  hint: run tend kill, then tend resurrect, to run this one\n");
    }
    json_decref(ans);
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int cli__verb_kill(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    cli->autostart = false;
    rc = cli__call(cli, "POST", "/v1/kill", NULL, &ans, &err);
    /* The doors close first, the apps stop after (each within its kill_timeout): "stopped" is
     * true only once the daemon process itself is gone. */
    pid_t pid = (pid_t)json_integer_value(json_object_get(ans, "pid"));
    json_decref(ans);
    if (rc == -ECONNREFUSED) {
        printf("the daemon is not running\n");
        return 0;
    }
    if (rc < 0)
        return cli__fail(&err, "stop the daemon");
    uint64_t deadline = clock_mono_ms() + KILL_DEADLINE_MS;
    while (pid > 0 ? kill(pid, 0) == 0 || errno == EPERM : cli__daemon_answers(cli)) {
        if (clock_mono_ms() >= deadline) {
            err_set(&err, -TE_TIMEOUT, "it is still running after %ds (apps may still be stopping)",
                    KILL_DEADLINE_MS / 1000);
            err_hint(&err, "wait for their kill_timeout, then see tend status and %s/tend.log",
                     cli->home);
            return cli__fail(&err, "stop the daemon");
        }
        sleep_ms(KILL_POLL_MS);
    }
    printf("stopped the daemon and its apps\n");
    return 0;
}

int cli__verb_save(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"force", 0, false}, {"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    json_t *body = json_pack("{s:b}", "force", cli__flag(&a, "force"));
    rc = cli__call(cli, "POST", "/v1/save", body, &ans, &err);
    json_decref(body);
    if (rc < 0) {
        rc = cli__fail(&err, "save the running apps");
    } else if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
    } else {
        json_int_t n = json_integer_value(json_object_get(ans, "saved"));
        const char *path = json_string_value(json_object_get(ans, "path"));
        printf("saved %lld app%s to %s\n", (long long)n, n == 1 ? "" : "s", path ? path : "?");
    }
    json_decref(ans);
    return rc;
}

int cli__verb_resurrect(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    rc = cli__call(cli, "POST", "/v1/resurrect", NULL, &ans, &err);
    if (rc < 0)
        rc = cli__fail(&err, "resurrect the saved apps");
    else if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        rc = cli__print_plan(cli, ans, false, NULL, NULL);
    json_decref(ans);
    return rc;
}
