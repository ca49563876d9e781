/*
 * crash_common.c — the crash test's workload model and record-file helpers
 * (see crash.h). Pure functions and stateless I/O helpers; thread-safe.
 */
#include "crash.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CRASH_MOD 1000003LL

long long
crash_mix(long long v)
{
    return (v * 31 + 7) % CRASH_MOD;
}

long long
crash_square(long long v)
{
    return (v * v) % CRASH_MOD;
}

void
crash_expected_output(int k, char *buf, size_t size)
{
    long long v = k, sum = 0;

    for (int i = 0; i < CRASH_SEQ; i++)
        v = crash_mix(v);
    for (int i = 0; i < CRASH_FAN; i++)
        sum += crash_square(v + i);
    snprintf(buf, size, "{\"k\":%d,\"seq\":%lld,\"sum\":%lld}", k, v, sum);
}

void
crash_instance_id(int k, char *buf, size_t size)
{
    snprintf(buf, size, "crash-%06d", k);
}

int
crash_parse_instance_id(const char *id)
{
    char *end;
    long k;

    if (strncmp(id, "crash-", 6) != 0 || strlen(id) != 12)
        return -1;
    errno = 0;
    k = strtol(id + 6, &end, 10);
    if (errno != 0 || *end != '\0' || k < 0 || k > 999999)
        return -1;
    return (int)k;
}

bool
crash_json_integer(const char *text, long long *v)
{
    json_t *j;
    bool ok;

    if (!text)
        return false;
    j = json_loads(text, JSON_DECODE_ANY, NULL);
    ok = json_is_integer(j);
    if (ok)
        *v = json_integer_value(j);
    json_decref(j);
    return ok;
}

int
crash_append_sync(int fd, const char *line, size_t len)
{
    ssize_t n = write(fd, line, len);

    if (n < 0)
        return -1;
    if ((size_t)n != len) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

/* Splits buf[0..len) into lines and calls fn for each complete one. */
static void
split_lines(char *buf, size_t len, void (*fn)(char *line, void *arg), void *arg)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        buf[i] = '\0';
        fn(buf + start, arg);
        start = i + 1;
    }
}

int
crash_for_each_line(const char *path, void (*fn)(char *line, void *arg), void *arg)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (!f)
        return errno == ENOENT ? 0 : -1;
    for (;;) {
        if (cap - len < 4096) {
            char *p = realloc(buf, cap + 65536);
            if (!p)
                goto out_close;
            buf = p;
            cap += 65536;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto out_close;
    split_lines(buf, len, fn, arg);
    rc = 0;
out_close:
    free(buf);
    fclose(f);
    return rc;
}

long long
crash_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
