/* Unit tests of base64: RFC 4648's vectors, every byte value through and
 * back, and text that is not base64 refused. */
#include <uv.h>

#include "base64.h"
#include "test.h"

int pr_test_failed;

static void
encode_rfc4648_vectors(void)
{
    static const char *const in[] = {"",     "f",     "fo",    "foo",
                                     "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(in); i++) {
        struct pr_buf b = {0};

        pr_base64_encode(&b, in[i], strlen(in[i]));
        ASSERT_EQ(b.len, strlen(out[i]));
        ASSERT_TRUE(b.len == 0 || memcmp(b.data, out[i], b.len) == 0);
        pr_buf_free(&b);
    }
}

static void
every_byte_comes_back_as_it_went(void)
{
    unsigned char all[256];
    struct pr_buf enc = {0}, dec = {0};
    size_t n;
    int i;

    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (n = 254; n <= 256; n++) {
        enc.len = dec.len = 0;
        pr_base64_encode(&enc, all, n);
        ASSERT_EQ(pr_base64_decode(&dec, enc.data, enc.len), 0);
        ASSERT_EQ(dec.len, n);
        ASSERT_TRUE(memcmp(dec.data, all, n) == 0);
    }
    pr_buf_free(&enc);
    pr_buf_free(&dec);
}

static void
decode_refuses_what_is_not_base64(void)
{
    static const char *const bad[] = {"Zg=", "Z===", "Zg=a",
                                      "Zm9v=A==", "Zm\n9"};
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(bad); i++) {
        struct pr_buf b = {0};

        ASSERT_EQ(pr_base64_decode(&b, bad[i], strlen(bad[i])), UV_EINVAL);
        pr_buf_free(&b);
    }
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(encode_rfc4648_vectors),
        TEST_CASE(every_byte_comes_back_as_it_went),
        TEST_CASE(decode_refuses_what_is_not_base64),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
