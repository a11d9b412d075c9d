/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Colour for nono's own output (log prefixes, footers, ps/inspect tables), never for
 * the command's bytes and never in --json. Theme: --theme, then NONO_THEME, then
 * [ui] theme in ~/.config/nono/config.toml, then mocha; an unknown name warns and
 * falls back to mocha. A stream gets colour only when it is a terminal, NO_COLOR is
 * unset or empty and TERM is not "dumb".
 */

#include <stdbool.h>
#include <stdio.h>

enum theme_role {
	THEME_HEADER = 0, /* table headers, titles */
	THEME_ACCENT,	  /* labels, names */
	THEME_OK,	  /* running, allowed */
	THEME_WARN,	  /* warnings */
	THEME_ERROR,	  /* errors, crashed */
	THEME_DIM,	  /* secondary detail */
	_THEME_ROLE_MAX,
};

/* Resolve the theme (flag: --theme or NULL) and colour the log prefixes. Again with a
 * later flag (run --theme) re-resolves. */
void theme_select(const char *flag);
/* The theme in use ("mocha", ...). */
const char *theme_name(void);
/* Whether output to f is coloured. */
bool theme_color(FILE *f);
/* The escape sequence that starts role on f, and the one that ends it: "" when f is
 * not coloured. */
const char *theme_on(FILE *f, enum theme_role role);
const char *theme_off(FILE *f);
/* s with control characters shown as '?', for text read from files the user (or an
 * agent with a write grant there) controls: it must not drive the terminal. Returns
 * one of 4 static buffers in turn (at most 4095 bytes each); NULL gives "". */
const char *theme_printable(const char *s);
/* Index of name among the known themes, or -1 (for tests). */
int theme_lookup(const char *name);
