/* SPDX-License-Identifier: Apache-2.0 */
/* Themes: see theme.h. */
#include "cli/theme.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/toml.h"

#define RGB(r, g, b)	  "\033[38;2;" #r ";" #g ";" #b "m"
#define BOLD_RGB(r, g, b) "\033[1;38;2;" #r ";" #g ";" #b "m"

struct theme {
	const char *name;
	const char *role[_THEME_ROLE_MAX];
};

/* The spec's six; colours from each palette's published values (Catppuccin's four
 * flavours, Tokyo Night); minimal is bold and faint only. */
static const struct theme themes[] = {
    {"mocha",
     {BOLD_RGB(203, 166, 247), RGB(137, 180, 250), RGB(166, 227, 161), RGB(249, 226, 175),
      RGB(243, 139, 168), RGB(108, 112, 134)}},
    {"latte",
     {BOLD_RGB(136, 57, 239), RGB(30, 102, 245), RGB(64, 160, 43), RGB(223, 142, 29),
      RGB(210, 15, 57), RGB(156, 160, 176)}},
    {"frappe",
     {BOLD_RGB(202, 158, 230), RGB(140, 170, 238), RGB(166, 209, 137), RGB(229, 200, 144),
      RGB(231, 130, 132), RGB(115, 121, 148)}},
    {"macchiato",
     {BOLD_RGB(198, 160, 246), RGB(138, 173, 244), RGB(166, 218, 149), RGB(238, 212, 159),
      RGB(237, 135, 150), RGB(110, 115, 141)}},
    {"tokyo-night",
     {BOLD_RGB(187, 154, 247), RGB(122, 162, 247), RGB(158, 206, 106), RGB(224, 175, 104),
      RGB(247, 118, 142), RGB(86, 95, 137)}},
    {"minimal", {"\033[1m", "\033[1m", "", "\033[1m", "\033[1m", "\033[2m"}},
};

static const struct theme *current = &themes[0];

int theme_lookup(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(themes); i++)
		if (streq(themes[i].name, name))
			return (int)i;
	return -1;
}

/* [ui] theme from the config file, or NULL (absent; an unreadable file is another
 * command's to report). Returns a heap string. */
static char *config_theme(void)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *path = NULL;
	_cleanup_toml_ struct toml_doc *doc = NULL;
	struct diag d = {{0}};
	if (!home || home[0] != '/' || asprintf(&path, "%s/.config/nono/config.toml", home) < 0)
		return NULL;
	if (toml_parse_file(path, &doc, &d) < 0)
		return NULL;
	for (size_t i = 0; i < doc->n; i++)
		if (streq(doc->entries[i].table, "ui") && streq(doc->entries[i].key, "theme") &&
		    doc->entries[i].type == TOML_STRING)
			return strdup(doc->entries[i].str);
	return NULL;
}

void theme_select(const char *flag)
{
	const char *env = secure_getenv("NONO_THEME");
	_cleanup_free_ char *cfg = NULL;
	const char *name = flag, *from = "--theme";
	if (!name || !*name) {
		name = env;
		from = "NONO_THEME";
	}
	if (!name || !*name) {
		name = cfg = config_theme();
		from = "[ui] theme in ~/.config/nono/config.toml";
	}
	int i = name && *name ? theme_lookup(name) : 0;
	/* The warning itself goes out in the fallback's colours. */
	current = &themes[i < 0 ? 0 : i];
	if (theme_color(stderr))
		log_set_style(current->role[THEME_ERROR], current->role[THEME_WARN], "\033[0m");
	else
		log_set_style(NULL, NULL, NULL);
	if (i < 0)
		log_warning("unknown theme '%s' (%s): using mocha (themes: mocha, latte, frappe, "
			    "macchiato, tokyo-night, minimal)",
			    name, from);
}

const char *theme_name(void)
{
	return current->name;
}

bool theme_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	if (nc && *nc)
		return false;
	if (term && streq(term, "dumb"))
		return false;
	return isatty(fileno(f)) == 1;
}

const char *theme_on(FILE *f, enum theme_role role)
{
	return theme_color(f) ? current->role[role] : "";
}

const char *theme_off(FILE *f)
{
	return theme_color(f) ? "\033[0m" : "";
}

const char *theme_printable(const char *s)
{
	static char ring[4][4096];
	static unsigned next;
	char *b = ring[next++ % 4];
	size_t i = 0;
	for (; s && s[i] && i < sizeof(ring[0]) - 1; i++)
		b[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	b[i] = 0;
	return b;
}
