/* cw_test — small helpers shared by the CUnit test executables.
 *
 *   int main(void) { return cw_test_run("suite", tests); }
 * with `tests` a NULL-terminated CU_TestInfo array. Exit status is the
 * number of failures (0 = all passed), so ctest sees failures. */
#ifndef CW_TEST_H
#define CW_TEST_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int cw_test_run(const char *suite_name, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_SuiteInfo suites[] = {
        { (char *)suite_name, NULL, NULL, NULL, NULL, tests },
        CU_SUITE_INFO_NULL,
    };
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "CU_register_suites: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed > 0 ? 1 : 0;
}

/* Read a whole small file (e.g. the Chroma URL file) into a malloc'd,
 * NUL-terminated string with trailing whitespace removed. NULL on error. */
static inline char *cw_test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    return buf;
}

/* The URL of the Chroma started by the ctest fixture, or NULL (malloc'd). */
static inline char *cw_test_chroma_url(void)
{
    const char *file = getenv("CW_TEST_CHROMA_URL_FILE");
    return file != NULL ? cw_test_read_file(file) : NULL;
}

#endif
