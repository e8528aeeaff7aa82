/* flags — a command's options as one declarative table, from which
 * parsing, the environment fallbacks and `--help` (with its "(env …,
 * default …)" text) are all derived.
 *
 * A row names a flag, its kind, its limits, its help and where its value
 * is stored: an offset (and size) into the struct the command parses into
 * (CW_FLAG_AT). The defaults are not in the table: they are whatever the
 * struct holds before parsing (the CLI fills it from the libraries'
 * *_config_defaults()), and --help prints them from a struct filled the
 * same way, so a default is written exactly once.
 *
 * Values stored are borrowed: strings point into argv or the environment.
 * Parsing is GNU-style: options before or after the positional argument,
 * `--flag=value` and `--flag value`, unambiguous prefixes of long names,
 * `--` ends the options. */
#ifndef CW_FLAGS_H
#define CW_FLAGS_H

#include <stddef.h>
#include <stdio.h>

#include "cw_error.h"

typedef enum cw_flag_kind {
    CW_FLAG_SWITCH = 1,   /* no value: stores int 1 */
    CW_FLAG_STRING,       /* stores const char * */
    CW_FLAG_FILE,         /* a string naming a readable file (checked after the options) */
    CW_FLAG_CHOICE,       /* a string, one of `choices` */
    CW_FLAG_CHOICE_INDEX, /* one of `choices`, stored as its index (an int or an enum) */
    CW_FLAG_NUMBER,       /* an unsigned number in [min, max], stored in a field of 2, 4 or 8 bytes */
    CW_FLAG_BYTES,        /* a NUMBER of bytes: --help adds "= 5 MiB" */
} cw_flag_kind;

/* Where a value goes: CW_FLAG_AT(cw_options, http.port). */
typedef struct cw_flag_at {
    size_t offset;
    size_t size;
} cw_flag_at;
#define CW_FLAG_AT(type, field) { offsetof(type, field), sizeof(((type *)0)->field) }

typedef struct cw_flag {
    const char *name;            /* long name without "--"; NULL for a short-only flag */
    char short_name;             /* 'n' for -n; 0 = none */
    cw_flag_kind kind;
    const char *arg;             /* the value's name in --help ("N", "URL"); NULL for a switch */
    const char *help;            /* one phrase; --help appends "(env …, default …)" */
    const char *env;             /* environment variable read before argv; NULL = none */
    unsigned long long min, max; /* NUMBER, BYTES */
    const char *zero;            /* NUMBER, BYTES: what 0 means ("off"), or NULL */
    const char *const *choices;  /* CHOICE, CHOICE_INDEX: NULL-terminated */
    const char *dflt;            /* the default in words when the struct cannot show it
                                    (decided at run time); replaces the rendered one */
    /* Optional extra check of a value (after kind and limits): 0, or -1
     * with err set to one line (printed after "--name: "). */
    int (*check)(const char *value, cw_error *err);
    cw_flag_at at;
} cw_flag;

/* A command: its name, the text --help prints before "options:", its
 * positional argument and its flag groups (each a table ended by a row
 * with no name and no short name); groups are printed in order. */
typedef struct cw_flag_command {
    const char *name;            /* "serve" */
    const char *usage;           /* "usage: …\n\n…\n" */
    const char *positional;      /* what "missing …" names ("QUERY"); NULL = takes none */
    cw_flag_at positional_at;    /* a const char * */
    const cw_flag *const *groups;  /* NULL-terminated */
} cw_flag_command;

/* Parse argv (argv[0] is the command name) into `base`, which holds the
 * defaults: first each flag's environment variable (set and non-empty),
 * then argv. Returns 0, 1 when --help was asked for (nothing printed), or
 * 2 after a usage error printed as one line on `errout`:
 * "cluster-whisperer NAME: …\n". */
CW_MUST_CHECK int cw_flags_parse(const cw_flag_command *cmd, void *base, int argc, char **argv,
                                 FILE *errout);

/* Print the command's whole --help: its usage text, "options:" and one
 * entry per flag, the defaults read from `defaults` (a struct as parsing
 * starts from, before the environment). Lines wrap at 80 columns. */
void cw_flags_help(FILE *out, const cw_flag_command *cmd, const void *defaults);

/* Check the table against itself and `defaults`: field sizes fit each
 * kind, maxima fit the field, every default lies in [min, max] and is a
 * choice, names are unique and each row is complete. 0, or -1 with err
 * naming the row. For the tests. */
CW_MUST_CHECK int cw_flags_check_table(const cw_flag_command *cmd, const void *defaults,
                                       cw_error *err);

#endif
