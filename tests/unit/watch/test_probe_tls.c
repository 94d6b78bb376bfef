/* tests/unit/watch/test_probe_tls.c: certificate expiry against a real TLS server.
 *
 * The test makes a self-signed certificate valid for 5 days with the `openssl` command and
 * serves it with `openssl s_server -www` on 127.0.0.1 (a port in 32100-32199). The tls probe
 * must read days_left = 5 (within a day), fail under a 14-day threshold with a message naming
 * the date, pass under a 3-day one, and honour servername (SNI) apart from the address. The same
 * server checks the http probe's TLS verification: on by default (a self-signed certificate
 * fails), off with tls_verify: false. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "probe_test.h"

static char dir[64], cert[128], key[128];
static pid_t server;
static int port;

/* Run argv to completion (the test may block), output to /dev/null; its exit code. */
static int run(const char *const *argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int status = -1;
    if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) == 0)
        waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool port_free(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static bool accepting(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static int start_server(void)
{
    snprintf(dir, sizeof dir, "/tmp/tend-probe-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    const char *req[] = {"openssl",
                         "req",
                         "-x509",
                         "-newkey",
                         "ec",
                         "-pkeyopt",
                         "ec_paramgen_curve:prime256v1",
                         "-nodes",
                         "-keyout",
                         key,
                         "-out",
                         cert,
                         "-days",
                         "5",
                         "-subj",
                         "/CN=localhost",
                         "-addext",
                         "subjectAltName=DNS:localhost,IP:127.0.0.1",
                         NULL};
    if (run(req) != 0)
        return -1;
    for (int i = 0; i < 100 && !port; i++) {
        int p = 32100 + (getpid() + i) % 100;
        if (port_free(p))
            port = p;
    }
    char accept[32];
    snprintf(accept, sizeof accept, "127.0.0.1:%d", port);
    const char *argv[] = {"openssl", "s_server", "-accept", accept,   "-cert", cert,
                          "-key",    key,        "-www",    "-quiet", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&server, "openssl", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    for (int i = 0; i < 500; i++) { /* up to 5 s for it to listen */
        if (accepting(port))
            return 0;
        if (waitpid(server, NULL, WNOHANG) == server)
            return -1;
        usleep(10000);
    }
    return -1;
}

static struct probe_spec tls_spec(int days)
{
    struct probe_spec s = {.kind = PROBE_TLS, .interval_ms = 5000, .timeout_ms = 3000};
    s.u.tls.host = "127.0.0.1";
    s.u.tls.port = port;
    s.u.tls.days = days;
    return s;
}

TEST(days_left_of_a_5_day_certificate)
{
    struct probe_state st;
    struct probe_spec s = tls_spec(3);
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        double d = metric(&st, "days_left");
        if (d < 4 || d > 6)
            UNIT_FAIL("days_left %.2f, expected 5 +- 1 (%s)", d, st.msg);
        CHECK_MSG(&st, "the certificate of 127.0.0.1:");
        CHECK_MSG(&st, "expires in 5 days (");
    }
    s = tls_spec(0); /* default: 14 days */
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "expires in 5.0 days (");
        CHECK_MSG(&st, "UTC), fewer than 14");
    }
}

TEST(servername_apart_from_address)
{
    struct probe_state st;
    struct probe_spec s = tls_spec(3);
    s.u.tls.servername = "localhost";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK(metric(&st, "days_left") > 4);
    }
}

TEST(nothing_listening)
{
    struct probe_state st;
    struct probe_spec s = tls_spec(3);
    s.u.tls.port = 1;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "TLS handshake with 127.0.0.1:1 failed: ");
    }
}

TEST(http_verifies_tls_by_default)
{
    struct probe_state st;
    char url[64];
    snprintf(url, sizeof url, "https://localhost:%d/", port);
    struct probe_spec s = {.kind = PROBE_HTTP, .interval_ms = 5000, .timeout_ms = 3000};
    s.u.http.url = url;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "certificate");
    }
    s.u.http.skip_tls_verify = true;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "HTTP 200 from https://localhost:");
    }
}

int main(void)
{
    test_init();
    if (start_server() < 0) {
        fprintf(stderr, "cannot start openssl s_server on 127.0.0.1:%d\n", port);
        peer_stop(server);
        return 1;
    }
    RUN(days_left_of_a_5_day_certificate);
    RUN(servername_apart_from_address);
    RUN(nothing_listening);
    RUN(http_verifies_tls_by_default);
    peer_stop(server);
    unlink(cert);
    unlink(key);
    rmdir(dir);
    test_fini();
    return unit_done();
}
