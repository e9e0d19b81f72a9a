/* test-lsra-bleu.c: BLEU against sacreBLEU 2.6.0's own numbers (tests/data/bleu, see its README):
 * corpus BLEU, sentence BLEU with effective order, tokenize='none', and the summed counts; plus the
 * 13a and whitespace rules one by one, so a failure names the rule. */
#include "fr-lsra-bleu.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fr-test-util.h"

#define BLEU_TOL 0.01  /* the tolerance for bleu */
#define FINE_TOL 1e-6  /* what the vectors' README promises for bp and p1..p4 */

/* The lines of a vector file: split on '\n' only, as the vectors were made. */
static char **read_lines(const char *name, gsize *n) {
  char *path = fr_test_data_path("bleu", name);
  if (!path) return NULL;
  char *text = NULL;
  GError *error = NULL;
  g_file_get_contents(path, &text, NULL, &error);
  g_assert_no_error(error);
  gsize len = strlen(text);
  if (len && text[len - 1] == '\n') text[len - 1] = '\0'; /* the final newline ends the last line */
  char **lines = len ? g_strsplit(text, "\n", -1) : g_new0(char *, 1);
  *n = g_strv_length(lines);
  g_free(text);
  g_free(path);
  return lines;
}

/* Rows of a TSV with a header, each split into fields. */
static GPtrArray *read_tsv(const char *name) {
  gsize n = 0;
  char **lines = read_lines(name, &n);
  if (!lines) return NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  for (gsize i = 1; i < n; i++) g_ptr_array_add(rows, g_strsplit(lines[i], "\t", -1));
  g_strfreev(lines);
  return rows;
}

static void assert_close(double got, double want, double tol, const char *what, const char *where) {
  if (!(fabs(got - want) <= tol)) g_error("%s %s: got %.12g, want %.12g (tolerance %g)", where, what, got, want, tol);
}

/* Fields bleu bp sys_len ref_len p1..p4 starting at row[k]. */
static void assert_scores(const FrLsraBleu *b, char **row, int k, const char *where) {
  assert_close(b->bleu, g_ascii_strtod(row[k], NULL), BLEU_TOL, "bleu", where);
  assert_close(b->bp, g_ascii_strtod(row[k + 1], NULL), FINE_TOL, "bp", where);
  g_assert_cmpint(b->stats.sys_len, ==, g_ascii_strtoll(row[k + 2], NULL, 10));
  g_assert_cmpint(b->stats.ref_len, ==, g_ascii_strtoll(row[k + 3], NULL, 10));
  for (int n = 0; n < 4; n++) assert_close(b->precisions[n], g_ascii_strtod(row[k + 4 + n], NULL), FINE_TOL, "p_n", where);
}

static void score_files(const char *hyp_name, const char *ref_name, FrLsraBleuTokenize tok, FrLsraBleu *out) {
  gsize nh = 0, nr = 0;
  char **hyp = read_lines(hyp_name, &nh), **ref = read_lines(ref_name, &nr);
  g_assert_nonnull(hyp);
  g_assert_cmpuint(nh, ==, nr);
  fr_lsra_bleu_corpus((const char *const *)hyp, (const char *const *)ref, nh, tok, out);
  g_strfreev(hyp);
  g_strfreev(ref);
}

static void test_corpus(void) {
  GPtrArray *rows = read_tsv("expected.tsv");
  if (!rows) return;
  g_assert_cmpuint(rows->len, ==, 10);
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    char *hyp = g_strdup_printf("%s.hyp.txt", row[0]), *ref = g_strdup_printf("%s.ref.txt", row[0]);
    FrLsraBleu b;
    score_files(hyp, ref, FR_LSRA_BLEU_TOK_13A, &b);
    assert_scores(&b, row, 1, row[0]);
    g_test_message("%s: BLEU %.4f (sacreBLEU %s)", row[0], b.bleu, row[1]);
    g_free(hyp);
    g_free(ref);
  }
  g_ptr_array_unref(rows);
}

static void test_counts(void) {
  GPtrArray *rows = read_tsv("expected_counts.tsv");
  if (!rows) return;
  g_assert_cmpuint(rows->len, ==, 10);
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    char *hyp = g_strdup_printf("%s.hyp.txt", row[0]), *ref = g_strdup_printf("%s.ref.txt", row[0]);
    FrLsraBleu b;
    score_files(hyp, ref, FR_LSRA_BLEU_TOK_13A, &b);
    for (int n = 0; n < 4; n++) {
      g_assert_cmpint(b.stats.correct[n], ==, g_ascii_strtoll(row[1 + n], NULL, 10));
      g_assert_cmpint(b.stats.total[n], ==, g_ascii_strtoll(row[5 + n], NULL, 10));
    }
    g_free(hyp);
    g_free(ref);
  }
  g_ptr_array_unref(rows);
}

static void test_sentence(void) {
  GPtrArray *rows = read_tsv("expected_sentence.tsv");
  if (!rows) return;
  g_assert_cmpuint(rows->len, ==, 20 + 20 + 21);
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    char *hname = g_strdup_printf("%s.hyp.txt", row[0]), *rname = g_strdup_printf("%s.ref.txt", row[0]);
    gsize nh = 0, nr = 0;
    char **hyp = read_lines(hname, &nh), **ref = read_lines(rname, &nr);
    gsize line = (gsize)g_ascii_strtoull(row[1], NULL, 10);
    g_assert_cmpuint(line, >=, 1);
    g_assert_cmpuint(line, <=, nh);
    FrLsraBleu b;
    fr_lsra_bleu_sentence(hyp[line - 1], ref[line - 1], FR_LSRA_BLEU_TOK_13A, &b);
    char *where = g_strdup_printf("%s line %s", row[0], row[1]);
    assert_scores(&b, row, 2, where);
    g_free(where);
    g_strfreev(hyp);
    g_strfreev(ref);
    g_free(hname);
    g_free(rname);
  }
  g_ptr_array_unref(rows);
}

static void test_tokenized(void) {
  GPtrArray *rows = read_tsv("expected_tokenized.tsv");
  if (!rows) return;
  g_assert_cmpuint(rows->len, ==, 2);
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    gboolean tok = !strcmp(row[0], "case2.tok");
    g_assert_true(tok || !strcmp(row[0], "case2.raw"));
    FrLsraBleu b;
    score_files(tok ? "case2.hyp.tok.txt" : "case2.hyp.txt", tok ? "case2.ref.tok.txt" : "case2.ref.txt",
                FR_LSRA_BLEU_TOK_NONE, &b);
    assert_scores(&b, row, 1, row[0]);
  }
  g_ptr_array_unref(rows);
}

/* The 13a rules one at a time. Expected strings from Python's re applying the four documented
 * expressions (so a failure names the rule rather than a score). */
static void test_13a_rules(void) {
  static const char *cases[][2] = {
    { "3.5% and 1,234.56", "3.5 % and 1,234.56" },
    { "z.B. e.g. U.S.A.", "z . B . e . g . U . S . A ." },
    { "Wait...", "Wait . . ." },
    { "5-4 well-known", "5 - 4 well-known" },
    { "&quot;a&quot; &amp; &lt;b&gt;", "\" a \" & < b >" },
    { "&amp;lt;", "<" }, /* the replacements run in order */
    { "x<skipped>y", "xy" },
    { "a.b,c .d ,e 1.a a.1 1,a a,1 .5 5. ,5 5,", "a . b , c . d , e 1 . a a . 1 1 , a a , 1 . 5 5 . , 5 5 ," },
    { "x=y+z*2; a|b", "x = y + z * 2 ; a | b" },
    { "it's", "it's" },
    { "„Größe“ – 5 €", "„Größe“ – 5 €" }, /* Unicode punctuation stays attached */
    { "  padded  \t ", "padded" },
    { "", "" },
    { "\xc3\xa9.. \xc3\xbc,a 3.\xc3\xa9", "\xc3\xa9 . . \xc3\xbc , a 3 . \xc3\xa9" }, /* multi-byte neighbours */
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *got = fr_lsra_bleu_tokenize_13a(cases[i][0]);
    g_assert_cmpstr(got, ==, cases[i][1]);
    g_free(got);
  }
}

/* Python's str.split() whitespace, and what it leaves alone. */
static void test_whitespace(void) {
  char **t = fr_lsra_bleu_tokens("a\xc2\xa0" "b\xe2\x80\x89" "c\xe2\x80\xaf" "d\xe3\x80\x80" "e\xe2\x80\x8b" "f\x1c" "g",
                                 FR_LSRA_BLEU_TOK_NONE);
  g_assert_cmpuint(g_strv_length(t), ==, 6);
  g_assert_cmpstr(t[4], ==, "e\xe2\x80\x8b" "f"); /* U+200B is not whitespace */
  g_assert_cmpstr(t[5], ==, "g");                 /* U+001C is */
  g_strfreev(t);
  g_assert_true(fr_lsra_bleu_is_py_space(0x85));
  g_assert_false(fr_lsra_bleu_is_py_space(0x180E));
  /* invalid UTF-8 does not crash and still yields tokens */
  t = fr_lsra_bleu_tokens("ab\xff cd", FR_LSRA_BLEU_TOK_13A);
  g_assert_cmpuint(g_strv_length(t), ==, 2);
  g_strfreev(t);
}

/* The edge cases of the score itself. */
static void test_edges(void) {
  FrLsraBleu b;
  fr_lsra_bleu_sentence("", "", FR_LSRA_BLEU_TOK_13A, &b);
  g_assert_cmpfloat(b.bleu, ==, 0.0);
  g_assert_cmpfloat(b.bp, ==, 1.0);
  fr_lsra_bleu_sentence("", "a b", FR_LSRA_BLEU_TOK_13A, &b);
  g_assert_cmpfloat(b.bleu, ==, 0.0);
  g_assert_cmpfloat(b.bp, ==, 0.0);
  /* clipping: "the the the" against "the cat" matches one "the" */
  fr_lsra_bleu_sentence("the the the", "the cat", FR_LSRA_BLEU_TOK_NONE, &b);
  g_assert_cmpint(b.stats.correct[0], ==, 1);
  g_assert_cmpint(b.stats.total[0], ==, 3);
  /* streaming statistics equal the corpus call */
  const char *h[] = { "a b c d", "e f" }, *r[] = { "a b c e", "e f g" };
  FrLsraBleuStats st = {0};
  for (int i = 0; i < 2; i++) fr_lsra_bleu_stats_add(&st, h[i], r[i], FR_LSRA_BLEU_TOK_13A);
  FrLsraBleu a;
  fr_lsra_bleu_compute(&st, FALSE, &a);
  fr_lsra_bleu_corpus(h, r, 2, FR_LSRA_BLEU_TOK_13A, &b);
  g_assert_cmpfloat(a.bleu, ==, b.bleu);
  g_assert_cmpfloat(a.bleu, >, 0.0);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lsra/bleu/corpus", test_corpus);
  g_test_add_func("/lsra/bleu/counts", test_counts);
  g_test_add_func("/lsra/bleu/sentence", test_sentence);
  g_test_add_func("/lsra/bleu/tokenized", test_tokenized);
  g_test_add_func("/lsra/bleu/13a-rules", test_13a_rules);
  g_test_add_func("/lsra/bleu/whitespace", test_whitespace);
  g_test_add_func("/lsra/bleu/edges", test_edges);
  return g_test_run();
}
