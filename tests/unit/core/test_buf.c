/* tests/unit/core/test_buf.c: growable buffers, their ceiling and the NUL invariant. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "unit.h"

TEST(zeroed_is_empty)
{
    struct buf b = {0};
    CHECK_INT(b.len, 0);
    CHECK_INT(buf_puts(&b, "abc"), 0);
    CHECK_STR(b.ptr, "abc");
    CHECK_INT(b.len, 3);
    buf_fini(&b);
    CHECK(b.ptr == NULL && b.len == 0);
    buf_fini(&b); /* twice is harmless */
}

TEST(append_and_grow)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(buf_putc(&b, (char)('a' + i % 26)), 0);
    CHECK_INT(b.len, 1000);
    CHECK(b.cap > b.len);
    CHECK(b.ptr[1000] == '\0');
    CHECK(b.ptr[26] == 'a' && b.ptr[27] == 'b');
    CHECK_INT(buf_append(&b, "\0x", 2), 0); /* binary data is fine */
    CHECK_INT(b.len, 1002);
    CHECK(b.ptr[1001] == 'x');
    buf_fini(&b);
}

TEST(formatted)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(buf_printf(&b, "%s:%d", "api", 2), 0);
    CHECK_INT(buf_printf(&b, " %0300d", 7), 0);
    CHECK_INT(b.len, 5 + 301);
    CHECK(strncmp(b.ptr, "api:2 000", 9) == 0);
    CHECK(b.ptr[b.len - 1] == '7' && b.ptr[b.len] == '\0');
    buf_fini(&b);
}

TEST(ceiling)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(buf_puts(&b, "12345"), 0);
    CHECK_INT(buf_puts(&b, "6789"), -TE_TOOBIG);
    CHECK_STR(b.ptr, "12345"); /* unchanged on failure */
    CHECK_INT(b.len, 5);
    CHECK_INT(buf_printf(&b, "%d", 1234), -TE_TOOBIG);
    CHECK_STR(b.ptr, "12345");
    CHECK_INT(buf_puts(&b, "678"), 0); /* exactly at the ceiling is allowed */
    CHECK_INT(b.len, 8);
    CHECK(b.cap <= 9); /* never allocates much past the ceiling */
    CHECK_INT(buf_putc(&b, 'x'), -TE_TOOBIG);
    buf_fini(&b);
}

TEST(consume_reset_take)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "line one\nline two\n");
    buf_consume(&b, 9);
    CHECK_STR(b.ptr, "line two\n");
    CHECK_INT(b.len, 9);
    buf_consume(&b, 100);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.ptr, "");
    buf_puts(&b, "xyz");
    size_t cap = b.cap;
    buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.cap, cap);
    CHECK_STR(b.ptr, "");
    buf_puts(&b, "kept");
    char *s = buf_take(&b);
    CHECK_STR(s, "kept");
    CHECK(b.ptr == NULL && b.len == 0 && b.cap == 0);
    free(s);
    s = buf_take(&b); /* an empty buffer still yields a string */
    CHECK(s != NULL);
    CHECK_STR(s, "");
    free(s);
}

int main(void)
{
    RUN(zeroed_is_empty);
    RUN(append_and_grow);
    RUN(formatted);
    RUN(ceiling);
    RUN(consume_reset_take);
    return unit_done();
}
