/* SPDX-License-Identifier: Apache-2.0 */
/* http-parser, loaded when first used (lazy.h): only the proxy process parses HTTP. */
#include "base/lazy.h"

#include <http_parser.h>

static struct lazy_lib http_parser_lib = LAZY_LIB("libhttp_parser.so.2.9");
#define L (&http_parser_lib)

/* clang-format off */
LAZY_FORWARD(L, void, http_parser_init, (http_parser *parser, enum http_parser_type type), (parser, type))
LAZY_FORWARD(L, size_t, http_parser_execute, (http_parser *parser, const http_parser_settings *settings, const char *data, size_t len), (parser, settings, data, len))
LAZY_FORWARD(L, void, http_parser_pause, (http_parser *parser, int paused), (parser, paused))
LAZY_FORWARD(L, const char *, http_method_str, (enum http_method m), (m))
LAZY_FORWARD(L, int, http_should_keep_alive, (const http_parser *parser), (parser))
/* clang-format on */
