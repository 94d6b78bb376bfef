/* alert/notify_cfg.c: notifiers from a config snapshot's `notifiers:` (config/config_watch.h).
 *
 * The config module parses and checks tend.yaml; this file only maps each struct cfg_notifier
 * onto a struct notify_spec (kinds matched by their tend.yaml word, so neither enum depends on
 * the other's order) and hands the lot to notify_set_configure(). Keys tend.yaml does not have
 * (timeout, queue_max, ca_file) keep notify_spec_init()'s defaults. */
#include <stdlib.h>

#include "alert/notify.h"
#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

int notify_set_configure_cfg(struct notify_set *set, const struct cfg_watch *w, struct err *err)
{
    size_t n = w ? w->nnotifiers : 0;
    struct notify_spec *specs = xcalloc(n + 1, sizeof *specs);
    struct notify_label **headers = xcalloc(n + 1, sizeof *headers);
    size_t *nto = xcalloc(n + 1, sizeof *nto);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct cfg_notifier *c = w->notifiers[i];
        struct notify_spec *s = &specs[i];
        notify_spec_init(s);
        s->name = c->name;
        if (notify_kind_parse(cfg_notifier_kind_name(c->kind), &s->kind) < 0) {
            rc = err_set(err, -TE_CONFIG, "notifier \"%s\": unknown kind", c->name);
            break;
        }
        s->group_wait_ms = c->group_wait_ms;
        s->retry.max = c->retry_max < 0 ? 0 : (unsigned)c->retry_max;
        s->retry.backoff_ms = c->retry_backoff_ms;
        s->retry.max_backoff_ms = c->retry_max_backoff_ms;
        s->send_resolved = c->send_resolved;
        switch (s->kind) {
        case NOTIFY_EMAIL:
            s->email.smtp = c->u.email.smtp;
            s->email.starttls = c->u.email.starttls;
            s->email.username = c->u.email.username;
            s->email.password = c->u.email.password;
            s->email.from = c->u.email.from;
            s->email.to = (const char *const *)c->u.email.to;
            while (c->u.email.to && c->u.email.to[nto[i]])
                nto[i]++;
            s->email.nto = nto[i];
            break;
        case NOTIFY_EXEC:
            s->cmd = c->u.exec.cmd;
            s->argv = (const char *const *)c->u.exec.argv;
            break;
        default:
            s->url = c->u.hook.url;
            s->secret = c->u.hook.secret;
            s->format = c->u.hook.format == CFG_WEBHOOK_ALERTMANAGER ? NOTIFY_FORMAT_ALERTMANAGER
                                                                     : NOTIFY_FORMAT_TEND;
            headers[i] = xcalloc(c->u.hook.nheaders + 1, sizeof *headers[i]);
            for (size_t h = 0; h < c->u.hook.nheaders; h++)
                headers[i][h] =
                    (struct notify_label){c->u.hook.headers[h].key, c->u.hook.headers[h].value};
            s->headers = headers[i];
            s->nheaders = c->u.hook.nheaders;
            break;
        }
    }
    if (rc == 0)
        rc = notify_set_configure(set, specs, n, err);
    for (size_t i = 0; i < n; i++)
        free(headers[i]);
    free(headers);
    free(nto);
    free(specs);
    return rc;
}
