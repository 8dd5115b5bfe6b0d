// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl: a tiny JSON writer.  Compact by default ({"af":18}); pretty
 * (-p) puts every member on its own line, indented by two spaces.
 *
 * No stack is needed: a value opened at some level always leaves that level
 * non-empty, so one "first" flag is enough to place the commas.
 */
#include "tapsctl.h"

void json_init(struct json *j, FILE *f, bool pretty)
{
	j->f = f;
	j->pretty = pretty;
	j->first = true;
	j->depth = 0;
}

static void json_newline(struct json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void json_escape(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma, line break and key before a value */
static void json_member(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first)
			fputc(',', j->f);
		json_newline(j);
	}
	j->first = false;
	if (key) {
		json_escape(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first = true;
}

static void json_close(struct json *j, char c)
{
	bool empty = j->first;

	j->depth--;
	if (!empty)
		json_newline(j);
	fputc(c, j->f);
	j->first = false;
}

void json_obj_open(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_member(j, key);
	json_escape(j->f, s);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

/* End of one top-level value: a newline, and ready for the next one */
void json_end(struct json *j)
{
	fputc('\n', j->f);
	j->first = true;
	j->depth = 0;
}
