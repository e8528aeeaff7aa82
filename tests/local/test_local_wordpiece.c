/* cw_wordpiece against the installed all-MiniLM-L6-v2 tokenizer.json:
 * exact token ids for the BERT uncased edge cases (ids from the model's
 * vocabulary; the same texts are also checked end to end against the
 * reference implementation in test_local_embed). */
#include <stdint.h>

#include "local_test.h"
#include "wordpiece.h"

#define CLS 101
#define SEP 102
#define UNK 100

static cw_wordpiece *wp_open(void)
{
    const char *path = lt_model_file("tokenizer.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    cw_error err;
    cw_error_clear(&err);
    cw_wordpiece *wp = cw_wordpiece_create(path, &err);
    if (wp == NULL)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wp);
    return wp;
}

/* Tokenize `text` (len bytes) with room for `max` ids; compare with want. */
static void expect_ids_n(const char *text, size_t len, size_t max, const int32_t *want,
                         size_t nwant)
{
    cw_wordpiece *wp = wp_open();
    int32_t ids[512];
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_FATAL(max <= 512);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, len, ids, max, &n, &err), 0);
    CU_ASSERT_EQUAL(n, nwant);
    int same = n == nwant && memcmp(ids, want, n * sizeof ids[0]) == 0;
    if (!same) {
        fprintf(stderr, "\ntext %.60s: got", text);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    CU_ASSERT_TRUE(same);
    cw_wordpiece_destroy(wp);
}

#define EXPECT(text, ...)                                                                \
    do {                                                                                 \
        static const int32_t want_[] = { __VA_ARGS__ };                                  \
        expect_ids_n((text), strlen(text), 256, want_, sizeof want_ / sizeof want_[0]); \
    } while (0)

static void test_empty_text(void)
{
    EXPECT("", CLS, SEP);
    EXPECT("   \t\n  ", CLS, SEP);
}

static void test_special_ids(void)
{
    cw_wordpiece *wp = wp_open();
    CU_ASSERT_EQUAL(cw_wordpiece_id(wp, "[CLS]"), CLS);
    CU_ASSERT_EQUAL(cw_wordpiece_id(wp, "[SEP]"), SEP);
    CU_ASSERT_EQUAL(cw_wordpiece_id(wp, "[UNK]"), UNK);
    CU_ASSERT_EQUAL(cw_wordpiece_id(wp, "[PAD]"), 0);
    CU_ASSERT_EQUAL(cw_wordpiece_id(wp, "no-such-token"), -1);
    CU_ASSERT_EQUAL(cw_wordpiece_vocab_size(wp), 30522);
    CU_ASSERT_EQUAL(cw_wordpiece_id_limit(wp), 30522);
    cw_wordpiece_destroy(wp);
}

static void test_only_punctuation(void)
{
    /* Each punctuation character is its own word. */
    EXPECT("!?...", CLS, 999, 1029, 1012, 1012, 1012, SEP);
    EXPECT("a/-b", CLS, 1037, 1013, 1011, 1038, SEP);
}

static void test_subwords(void)
{
    /* Greedy longest match with ## continuations; uppercase folded. */
    EXPECT("Kubernetes", CLS, 13970, 5677, 7159, 2229, SEP);
    EXPECT("StatefulSet postgres", CLS, 2110, 3993, 13462, 2695, 17603, 2015, SEP);
    EXPECT("apps/v1", CLS, 18726, 1013, 1058, 2487, SEP);
    EXPECT("HELLO World", CLS, 7592, 2088, SEP);
}

static void test_accents(void)
{
    /* Accents stripped before lookup: café → cafe, naïve → naive,
     * Zürich → zurich, Ångström → ang ##strom. */
    EXPECT("Café", CLS, 7668, SEP);
    EXPECT("naïve Zürich", CLS, 15743, 10204, SEP);
    EXPECT("Ångström", CLS, 17076, 15687, SEP);
    /* Decomposed input: e + U+0301 combining acute. */
    EXPECT("cafe\xcc\x81", CLS, 7668, SEP);
}

static void test_cjk(void)
{
    /* Ideographs are split one per word; 数据库 are not in this vocabulary
     * so each becomes its own [UNK], 中国人 are. */
    EXPECT("中国人", CLS, 1746, 1799, 1756, SEP);
    EXPECT("数据库", CLS, UNK, UNK, UNK, SEP);
    EXPECT("a中b", CLS, 1037, 1746, 1038, SEP);
}

static void test_hangul_and_kana(void)
{
    /* 한 decomposes (NFD) into jamo ᄒ ##ᅡ ##ᆫ; が loses its dakuten → か. */
    EXPECT("한", CLS, 1469, 30006, 30021, SEP);
    EXPECT("が", CLS, 1651, SEP);
}

static void test_long_word_unk(void)
{
    /* max_input_chars_per_word = 100: 100 chars are split, 101 are [UNK]. */
    char word[128];
    memset(word, 'a', 101);
    word[101] = '\0';
    EXPECT(word, CLS, UNK, SEP);
    word[100] = '\0';
    cw_wordpiece *wp = wp_open();
    int32_t ids[256];
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, word, 100, ids, 256, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 52);   /* aaa + 48 x ##aa + ##a */
    CU_ASSERT_EQUAL(ids[1], 13360);
    CU_ASSERT_EQUAL(ids[2], 11057);
    CU_ASSERT_EQUAL(ids[49], 11057);
    CU_ASSERT_EQUAL(ids[50], 2050);
    CU_ASSERT_EQUAL(ids[51], SEP);
    cw_wordpiece_destroy(wp);
}

static void test_uncoverable_word_unk(void)
{
    /* A word with a piece missing from the vocabulary is one [UNK] as a
     * whole (not partial pieces); the next word is unaffected. */
    EXPECT("x\xf0\x9f\x9a\x80 hello", CLS, UNK, 7592, SEP);
}

static void test_clean_text(void)
{
    /* NUL, controls, soft hyphen and zero-width space are dropped (joining
     * the words); NBSP and ideographic space separate words. */
    static const char text[] = "hello\0world";
    static const int32_t want[] = { CLS, 7592, 11108, SEP };
    expect_ids_n(text, sizeof text - 1, 256, want, 4);
    EXPECT("hello\x07world", CLS, 7592, 11108, SEP);
    EXPECT("hello\xc2\xadworld", CLS, 7592, 11108, SEP);
    EXPECT("a\xc2\xa0" "b\xe3\x80\x80" "c", CLS, 1037, 1038, 1039, SEP);
    /* Invalid UTF-8 bytes are dropped like U+FFFD. */
    EXPECT("hello\xff\xfeworld", CLS, 7592, 11108, SEP);
}

static void test_truncation(void)
{
    /* 300 words: [CLS] + 254 pieces + [SEP] = 256. */
    char text[700];
    size_t len = 0;
    for (int i = 0; i < 300; i++) {
        text[len++] = 'a';
        text[len++] = ' ';
    }
    text[len] = '\0';
    cw_wordpiece *wp = wp_open();
    int32_t ids[512];
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, len, ids, 256, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 256);
    CU_ASSERT_EQUAL(ids[0], CLS);
    CU_ASSERT_EQUAL(ids[1], 1037);
    CU_ASSERT_EQUAL(ids[254], 1037);
    CU_ASSERT_EQUAL(ids[255], SEP);
    /* A tiny limit keeps only [CLS] [SEP]; a limit below 2 is an error. */
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, len, ids, 2, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(ids[1], SEP);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, len, ids, 1, &n, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "wordpiece: max_tokens 1 < 2");
    cw_wordpiece_destroy(wp);
}

static void test_huge_input(void)
{
    /* 4 MiB of words stops at 256 ids; a 1 MiB word is one [UNK]. */
    size_t len = 4u << 20;
    char *text = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t i = 0; i < len; i += 2) {
        text[i] = 'a';
        text[i + 1] = ' ';
    }
    text[len] = '\0';
    cw_wordpiece *wp = wp_open();
    int32_t ids[256];
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, len, ids, 256, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 256);
    CU_ASSERT_EQUAL(ids[255], SEP);
    memset(text, 'b', 1u << 20);
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, text, 1u << 20, ids, 256, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(ids[1], UNK);
    cw_wordpiece_destroy(wp);
    free(text);
}

static void test_create_errors(void)
{
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_wordpiece_create("no-such-dir/tokenizer.json", &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_EQUAL(strncmp(err.msg, "no-such-dir/tokenizer.json: cannot read tokenizer JSON",
                            strlen("no-such-dir/tokenizer.json: cannot read tokenizer JSON")),
                    0);

    static const char bpe[] = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("wp_bpe.json", bpe, sizeof bpe - 1), 0);
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_wordpiece_create("wp_bpe.json", &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "wp_bpe.json: not a WordPiece tokenizer");

    static const char nounk[] =
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[CLS]\": 1}}}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("wp_nounk.json", nounk, sizeof nounk - 1), 0);
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_wordpiece_create("wp_nounk.json", &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "wp_nounk.json: token '[UNK]' is not in the vocabulary");

    static const char badid[] =
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("wp_badid.json", badid, sizeof badid - 1), 0);
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_wordpiece_create("wp_badid.json", &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "wp_badid.json: vocab entry 'a' has no integer id");

    static const char badmax[] =
        "{\"model\": {\"type\": \"WordPiece\", \"max_input_chars_per_word\": -1,"
        " \"vocab\": {\"[UNK]\": 0}}}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("wp_badmax.json", badmax, sizeof badmax - 1), 0);
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_wordpiece_create("wp_badmax.json", &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "wp_badmax.json: bad model.max_input_chars_per_word");
    cw_wordpiece_destroy(NULL);
}

static void test_tiny_vocab_flags(void)
{
    /* A hand-made tokenizer.json: cased (lowercase false), custom specials. */
    static const char json[] =
        "{\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": false},"
        " \"post_processor\": {\"special_tokens\": {\"[CLS]\": {\"id\": \"<s>\"},"
        "                                          \"[SEP]\": {\"id\": \"</s>\"}}},"
        " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"?\","
        "            \"continuing_subword_prefix\": \"@@\", \"max_input_chars_per_word\": 4,"
        "            \"vocab\": {\"?\": 0, \"<s>\": 1, \"</s>\": 2, \"Ab\": 3,"
        "                      \"@@c\": 4, \"ab\": 5}}}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("wp_tiny.json", json, sizeof json - 1), 0);
    cw_error err;
    cw_error_clear(&err);
    cw_wordpiece *wp = cw_wordpiece_create("wp_tiny.json", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wp);
    int32_t ids[16];
    size_t n = 0;
    CU_ASSERT_EQUAL(cw_wordpiece_encode(wp, "Abc ab abcde", 12, ids, 16, &n, &err), 0);
    static const int32_t want[] = { 1, 3, 4, 5, 0, 2 };
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_EQUAL(memcmp(ids, want, sizeof want), 0);
    cw_wordpiece_destroy(wp);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "empty text is [CLS] [SEP]", test_empty_text },
        { "special token ids", test_special_ids },
        { "only punctuation", test_only_punctuation },
        { "subwords and case folding", test_subwords },
        { "accents are stripped", test_accents },
        { "CJK ideographs split", test_cjk },
        { "Hangul and kana decomposition", test_hangul_and_kana },
        { "over-long word is [UNK]", test_long_word_unk },
        { "uncoverable word is one [UNK]", test_uncoverable_word_unk },
        { "clean text", test_clean_text },
        { "truncation to max tokens", test_truncation },
        { "huge input stops at the limit", test_huge_input },
        { "create errors", test_create_errors },
        { "tokenizer.json flags honoured", test_tiny_vocab_flags },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("local_wordpiece", tests);
}
