/*
 * challenge.h: the challenge before the order secret (API.md "Guard rails",
 * "Challenge"): a proof of work the browser solves, or an arithmetic
 * question drawn into an image (challenge_png.h). Pure code: the kinds, the
 * proof-of-work check (one SHA-256), the question generator and the random
 * ids. Storage is kv_challenge.h's, the HTTP side the detail program's.
 */
#ifndef FS_CHALLENGE_H
#define FS_CHALLENGE_H

#include <stddef.h>

/* The kinds an activity may ask for; stored by name ("none", "pow",
 * "quiz") in MySQL and in the Redis meta hash. */
enum challenge_kind { CHALLENGE_NONE = 0, CHALLENGE_POW, CHALLENGE_QUIZ };

#define CHALLENGE_BITS_MIN 1
#define CHALLENGE_BITS_MAX 32
#define CHALLENGE_BITS_DEFAULT 18
#define CHALLENGE_ANSWER_MAX 64   /* characters of a pow answer (and any answer) */
#define CHALLENGE_ID_LEN 32       /* hex digits of a challenge id */
#define CHALLENGE_PREFIX_LEN 32   /* hex digits of a pow prefix */
#define CHALLENGE_QUESTION_MAX 32 /* bytes of a question with its NUL */
#define CHALLENGE_QUIZ_ANSWER_MAX 8

/* The kind named s (NULL or unknown: -1). */
int challenge_kind_parse(const char *s);
/* The name of kind k ("none" for anything unknown). */
const char *challenge_kind_name(int k);

/* The leading zero bits of the n bytes at digest (8 * n when all zero). */
int challenge_zero_bits(const unsigned char *digest, size_t n);
/* 1 when SHA-256 of prefix followed by the alen bytes of answer starts with
 * at least bits zero bits, else 0 (also for an answer longer than
 * CHALLENGE_ANSWER_MAX). */
int challenge_pow_ok(const char *prefix, const char *answer, size_t alen, int bits);

/* A question from four random bytes: "a + b = ?", "a - b = ?" (a >= b) or
 * "a x b = ?", small numbers, into question (CHALLENGE_QUESTION_MAX bytes),
 * and its answer in decimal into answer (CHALLENGE_QUIZ_ANSWER_MAX). The
 * same bytes give the same question, so tests can walk them. */
void challenge_quiz_make(const unsigned char rnd[4], char question[CHALLENGE_QUESTION_MAX],
			 char answer[CHALLENGE_QUIZ_ANSWER_MAX]);

/* n random bytes as 2n hex digits and a NUL into out. FS_OK or FS_ERR (the
 * OS gave no randomness). */
int challenge_random_hex(char *out, size_t n);

#endif
