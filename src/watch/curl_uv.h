/* watch/curl_uv.h: one libcurl multi handle driven by a libuv loop, shared by every transfer on
 * that loop (HTTP and TLS probes today; webhooks and readiness can use the same one).
 *
 * The standard integration (curl's docs/examples/multi-uv.c): curl names the sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and when to call it back
 * (CURLMOPT_TIMERFUNCTION -> one uv_timer_t); the loop drives it with curl_multi_socket_action().
 * A caller prepares an easy handle with the table from curl_uv_api() and adds it; its callback
 * runs once, from the loop, when the transfer ends. Nothing here blocks (DNS included: libcurl's
 * threaded resolver). */
#ifndef TEND_WATCH_CURL_UV_H
#define TEND_WATCH_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

struct curlx;
struct err;
struct curl_uv;

/* The transfer `easy` ended with `result` (CURLE_OK or why not). The easy handle is already
 * removed from the multi and is the caller's again (to read info from, then clean up). */
typedef void curl_uv_done_fn(void *arg, CURL *easy, CURLcode result);

/* Load libcurl (core/curlx.h) and make the multi handle on `loop`. 0 with *out, or < 0 with err
 * ("cannot load libcurl.so.4: ..." and a hint). */
int curl_uv_new(uv_loop_t *loop, struct curl_uv **out, struct err *err);
/* The libcurl function table (borrowed, valid for the life of the process). */
const struct curlx *curl_uv_api(const struct curl_uv *cu);
/* Start the transfer `easy` (borrowed: the caller keeps it and cleans it up after done or
 * remove). 0, then done(arg, ...) is called exactly once later unless curl_uv_remove() comes
 * first; or < 0 and done is never called. CURLOPT_PRIVATE belongs to curl_uv. */
int curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_fn *done, void *arg);
/* Abandon a transfer that has not ended: its done callback is never called. Safe to call from
 * any done callback. A handle that already ended (or was never added) is ignored. */
void curl_uv_remove(struct curl_uv *cu, CURL *easy);
/* Every transfer must have ended or been removed. Closes the handles and calls closed(arg)
 * from the loop once they are closed, then frees cu. */
void curl_uv_close(struct curl_uv *cu, void (*closed)(void *arg), void *arg);

#endif
