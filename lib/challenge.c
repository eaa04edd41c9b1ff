/*
 * challenge.c: the pure parts of the challenge (see challenge.h): kinds,
 * the proof-of-work check and the arithmetic questions.
 */
#include "challenge.h"
#include "codec.h"
#include "fs.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"none", "pow", "quiz"};

int
challenge_kind_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (size_t k = 0; k < FS_ARRAY_LEN(kind_names); k++)
		if (strcmp(s, kind_names[k]) == 0)
			return (int)k;
	return -1;
}

const char *
challenge_kind_name(int k)
{
	return k > 0 && (size_t)k < FS_ARRAY_LEN(kind_names) ? kind_names[k] : kind_names[0];
}

int
challenge_zero_bits(const unsigned char *digest, size_t n)
{
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char b = digest[i];

		if (b == 0) {
			bits += 8;
			continue;
		}
		while (!(b & 0x80)) {
			bits++;
			b = (unsigned char)(b << 1);
		}
		break;
	}
	return bits;
}

int
challenge_pow_ok(const char *prefix, const char *answer, size_t alen, int bits)
{
	unsigned char msg[CHALLENGE_PREFIX_LEN + CHALLENGE_ANSWER_MAX];
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t plen = strlen(prefix);

	if (plen > CHALLENGE_PREFIX_LEN || alen > CHALLENGE_ANSWER_MAX)
		return 0;
	memcpy(msg, prefix, plen);
	memcpy(msg + plen, answer, alen);
	SHA256(msg, plen + alen, md);
	return challenge_zero_bits(md, sizeof(md)) >= bits;
}

void
challenge_quiz_make(const unsigned char rnd[4], char question[CHALLENGE_QUESTION_MAX],
		    char answer[CHALLENGE_QUIZ_ANSWER_MAX])
{
	int a, b, result;
	char op;

	/* sums and differences of two-digit numbers, products of one-digit
	 * ones: a person does them in the head, every answer is 0..198 */
	switch (rnd[0] % 3) {
	case 0:
		a = 1 + rnd[1] % 49;
		b = 1 + rnd[2] % 49;
		op = '+';
		result = a + b;
		break;
	case 1:
		a = 10 + rnd[1] % 90;
		b = 1 + rnd[2] % a;
		op = '-';
		result = a - b;
		break;
	default:
		a = 2 + rnd[1] % 8;
		b = 2 + rnd[2] % 8;
		op = 'x';
		result = a * b;
		break;
	}
	/* rnd[3] only swaps a commutative question's operands */
	if (op != '-' && rnd[3] & 1) {
		int t = a;

		a = b;
		b = t;
	}
	snprintf(question, CHALLENGE_QUESTION_MAX, "%d %c %d = ?", a, op, b);
	snprintf(answer, CHALLENGE_QUIZ_ANSWER_MAX, "%d", result);
}

int
challenge_random_hex(char *out, size_t n)
{
	unsigned char buf[64];

	if (n > sizeof(buf) || fs_random_bytes(buf, n) != FS_OK)
		return FS_ERR;
	codec_hex_encode(buf, n, out);
	return FS_OK;
}
