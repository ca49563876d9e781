/*
 * listen.c — reading a listen address ("HOST:PORT", "[V6]:PORT") and
 * telling loopback hosts from others (binding elsewhere needs an API key).
 *
 * Owns: nothing; pure functions.
 * Threading: thread-safe.
 */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
parse_port(const char *text, int *port)
{
    char *end;
    long v;

    if (*text < '0' || *text > '9')
        return false;
    v = strtol(text, &end, 10);
    if (*end != '\0' || v < 0 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

bool
dt_cli_parse_listen(const char *text, char *host, unsigned size, int *port, const char **why)
{
    const char *hstart = text, *hend, *colon;

    *why = "expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    if (text[0] == '[') {
        hstart = text + 1;
        hend = strchr(hstart, ']');
        if (!hend || hend[1] != ':')
            return false;
        colon = hend + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return false;
        hend = colon;
        if (memchr(text, ':', (size_t)(colon - text))) {
            *why = "an IPv6 address must be in brackets, e.g. [::1]:8080";
            return false;
        }
    }
    if (hend == hstart || (size_t)(hend - hstart) >= size)
        return false;
    if (!parse_port(colon + 1, port)) {
        *why = "the port must be a number from 0 to 65535 (0 picks a free port)";
        return false;
    }
    memcpy(host, hstart, (size_t)(hend - hstart));
    host[hend - hstart] = '\0';
    return true;
}

bool
dt_cli_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
    return false;
}
