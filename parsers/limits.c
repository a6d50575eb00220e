/* limits.c -- the default bounds on hostile input; see parser.h. */
#include "parser.h"

const struct parse_limits parse_limits_default = {
    .max_line = (size_t)1 << 20,
    .max_frames = 256,
    .max_chain = 32,
    .max_group_depth = 16,
    .max_group_members = 64,
    .max_json_tokens = 1u << 16,
    .max_json_depth = 64,
    .max_record = (size_t)4 << 20,
};
