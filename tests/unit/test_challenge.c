/*
 * test_challenge: the proof-of-work checker (leading zero bits of SHA-256),
 * the arithmetic question generator, the kinds, and the quiz image.
 */
#include "challenge.h"
#include "challenge_png.h"
#include "fs.h"
#include "testhelp.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_zero_bits(void)
{
	unsigned char d[32];

	memset(d, 0, sizeof(d));
	test_cond("all zero: 256", challenge_zero_bits(d, sizeof(d)) == 256);
	d[0] = 0x80;
	test_cond("top bit set: 0", challenge_zero_bits(d, sizeof(d)) == 0);
	d[0] = 0x01;
	test_cond("0x01: 7", challenge_zero_bits(d, sizeof(d)) == 7);
	d[0] = 0x00;
	d[1] = 0x0f;
	test_cond("00 0f: 12", challenge_zero_bits(d, sizeof(d)) == 12);
	d[1] = 0x00;
	d[2] = 0x00;
	d[3] = 0x01;
	d[4] = 0xff;
	test_cond("00 00 00 01: 31", challenge_zero_bits(d, sizeof(d)) == 31);
	/* sha256("abc") = ba7816bf...: the first bit is set */
	SHA256((const unsigned char *)"abc", 3, d);
	test_cond("sha256(abc) has none", challenge_zero_bits(d, sizeof(d)) == 0);
}

/* Finds the first decimal counter answering prefix at bits, as a browser
 * would; its digest checked here on its own. */
static long
solve(const char *prefix, int bits, char *answer, size_t size)
{
	for (long n = 0; n < 50000000; n++) {
		snprintf(answer, size, "%ld", n);
		if (challenge_pow_ok(prefix, answer, strlen(answer), bits))
			return n;
	}
	return -1;
}

static void
test_pow(void)
{
	const char *prefix = "0123456789abcdef0123456789abcdef";
	char answer[32], msg[128], long_answer[CHALLENGE_ANSWER_MAX + 2];
	unsigned char d[32];
	long n = solve(prefix, 12, answer, sizeof(answer));
	int zeros;

	test_cond("a 12-bit answer is found", n >= 0);
	snprintf(msg, sizeof(msg), "%s%s", prefix, answer);
	SHA256((const unsigned char *)msg, strlen(msg), d);
	zeros = challenge_zero_bits(d, sizeof(d));
	test_cond("its digest really starts with 12 zero bits", d[0] == 0 && (d[1] & 0xf0) == 0);
	test_cond("accepted at its own count", challenge_pow_ok(prefix, answer, strlen(answer), zeros));
	test_cond("refused one bit beyond", !challenge_pow_ok(prefix, answer, strlen(answer), zeros + 1));
	/* the checker agrees with a plain mask on the digest of prefix + answer */
	for (int i = 0, agree = 1; i < 3000; i++) {
		char a[16];

		snprintf(a, sizeof(a), "%d", i);
		snprintf(msg, sizeof(msg), "%s%s", prefix, a);
		SHA256((const unsigned char *)msg, strlen(msg), d);
		agree = (challenge_pow_ok(prefix, a, strlen(a), 4) == ((d[0] & 0xf0) == 0)) &&
			(challenge_pow_ok(prefix, a, strlen(a), 9) == (d[0] == 0 && !(d[1] & 0x80)));
		if (!agree) {
			test_cond("the checker agrees with a mask at 4 and 9 bits", 0);
			break;
		}
	}
	/* every answer below the found one fails: none was skipped */
	for (long i = 0; i < n; i++) {
		char a[32];

		snprintf(a, sizeof(a), "%ld", i);
		if (challenge_pow_ok(prefix, a, strlen(a), 12)) {
			test_cond("the solver skipped nothing", 0);
			break;
		}
	}
	memset(long_answer, '0', sizeof(long_answer));
	long_answer[sizeof(long_answer) - 1] = '\0';
	test_cond("an answer over 64 characters is refused even at 1 bit",
		  !challenge_pow_ok(prefix, long_answer, strlen(long_answer), 0));
	test_cond("64 characters are allowed (0 bits)",
		  challenge_pow_ok(prefix, long_answer, CHALLENGE_ANSWER_MAX, 0));
}

/* Evaluates "a op b = ?"; -1 when the text is not of that shape. */
static int
evaluate(const char *q)
{
	int a, b;
	char op, tail[8];

	if (sscanf(q, "%d %c %d %7s", &a, &op, &b, tail) != 4 || strcmp(tail, "=") != 0)
		return -1;
	if (strcmp(strchr(q, '=') + 1, " ?") != 0)
		return -1;
	return op == '+' ? a + b : op == '-' ? a - b : op == 'x' ? a * b : -1;
}

static void
test_quiz(void)
{
	char q[CHALLENGE_QUESTION_MAX], ans[CHALLENGE_QUIZ_ANSWER_MAX], want[16];
	int bad = 0, seen[3] = {0}, max = 0;

	/* walk many byte patterns: every question is well formed, answered
	 * right, small and not negative */
	for (unsigned v = 0; v < 300000; v += 7) {
		unsigned char rnd[4] = {(unsigned char)v, (unsigned char)(v >> 8),
					(unsigned char)(v >> 16), (unsigned char)(v * 31)};
		int r;

		challenge_quiz_make(rnd, q, ans);
		r = evaluate(q);
		snprintf(want, sizeof(want), "%d", r);
		if (r < 0 || strcmp(want, ans) != 0 || strspn(q, "0123456789 +-x=?") != strlen(q))
			bad++;
		seen[strchr(q, '+') ? 0 : strchr(q, '-') ? 1 : 2]++;
		if (r > max)
			max = r;
	}
	test_cond("every question evaluates to its answer", bad == 0);
	test_cond("sums, differences and products all occur", seen[0] && seen[1] && seen[2]);
	test_cond("answers stay small (< 200)", max < 200);
	challenge_quiz_make((const unsigned char[]){0, 4, 5, 0}, q, ans);
	test_cond("bytes 0 4 5 0: 5 + 6", strcmp(q, "5 + 6 = ?") == 0 && strcmp(ans, "11") == 0);
	challenge_quiz_make((const unsigned char[]){1, 0, 3, 0}, q, ans);
	test_cond("bytes 1 0 3 0: 10 - 4", strcmp(q, "10 - 4 = ?") == 0 && strcmp(ans, "6") == 0);
}

static void
test_kinds_and_ids(void)
{
	char a[CHALLENGE_ID_LEN + 1], b[CHALLENGE_ID_LEN + 1];

	test_cond("none", challenge_kind_parse("none") == CHALLENGE_NONE);
	test_cond("pow", challenge_kind_parse("pow") == CHALLENGE_POW);
	test_cond("quiz", challenge_kind_parse("quiz") == CHALLENGE_QUIZ);
	test_cond("POW is not a kind", challenge_kind_parse("POW") == -1);
	test_cond("NULL is not a kind", challenge_kind_parse(NULL) == -1);
	test_cond("names round trip", strcmp(challenge_kind_name(CHALLENGE_QUIZ), "quiz") == 0 &&
					      strcmp(challenge_kind_name(99), "none") == 0);
	test_cond("ids are hex of the length",
		  challenge_random_hex(a, CHALLENGE_ID_LEN / 2) == FS_OK && strlen(a) == CHALLENGE_ID_LEN &&
			  strspn(a, "0123456789abcdef") == CHALLENGE_ID_LEN);
	test_cond("two ids differ", challenge_random_hex(b, CHALLENGE_ID_LEN / 2) == FS_OK && strcmp(a, b));
}

static void
test_png(void)
{
	char *uri = challenge_png_uri("12 + 34 = ?"), *again = challenge_png_uri("12 + 34 = ?");
	const char *head = "data:image/png;base64,iVBORw0KGgo"; /* the PNG signature */

	test_cond("a PNG data URI", uri != NULL && strncmp(uri, head, strlen(head)) == 0);
	test_cond("of a sensible size", uri != NULL && strlen(uri) > 1000 && strlen(uri) < 60000);
	test_cond("noise differs each time", uri != NULL && again != NULL && strcmp(uri, again) != 0);
	if (getenv("CHALLENGE_PNG_OUT") && uri) {
		FILE *f = fopen(getenv("CHALLENGE_PNG_OUT"), "w");

		if (f) {
			fputs(uri, f);
			fclose(f);
		}
	}
	free(uri);
	free(again);
}

int
main(void)
{
	test_zero_bits();
	test_pow();
	test_quiz();
	test_kinds_and_ids();
	test_png();
	return test_report();
}
