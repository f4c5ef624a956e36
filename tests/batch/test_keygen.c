/*
 * test_keygen.c - runs the built `fl0wer keygen` binary as a child process and checks what it
 * writes: a 0600 key file that loads, a last stdout line that is a valid authorized-edges line
 * for that key, refusal to overwrite, and clear errors with exit status 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl0wer/keys.h"

static char tmpdir[64];
static char binary[512];

static int setup(void **state)
{
    const char *bdir = getenv("FL0WER_BINARY_DIR");
    snprintf(binary, sizeof(binary), "%s/tools/fl0wer/fl0wer", bdir ? bdir : FL0WER_BINARY_DIR);
    strcpy(tmpdir, "/tmp/fl0wer-test-keygen-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs the CLI with args; captures stdout and stderr (NUL-terminated). Returns exit status. */
static int run(char *const args[], char *out, size_t outlen, char *err, size_t errlen)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(binary, args);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    /* Outputs are small (well under a pipe buffer): read stdout fully, then stderr. */
    size_t n = 0;
    ssize_t r;
    while (n < outlen - 1 && (r = read(po[0], out + n, outlen - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    n = 0;
    while (n < errlen - 1 && (r = read(pe[0], err + n, errlen - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(po[0]);
    close(pe[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Returns the last line of text (without its newline), in place. */
static char *last_line(char *text)
{
    size_t len = strlen(text);
    assert_true(len > 0);
    assert_int_equal(text[len - 1], '\n');
    text[len - 1] = '\0';
    char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}

/* Checks that line is accepted by fl0wer_authorized_load() and names the key in keyfile. */
static void check_authorized(const char *line, const char *keyfile, const char *want_name)
{
    struct fl0wer_edge_key key;
    struct fl0wer_authorized a;
    char authfile[128];
    int bad = -1;
    assert_int_equal(fl0wer_edge_key_load(&key, keyfile), 0);
    assert_string_equal(key.name, want_name);
    snprintf(authfile, sizeof(authfile), "%s/authorized", tmpdir);
    FILE *f = fopen(authfile, "w");
    assert_non_null(f);
    fprintf(f, "# added by the test\n%s\n", line);
    fclose(f);
    assert_int_equal(fl0wer_authorized_load(&a, authfile, &bad), 0);
    assert_int_equal(a.count, 1);
    const struct fl0wer_authorized_edge *e = fl0wer_authorized_find(&a, key.pk);
    assert_non_null(e);
    assert_string_equal(e->name, want_name);
    fl0wer_authorized_release(&a);
    unlink(authfile);
}

static void test_keygen_named(void **state)
{
    char keyfile[128], out[4096], err[4096];
    struct stat st;
    snprintf(keyfile, sizeof(keyfile), "%s/edge.key", tmpdir);
    char *args[] = {binary, "keygen", "--out", keyfile, "--name", "lyon-2", NULL};
    int rc = run(args, out, sizeof(out), err, sizeof(err));
    if (rc != 0)
        fail_msg("keygen exited %d: %s", rc, err);
    assert_int_equal(stat(keyfile, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char *line = last_line(out);
    assert_memory_equal(line, "ed25519 ", 8);
    check_authorized(line, keyfile, "lyon-2");

    /* A second run refuses to overwrite and leaves the key alone. */
    struct fl0wer_edge_key before, after;
    assert_int_equal(fl0wer_edge_key_load(&before, keyfile), 0);
    char *args2[] = {binary, "keygen", "--out", keyfile, "--name", "other", NULL};
    assert_int_equal(run(args2, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "fl0wer keygen: cannot write key file"));
    assert_non_null(strstr(err, "refusing to overwrite"));
    assert_int_equal(fl0wer_edge_key_load(&after, keyfile), 0);
    assert_memory_equal(before.sk, after.sk, FL0WER_SECKEY_LEN);
    unlink(keyfile);
}

static void test_keygen_default_name(void **state)
{
    char keyfile[128], out[4096], err[4096], host[256] = "", want[FL0WER_EDGE_NAME_MAX];
    snprintf(keyfile, sizeof(keyfile), "%s/host.key", tmpdir);
    char *args[] = {binary, "keygen", "--out", keyfile, NULL};
    int rc = run(args, out, sizeof(out), err, sizeof(err));
    if (rc != 0)
        fail_msg("keygen exited %d: %s", rc, err);
    /* The default name is the hostname with characters outside [A-Za-z0-9._-] replaced. */
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    size_t n = 0;
    for (const char *p = host; *p && n < FL0WER_EDGE_NAME_MAX - 1; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        want[n++] = ok ? c : '-';
    }
    want[n] = '\0';
    if (n == 0)
        strcpy(want, "edge");
    char *line = last_line(out);
    check_authorized(line, keyfile, want);
    unlink(keyfile);
}

static void test_keygen_errors(void **state)
{
    char keyfile[128], out[4096], err[4096];
    struct stat st;
    snprintf(keyfile, sizeof(keyfile), "%s/never.key", tmpdir);
    char *bad_name[] = {binary, "keygen", "--out", keyfile, "--name", "no spaces", NULL};
    assert_int_equal(run(bad_name, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "fl0wer keygen: invalid edge name"));
    assert_int_not_equal(stat(keyfile, &st), 0);

    char *no_out[] = {binary, "keygen", NULL};
    assert_int_equal(run(no_out, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "--out FILE is required"));

    char baddir[160];
    snprintf(baddir, sizeof(baddir), "%s/missing/dir.key", tmpdir);
    char *bad_dir[] = {binary, "keygen", "--out", baddir, NULL};
    assert_int_equal(run(bad_dir, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "no such file or directory"));

    char *help[] = {binary, "keygen", "--help", NULL};
    assert_int_equal(run(help, out, sizeof(out), err, sizeof(err)), 0);
    assert_non_null(strstr(out, "usage: fl0wer keygen --out FILE [--name NAME]"));

    char *top[] = {binary, "--help", NULL};
    assert_int_equal(run(top, out, sizeof(out), err, sizeof(err)), 0);
    assert_non_null(strstr(out, "keygen"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_named),
        cmocka_unit_test(test_keygen_default_name),
        cmocka_unit_test(test_keygen_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
