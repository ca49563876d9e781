/*
 * config.c — locating and reading durata.json (see config.h); the parsing
 * itself is dt_config_parse (workers/jobconfig.c), so it can be unit
 * tested in a library.
 *
 * Threading: main thread.
 */
#include "cli/config.h"

#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the whole file (at most DT_CONFIG_MAX_BYTES) into *text. 0, or an
 * errno value (EFBIG when too large, EISDIR for a directory). */
static int
read_file(const char *path, char **text, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    int err = 0;

    if (!f)
        return errno;
    if (fstat(fileno(f), &st) < 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (st.st_size > DT_CONFIG_MAX_BYTES)
        err = EFBIG;
    else if (!(buf = malloc(DT_CONFIG_MAX_BYTES + 1)))
        err = ENOMEM;
    if (!err) {
        n = fread(buf, 1, DT_CONFIG_MAX_BYTES + 1, f);
        if (ferror(f))
            err = EIO;
        else if (n > DT_CONFIG_MAX_BYTES)
            err = EFBIG;
    }
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int
dt_cli_config_load(struct dt_config *cfg, const char *path)
{
    const char *env = getenv("DURATA_CONFIG");
    char *text = NULL, err[600];
    size_t len = 0;
    int rc;

    if (!path && env && *env)
        path = env;
    if (!path) {
        if (access(DT_CLI_CONFIG_DEFAULT, F_OK) != 0)
            return DT_EXIT_OK; /* no configuration file: defaults */
        path = DT_CLI_CONFIG_DEFAULT;
    }
    rc = read_file(path, &text, &len);
    if (rc == EFBIG) {
        fprintf(stderr, "durata serve: %s: the configuration file is larger than %d bytes\n", path,
                DT_CONFIG_MAX_BYTES);
        return DT_EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "durata serve: cannot read the configuration file %s: %s\n", path,
                strerror(rc));
        return rc == ENOMEM ? DT_EXIT_FAIL : DT_EXIT_USAGE;
    }
    rc = dt_config_parse(cfg, text, len, path, err, sizeof(err));
    free(text);
    if (rc < 0) {
        fprintf(stderr, "durata serve: %s\n", err);
        return rc == DURATA_ENOMEM ? DT_EXIT_FAIL : DT_EXIT_USAGE;
    }
    return DT_EXIT_OK;
}
