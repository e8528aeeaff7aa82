/* cw_log: the exact text and JSON records (after the timestamp, whose
 * shape is checked byte by byte), the level filter, control characters
 * escaped, structured fields, and the 4 KiB cut — all through the sink. */
#include <ctype.h>
#include <string.h>

#include "cw_log.h"
#include "cw_test.h"

/* The records the sink got, one after the other. */
static char got[16384];
static size_t got_len;
static int records;

static void sink(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    records++;
    if (got_len + len < sizeof got) {
        memcpy(got + got_len, line, len);
        got_len += len;
        got[got_len] = '\0';
    }
}

static void reset(cw_log_level min, cw_log_format format)
{
    cw_log_configure(min, format);
    cw_log_set_sink(sink, NULL);
    got_len = 0;
    got[0] = '\0';
    records = 0;
}

/* "2026-11-27T17:00:00.123Z": digits where digits go, the separators. */
static int is_timestamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    }
    return 1;
}

#define TS_LEN 24   /* strlen("2026-11-27T17:00:00.123Z") */

/* The text record without its timestamp and the space after it. */
static const char *text_rest(const char *rec)
{
    CU_ASSERT_FATAL(is_timestamp(rec));
    CU_ASSERT_EQUAL_FATAL(rec[TS_LEN], ' ');
    return rec + TS_LEN + 1;
}

/* A JSON record as `{"time":"<ts>",` + the rest; returns the rest. */
static const char *json_rest(const char *rec)
{
    static const char head[] = "{\"time\":\"";
    CU_ASSERT_EQUAL_FATAL(strncmp(rec, head, sizeof head - 1), 0);
    rec += sizeof head - 1;
    CU_ASSERT_FATAL(is_timestamp(rec));
    CU_ASSERT_EQUAL_FATAL(strncmp(rec + TS_LEN, "\",", 2), 0);
    return rec + TS_LEN + 2;
}

static void test_text(void)
{
    reset(CW_LOG_INFO, CW_LOG_TEXT);
    cw_log_info("listening on %s:%d", "0.0.0.0", 8080);
    CU_ASSERT_EQUAL(records, 1);
    CU_ASSERT_STRING_EQUAL(text_rest(got), "info  listening on 0.0.0.0:8080\n");

    reset(CW_LOG_DEBUG, CW_LOG_TEXT);
    cw_log_debug("d");
    CU_ASSERT_STRING_EQUAL(text_rest(got), "debug d\n");
    reset(CW_LOG_DEBUG, CW_LOG_TEXT);
    cw_log_warn("w");
    CU_ASSERT_STRING_EQUAL(text_rest(got), "warn  w\n");
    reset(CW_LOG_DEBUG, CW_LOG_TEXT);
    cw_log_error("e");
    CU_ASSERT_STRING_EQUAL(text_rest(got), "error e\n");
    CU_ASSERT_EQUAL(cw_log_get_format(), CW_LOG_TEXT);
}

static void test_level_filter(void)
{
    reset(CW_LOG_WARN, CW_LOG_TEXT);
    cw_log_debug("no");
    cw_log_info("no");
    static const cw_log_field f[] = { CW_LOG_INT("n", 1) };
    cw_log_fields(CW_LOG_INFO, "no", "no", f, 1);
    CU_ASSERT_EQUAL(records, 0);
    cw_log_warn("yes");
    cw_log_error("yes too");
    CU_ASSERT_EQUAL(records, 2);
    const char *second = strchr(got, '\n') + 1;
    CU_ASSERT_STRING_EQUAL(text_rest(second), "error yes too\n");
}

static void test_escaping(void)
{
    reset(CW_LOG_INFO, CW_LOG_TEXT);
    cw_log_info("a\nb\tc\x7f \"q\" \\");
    CU_ASSERT_STRING_EQUAL(text_rest(got), "info  a\\x0ab\\x09c\\x7f \"q\" \\\n");

    reset(CW_LOG_INFO, CW_LOG_JSON);
    cw_log_info("a\nb \"q\" \\");
    CU_ASSERT_EQUAL(cw_log_get_format(), CW_LOG_JSON);
    CU_ASSERT_STRING_EQUAL(json_rest(got),
                           "\"level\":\"info\",\"msg\":\"a\\u000ab \\\"q\\\" \\\\\"}\n");
}

static void test_fields(void)
{
    const cw_log_field f[] = {
        CW_LOG_STR("path", "/v1/sync"),
        CW_LOG_STR("absent", NULL),            /* left out */
        CW_LOG_INT("status", 200),
        CW_LOG_NUM("ms", 12.34),
        CW_LOG_STR("agent", "say \"hi\"\n"),
    };

    reset(CW_LOG_INFO, CW_LOG_JSON);
    cw_log_fields(CW_LOG_WARN, "POST /v1/sync 200", "request", f, 5);
    CU_ASSERT_EQUAL(records, 1);
    CU_ASSERT_STRING_EQUAL(json_rest(got),
                           "\"level\":\"warn\",\"msg\":\"request\",\"path\":\"/v1/sync\","
                           "\"status\":200,\"ms\":12.3,\"agent\":\"say \\\"hi\\\"\\u000a\"}\n");

    /* Text: the `text` line only. */
    reset(CW_LOG_INFO, CW_LOG_TEXT);
    cw_log_fields(CW_LOG_INFO, "POST /v1/sync 200", "request", f, 5);
    CU_ASSERT_STRING_EQUAL(text_rest(got), "info  POST /v1/sync 200\n");
}

static void test_cut(void)
{
    /* A record is at most 4096 bytes: the escaped text stops 8 bytes
     * short of the buffer (room for one escape), then the '\n'. */
    static char big[6000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    reset(CW_LOG_INFO, CW_LOG_TEXT);
    cw_log_fields(CW_LOG_INFO, big, "m", NULL, 0);
    CU_ASSERT_EQUAL(records, 1);
    CU_ASSERT_EQUAL(got_len, 4089);
    CU_ASSERT_EQUAL(got[got_len - 1], '\n');
    CU_ASSERT_EQUAL(got[got_len - 2], 'y');

    /* cw_log formats the message into 2048 bytes first. */
    reset(CW_LOG_INFO, CW_LOG_TEXT);
    cw_log_info("%s", big);
    CU_ASSERT_EQUAL(got_len, TS_LEN + 1 + 6 + 2047 + 1);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "text records: timestamp, padded level, message", test_text },
        { "records under the configured level are dropped", test_level_filter },
        { "control characters escaped in text and JSON, quotes in JSON", test_escaping },
        { "structured fields: JSON keys in order, NULL strings left out", test_fields },
        { "records cut at 4 KiB, messages at 2 KiB", test_cut },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("common_log", tests);
    cw_log_set_sink(NULL, NULL);
    cw_log_configure(CW_LOG_INFO, CW_LOG_TEXT);
    return rc;
}
