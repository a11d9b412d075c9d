/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Functions that are easy to misuse with attacker-influenced input. Including this
 * header (meson adds it to every compile with -include) turns a call into a compile
 * error. Use snprintf/strbuf, strtok_r, parse_* helpers instead.
 */
#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)
