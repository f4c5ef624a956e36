/*
 * test_keys.c - edge key files and the authorized edges file (keys.h): round trips, file mode,
 * refusing to overwrite, corrupt files, and the exact bad line of an authorized file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fl0wer/keys.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
    strcpy(tmpdir, "/tmp/fl0wer-test-keys-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_generate_names(void **state)
{
    struct fl0wer_edge_key k;
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'a', 64);
    n64[64] = '\0';
    assert_int_equal(fl0wer_edge_key_generate(&k, n63), 0);
    assert_string_equal(k.name, n63);
    assert_int_equal(fl0wer_edge_key_generate(&k, "Edge_1.paris-2"), 0);
    assert_int_equal(fl0wer_edge_key_generate(&k, n64), -1);
    assert_int_equal(fl0wer_edge_key_generate(&k, ""), -1);
    assert_int_equal(fl0wer_edge_key_generate(&k, "a b"), -1);
    assert_int_equal(fl0wer_edge_key_generate(&k, "a/b"), -1);
    assert_int_equal(fl0wer_edge_key_generate(&k, "caf\xc3\xa9"), -1);
    assert_int_equal(fl0wer_edge_key_generate(&k, NULL), -1);
    /* Two keys differ, and the pk is the one derived from the sk. */
    struct fl0wer_edge_key k2;
    uint8_t pk[FL0WER_PUBKEY_LEN];
    assert_int_equal(fl0wer_edge_key_generate(&k2, "x"), 0);
    assert_memory_not_equal(k.pk, k2.pk, FL0WER_PUBKEY_LEN);
    crypto_sign_ed25519_sk_to_pk(pk, k2.sk);
    assert_memory_equal(pk, k2.pk, FL0WER_PUBKEY_LEN);
}

static void test_save_load(void **state)
{
    struct fl0wer_edge_key k, l;
    struct stat st;
    char path[128];
    path_of(path, sizeof(path), "edge.key");
    assert_int_equal(fl0wer_edge_key_generate(&k, "paris-1"), 0);
    mode_t old = umask(0); /* the mode must not depend on the caller's umask */
    int rc = fl0wer_edge_key_save(&k, path);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(fl0wer_edge_key_load(&l, path), 0);
    assert_string_equal(l.name, "paris-1");
    assert_memory_equal(l.pk, k.pk, FL0WER_PUBKEY_LEN);
    assert_memory_equal(l.sk, k.sk, FL0WER_SECKEY_LEN);

    /* The file is the documented text. */
    char b64[128], want[256], got[256] = "";
    sodium_bin2base64(b64, sizeof(b64), k.sk, FL0WER_SECKEY_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(want, sizeof(want), "fl0wer-edge-key 1\nname paris-1\nsecret %s\n", b64);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    assert_string_equal(got, want);

    /* Refuses to overwrite, leaving the file as it was. */
    struct fl0wer_edge_key other;
    assert_int_equal(fl0wer_edge_key_generate(&other, "other"), 0);
    assert_int_equal(fl0wer_edge_key_save(&other, path), -EEXIST);
    assert_int_equal(fl0wer_edge_key_load(&l, path), 0);
    assert_memory_equal(l.pk, k.pk, FL0WER_PUBKEY_LEN);

    char missing[160];
    path_of(missing, sizeof(missing), "nope/edge.key");
    assert_int_equal(fl0wer_edge_key_save(&k, missing), -ENOENT);
    assert_int_equal(fl0wer_edge_key_load(&l, missing), -ENOENT);
    unlink(path);
}

/* Writes text to a file and expects fl0wer_edge_key_load() to reject it as malformed. */
static void expect_corrupt(const char *text)
{
    struct fl0wer_edge_key l;
    char path[128];
    path_of(path, sizeof(path), "corrupt.key");
    write_file(path, text);
    int rc = fl0wer_edge_key_load(&l, path);
    if (rc != -EINVAL)
        fail_msg("accepted corrupt key file (rc %d):\n%s", rc, text);
    unlink(path);
}

static void test_corrupt_key_files(void **state)
{
    struct fl0wer_edge_key k;
    char b64[128], text[512];
    uint8_t sk[FL0WER_SECKEY_LEN];
    assert_int_equal(fl0wer_edge_key_generate(&k, "e1"), 0);
    sodium_bin2base64(b64, sizeof(b64), k.sk, FL0WER_SECKEY_LEN,
                      sodium_base64_VARIANT_ORIGINAL);

    /* The good file loads, so the rejections below are about the one defect each. */
    struct fl0wer_edge_key l;
    char path[128];
    path_of(path, sizeof(path), "good.key");
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %s\n", b64);
    write_file(path, text);
    assert_int_equal(fl0wer_edge_key_load(&l, path), 0);
    unlink(path);

    expect_corrupt("");
    expect_corrupt("garbage\n");
    snprintf(text, sizeof(text), "fl0wer-edge-key 2\nname e1\nsecret %s\n", b64);
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nsecret %s\n", b64);
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname bad name\nsecret %s\n", b64);
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %s", b64); /* no \n */
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %s\nextra\n", b64);
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %s \n", b64);
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %.40s\n", b64); /* short */
    expect_corrupt(text);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret !%s\n", b64 + 1);
    expect_corrupt(text);
    /* A secret key whose embedded public half does not match its seed. */
    memcpy(sk, k.sk, sizeof(sk));
    sk[40] ^= 1;
    sodium_bin2base64(b64, sizeof(b64), sk, FL0WER_SECKEY_LEN, sodium_base64_VARIANT_ORIGINAL);
    snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname e1\nsecret %s\n", b64);
    expect_corrupt(text);
}

static void test_authorized_file(void **state)
{
    struct fl0wer_edge_key k[3];
    char lines[3][160], path[128], text[1024];
    struct fl0wer_authorized a;
    int bad = -1;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "edge-%d", i);
        assert_int_equal(fl0wer_edge_key_generate(&k[i], name), 0);
        assert_int_equal(fl0wer_edge_key_authorized_line(&k[i], lines[i], sizeof(lines[i])), 0);
    }
    /* The exact line format. */
    char b64[64], want[160];
    sodium_bin2base64(b64, sizeof(b64), k[0].pk, FL0WER_PUBKEY_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(want, sizeof(want), "ed25519 %s edge-0", b64);
    assert_string_equal(lines[0], want);
    char tiny[20];
    assert_int_not_equal(fl0wer_edge_key_authorized_line(&k[0], tiny, sizeof(tiny)), 0);

    path_of(path, sizeof(path), "authorized_edges");
    snprintf(text, sizeof(text),
             "# fl0wer authorized edges\n\n%s\n   # indented comment\n  %s  \r\n\t\n%s", lines[0],
             lines[1], lines[2]); /* last line without newline */
    write_file(path, text);
    assert_int_equal(fl0wer_authorized_load(&a, path, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(a.count, 3);
    for (int i = 0; i < 3; i++) {
        const struct fl0wer_authorized_edge *e = fl0wer_authorized_find(&a, k[i].pk);
        assert_non_null(e);
        assert_ptr_equal(e, &a.edges[i]);
        assert_string_equal(e->name, k[i].name);
    }
    struct fl0wer_edge_key stranger;
    assert_int_equal(fl0wer_edge_key_generate(&stranger, "stranger"), 0);
    assert_null(fl0wer_authorized_find(&a, stranger.pk));
    fl0wer_authorized_release(&a);
    assert_null(a.edges);
    assert_int_equal(a.count, 0);

    /* An empty (comments only) file is valid and authorizes nobody. */
    write_file(path, "# nobody yet\n");
    assert_int_equal(fl0wer_authorized_load(&a, path, &bad), 0);
    assert_int_equal(a.count, 0);
    assert_null(fl0wer_authorized_find(&a, k[0].pk));
    fl0wer_authorized_release(&a);

    /* Each kind of bad line is reported with its 1-based number; nothing is returned. */
    const char *bad_lines[] = {
        "ssh-ed25519 %.44s edge-x",       /* wrong algorithm */
        "ed25519 %.40s edge-x",           /* truncated key */
        "ed25519 %.44s",                  /* no name */
        "ed25519 %.44s edge-x extra",     /* extra field */
        "ed25519 %.44s bad/name",         /* invalid name */
        "ed25519 %.43s! edge-x",          /* bad base64 */
    };
    char b64line[64];
    sodium_bin2base64(b64line, sizeof(b64line), k[1].pk, FL0WER_PUBKEY_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        char badl[200];
        snprintf(badl, sizeof(badl), bad_lines[i], b64line);
        snprintf(text, sizeof(text), "# header\n%s\n\n%s\n%s\n", lines[0], badl, lines[2]);
        write_file(path, text);
        memset(&a, 0x55, sizeof(a));
        bad = 0;
        assert_int_equal(fl0wer_authorized_load(&a, path, &bad), -EINVAL);
        if (bad != 4)
            fail_msg("bad line case %zu: reported line %d, want 4", i, bad);
    }
    path_of(path, sizeof(path), "missing");
    assert_int_equal(fl0wer_authorized_load(&a, path, &bad), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_names),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_corrupt_key_files),
        cmocka_unit_test(test_authorized_file),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
