#include "flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROWS 96            /* flags of one command, all groups */
#define FIRST_ID 1000          /* getopt_long's code of row i is FIRST_ID + i */
#define HELP_ID 'h'
#define LEFT_WIDTH 22          /* "  %-22s " */
#define TEXT_COLUMN (2 + LEFT_WIDTH + 1)
#define LINE_WIDTH 80

/* The rows of every group, in order (at most MAX_ROWS: cw_flags_check_table
 * tells when there are more). */
static size_t rows_of(const cw_flag_command *cmd, const cw_flag **rows)
{
    size_t n = 0;
    for (size_t g = 0; cmd->groups != NULL && cmd->groups[g] != NULL; g++)
        for (const cw_flag *f = cmd->groups[g]; f->name != NULL || f->short_name != 0; f++) {
            if (n == MAX_ROWS)
                return n;
            rows[n++] = f;
        }
    return n;
}

static void *field(void *base, cw_flag_at at)
{
    return (char *)base + at.offset;
}

static unsigned long long load_number(const void *base, cw_flag_at at)
{
    const char *p = (const char *)base + at.offset;
    uint16_t v2;
    uint32_t v4;
    uint64_t v8;
    switch (at.size) {
    case 2: memcpy(&v2, p, 2); return v2;
    case 4: memcpy(&v4, p, 4); return v4;
    case 8: memcpy(&v8, p, 8); return v8;
    }
    return 0;
}

static void store_number(void *base, cw_flag_at at, unsigned long long v)
{
    uint16_t v2 = (uint16_t)v;
    uint32_t v4 = (uint32_t)v;
    uint64_t v8 = (uint64_t)v;
    switch (at.size) {
    case 2: memcpy(field(base, at), &v2, 2); break;
    case 4: memcpy(field(base, at), &v4, 4); break;
    case 8: memcpy(field(base, at), &v8, 8); break;
    }
}

static const char *load_string(const void *base, cw_flag_at at)
{
    const char *s;
    memcpy(&s, (const char *)base + at.offset, sizeof s);
    return s;
}

static void store_string(void *base, cw_flag_at at, const char *s)
{
    memcpy(field(base, at), &s, sizeof s);
}

static int choice_index(const cw_flag *f, const char *value)
{
    for (int i = 0; f->choices[i] != NULL; i++)
        if (strcmp(f->choices[i], value) == 0)
            return i;
    return -1;
}

/* "a, b or c" (sep ", ", last " or "), "a | b | c" */
static void choice_list(const cw_flag *f, const char *sep_, const char *last_sep, char *buf,
                        size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; f->choices[i] != NULL && len < cap; i++) {
        const char *sep = i == 0 ? "" : f->choices[i + 1] == NULL ? last_sep : sep_;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, f->choices[i]);
    }
}

/* How a row is named in errors: "--port", "-n". */
static void flag_label(const cw_flag *f, char *buf, size_t cap)
{
    if (f->name != NULL)
        snprintf(buf, cap, "--%s", f->name);
    else
        snprintf(buf, cap, "-%c", f->short_name);
}

/* Store `value` for row `f`; `subject` names where it came from ("--port",
 * "PORT"). 0, or 2 with one line printed. */
static int set_value(const cw_flag_command *cmd, const cw_flag *f, void *base, const char *value,
                     const char *subject, FILE *errout)
{
    if (f->kind == CW_FLAG_SWITCH) {
        int one = 1;
        memcpy(field(base, f->at), &one, sizeof one);
        return 0;
    }
    if (f->kind == CW_FLAG_NUMBER || f->kind == CW_FLAG_BYTES) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < f->min ||
            v > f->max) {
            fprintf(errout, "cluster-whisperer %s: %s wants a number from %llu to %llu, got '%s'\n",
                    cmd->name, subject, f->min, f->max, value);
            return 2;
        }
        store_number(base, f->at, v);
        return 0;
    }
    if (f->kind == CW_FLAG_CHOICE || f->kind == CW_FLAG_CHOICE_INDEX) {
        int i = choice_index(f, value);
        if (i < 0) {
            char list[256];
            choice_list(f, ", ", " or ", list, sizeof list);
            fprintf(errout, "cluster-whisperer %s: %s must be %s, got '%s'\n", cmd->name, subject,
                    list, value);
            return 2;
        }
        if (f->kind == CW_FLAG_CHOICE_INDEX) {
            memcpy(field(base, f->at), &i, sizeof i);
            return 0;
        }
    }
    if (f->check != NULL) {
        cw_error err;
        cw_error_clear(&err);
        if (f->check(value, &err) != 0) {
            fprintf(errout, "cluster-whisperer %s: %s: %s\n", cmd->name, subject, err.msg);
            return 2;
        }
    }
    store_string(base, f->at, value);
    return 0;
}

static int apply_env(const cw_flag_command *cmd, const cw_flag **rows, size_t n, void *base,
                     FILE *errout)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = rows[i]->env != NULL ? getenv(rows[i]->env) : NULL;
        if (v != NULL && *v != '\0' && set_value(cmd, rows[i], base, v, rows[i]->env, errout) != 0)
            return 2;
    }
    return 0;
}

/* Files named by the options: an unreadable one stops us before anything
 * starts. */
static int check_files(const cw_flag_command *cmd, const cw_flag **rows, size_t n, void *base,
                       FILE *errout)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->kind != CW_FLAG_FILE)
            continue;
        const char *path = load_string(base, rows[i]->at);
        if (path != NULL && access(path, R_OK) != 0) {
            char label[64];
            flag_label(rows[i], label, sizeof label);
            fprintf(errout, "cluster-whisperer %s: %s %s: %s\n", cmd->name, label, path,
                    strerror(errno));
            return 2;
        }
    }
    return 0;
}

/* getopt_long's tables for the rows: "-" (every non-option comes back as
 * code 1, in order, whatever POSIXLY_CORRECT says), ":" (a missing value
 * is ':'), the short names, then h. */
static void getopt_tables(const cw_flag **rows, size_t n, struct option *longopts, char *shortopts)
{
    size_t k = 0, s = 0;
    shortopts[s++] = '-';
    shortopts[s++] = ':';
    for (size_t i = 0; i < n; i++) {
        int has_arg = rows[i]->kind == CW_FLAG_SWITCH ? no_argument : required_argument;
        if (rows[i]->name != NULL)
            longopts[k++] = (struct option){ rows[i]->name, has_arg, NULL, (int)(FIRST_ID + i) };
        if (rows[i]->short_name != 0) {
            shortopts[s++] = rows[i]->short_name;
            if (has_arg == required_argument)
                shortopts[s++] = ':';
        }
    }
    longopts[k++] = (struct option){ "help", no_argument, NULL, HELP_ID };
    longopts[k] = (struct option){ NULL, 0, NULL, 0 };
    shortopts[s++] = 'h';
    shortopts[s] = '\0';
}

/* The row getopt_long's code `c` stands for, or NULL. */
static const cw_flag *row_of_code(const cw_flag **rows, size_t n, int c)
{
    if (c >= FIRST_ID && (size_t)(c - FIRST_ID) < n)
        return rows[c - FIRST_ID];
    for (size_t i = 0; i < n && c > 0 && c < 128; i++)
        if (rows[i]->short_name == (char)c)
            return rows[i];
    return NULL;
}

/* After the options: the positional argument (or what is left after
 * "--"), at most one. */
static int finish_positional(const cw_flag_command *cmd, void *base, int argc, char **argv,
                             FILE *errout)
{
    if (cmd->positional != NULL && load_string(base, cmd->positional_at) == NULL && optind < argc)
        store_string(base, cmd->positional_at, argv[optind++]);
    if (cmd->positional != NULL && load_string(base, cmd->positional_at) == NULL) {
        fprintf(errout, "cluster-whisperer %s: missing %s (see --help)\n", cmd->name,
                cmd->positional);
        return 2;
    }
    if (optind < argc) {
        fprintf(errout, "cluster-whisperer %s: unexpected argument '%s' (see --help)\n", cmd->name,
                argv[optind]);
        return 2;
    }
    return 0;
}

int cw_flags_parse(const cw_flag_command *cmd, void *base, int argc, char **argv, FILE *errout)
{
    const cw_flag *rows[MAX_ROWS];
    size_t n = rows_of(cmd, rows);
    struct option longopts[MAX_ROWS + 2];
    char shortopts[2 * MAX_ROWS + 8];
    getopt_tables(rows, n, longopts, shortopts);
    if (apply_env(cmd, rows, n, base, errout) != 0)
        return 2;

    optind = 0;                               /* 0: glibc starts afresh (a second parse in one process) */
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (c == -1)
            break;
        const cw_flag *f = row_of_code(rows, n, c);
        if (c == HELP_ID)
            return 1;
        if (c == 1) {
            if (cmd->positional == NULL || load_string(base, cmd->positional_at) != NULL) {
                fprintf(errout, "cluster-whisperer %s: unexpected argument '%s' (see --help)\n",
                        cmd->name, optarg);
                return 2;
            }
            store_string(base, cmd->positional_at, optarg);
        } else if (c == ':') {
            fprintf(errout, "cluster-whisperer %s: option '%s' needs a value\n", cmd->name,
                    argv[optind - 1]);
            return 2;
        } else if (f == NULL) {
            fprintf(errout, "cluster-whisperer %s: unknown option '%s' (see --help)\n", cmd->name,
                    argv[optind - 1]);
            return 2;
        } else {
            char label[64];
            flag_label(f, label, sizeof label);
            if (set_value(cmd, f, base, optarg, label, errout) != 0)
                return 2;
        }
    }
    if (finish_positional(cmd, base, argc, argv, errout) != 0)
        return 2;
    return check_files(cmd, rows, n, base, errout);
}

/* "5 MiB" when v is a whole number of KiB, MiB or GiB (of at least 1 MiB), else "". */
static void iec(unsigned long long v, char *buf, size_t cap)
{
    static const char *const units[] = { "GiB", "MiB" };
    static const unsigned long long sizes[] = { 1ull << 30, 1ull << 20 };
    buf[0] = '\0';
    for (size_t i = 0; i < 2; i++)
        if (v >= sizes[i] && v % sizes[i] == 0) {
            snprintf(buf, cap, "%llu %s", v / sizes[i], units[i]);
            return;
        }
}

/* The default of row `f` in words, or "" when there is none to show. */
static void render_default(const cw_flag *f, const void *defaults, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (f->dflt != NULL) {
        snprintf(buf, cap, "default: %s", f->dflt);
        return;
    }
    if (f->kind == CW_FLAG_NUMBER || f->kind == CW_FLAG_BYTES) {
        unsigned long long v = load_number(defaults, f->at);
        char units[32] = "", most[48] = "";
        if (f->kind == CW_FLAG_BYTES)
            iec(v, units, sizeof units);
        else                                  /* byte counts' maxima are mere caps */
            snprintf(most, sizeof most, ", at most %llu", f->max);
        if (v == 0 && f->zero != NULL)
            snprintf(buf, cap, "default: %s%s", f->zero, most);
        else
            snprintf(buf, cap, "default %llu%s%s%s%s%s", v, units[0] != '\0' ? " = " : "", units,
                     most, f->zero != NULL && f->min == 0 ? "; 0 = " : "",
                     f->zero != NULL && f->min == 0 ? f->zero : "");
    } else if (f->kind == CW_FLAG_CHOICE_INDEX) {
        int i;
        memcpy(&i, (const char *)defaults + f->at.offset, sizeof i);
        snprintf(buf, cap, "default %s", f->choices[i]);
    } else if (f->kind != CW_FLAG_SWITCH && load_string(defaults, f->at) != NULL) {
        snprintf(buf, cap, "default %s", load_string(defaults, f->at));
    }
}

/* One help entry: the left column, then `text` from TEXT_COLUMN on (on the
 * next line when the left column is longer), wrapped at LINE_WIDTH. */
static void print_entry(FILE *out, const char *left, const char *text)
{
    int col;
    if (strlen(left) > LEFT_WIDTH) {          /* a long left column: the text goes below */
        fprintf(out, "  %s\n", left);
        col = fprintf(out, "%*s", TEXT_COLUMN, "");
    } else {
        col = fprintf(out, "  %-*s ", LEFT_WIDTH, left);
    }
    const char *p = text;
    int first = 1;
    while (*p != '\0') {
        size_t word = strcspn(p, " ");
        if (!first && col + 1 + (int)word > LINE_WIDTH) {
            col = fprintf(out, "\n%*s", TEXT_COLUMN, "") - 1;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, word, out);
        col += (int)word;
        first = 0;
        p += word;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

static void print_row(FILE *out, const cw_flag *f, const void *defaults)
{
    char left[64], text[1024], dflt[256], list[256] = "";
    size_t len = 0;
    if (f->name != NULL && f->short_name != 0)
        snprintf(left, sizeof left, "-%c, --%s", f->short_name, f->name);
    else
        flag_label(f, left, sizeof left);
    len = strlen(left);
    if (f->arg != NULL)
        snprintf(left + len, sizeof left - len, " %s", f->arg);

    if (f->choices != NULL)
        choice_list(f, " | ", " | ", list, sizeof list);
    render_default(f, defaults, dflt, sizeof dflt);
    len = (size_t)snprintf(text, sizeof text, "%s%s%s", list,
                           list[0] != '\0' && f->help != NULL ? ": " : "",
                           f->help != NULL ? f->help : "");
    if (f->env != NULL || dflt[0] != '\0')
        snprintf(text + len, sizeof text - len, " (%s%s%s%s)", f->env != NULL ? "env " : "",
                 f->env != NULL ? f->env : "", f->env != NULL && dflt[0] != '\0' ? ", " : "", dflt);
    print_entry(out, left, text);
}

void cw_flags_help(FILE *out, const cw_flag_command *cmd, const void *defaults)
{
    const cw_flag *rows[MAX_ROWS];
    size_t n = rows_of(cmd, rows);
    fputs(cmd->usage, out);
    fputs("\noptions:\n", out);
    for (size_t i = 0; i < n; i++)
        print_row(out, rows[i], defaults);
    print_entry(out, "-h, --help", "show this help");
}

/* The problem with row `f` on its own, or NULL. */
static const char *row_problem(const cw_flag *f, const void *defaults)
{
    int numeric = f->kind == CW_FLAG_NUMBER || f->kind == CW_FLAG_BYTES;
    if (f->help == NULL && f->choices == NULL)
        return "has no help";
    if ((f->kind == CW_FLAG_SWITCH) != (f->arg == NULL))
        return "takes a value exactly when it has an arg name";
    if (f->kind == CW_FLAG_SWITCH || f->kind == CW_FLAG_CHOICE_INDEX)
        return f->at.size == sizeof(int) ? NULL : "is not stored in an int";
    if (!numeric) {
        if (f->at.size != sizeof(const char *))
            return "is not stored in a const char *";
        const char *v = load_string(defaults, f->at);
        if (f->kind == CW_FLAG_CHOICE && (f->choices == NULL || (v != NULL && choice_index(f, v) < 0)))
            return "has a default that is not one of its choices";
        return NULL;
    }
    unsigned long long top = f->at.size == 2 ? 0xffffull : f->at.size == 4 ? 0x7fffffffull
                           : f->at.size == 8 ? 0x7fffffffffffffffull : 0;
    if (top == 0)
        return "is not stored in a field of 2, 4 or 8 bytes";
    if (f->min > f->max || f->max > top)
        return "has a maximum its field cannot hold";
    unsigned long long v = load_number(defaults, f->at);
    if ((v < f->min || v > f->max) && !(v == 0 && f->zero != NULL))
        return "has a default outside [min, max]";
    return NULL;
}

int cw_flags_check_table(const cw_flag_command *cmd, const void *defaults, cw_error *err)
{
    const cw_flag *rows[MAX_ROWS];
    size_t n = rows_of(cmd, rows), all = 0;
    for (size_t g = 0; cmd->groups != NULL && cmd->groups[g] != NULL; g++)
        for (const cw_flag *f = cmd->groups[g]; f->name != NULL || f->short_name != 0; f++)
            all++;
    if (all != n)
        return cw_error_set(err, CW_E_INTERNAL, "%s: more than %d flags", cmd->name, MAX_ROWS);
    for (size_t i = 0; i < n; i++) {
        char label[64];
        flag_label(rows[i], label, sizeof label);
        const char *problem = row_problem(rows[i], defaults);
        if (problem == NULL && ((rows[i]->name != NULL && strcmp(rows[i]->name, "help") == 0) ||
                                rows[i]->short_name == 'h'))
            problem = "takes the name of --help";
        for (size_t j = 0; j < i && problem == NULL; j++)
            if ((rows[i]->name != NULL && rows[j]->name != NULL &&
                 strcmp(rows[i]->name, rows[j]->name) == 0) ||
                (rows[i]->short_name != 0 && rows[i]->short_name == rows[j]->short_name))
                problem = "is there twice";
        if (problem != NULL)
            return cw_error_set(err, CW_E_INTERNAL, "%s %s %s", cmd->name, label, problem);
    }
    return 0;
}
