/* fr-apq-search.h: APQ's joint search over architecture, channel width and bit policy, scored by an
 * accuracy predictor and constrained by an additive cost table (fr-apq-costtable.h).
 *
 * Modes
 *   FR_APQ_SEARCH_EVOLUTION  APQ's evolution (mit-han-lab/apq, methods/evolution/evolution_finder.py):
 *     a random initial population, then per generation the top `parents` by predicted accuracy
 *     breed `mutants` mutants (per block, with probability mutation_prob, new kernel, width and
 *     bits) and `crossovers` crossover children (per block from one parent or the other). Every
 *     candidate must meet the budgets: one that does not is drawn again, as the reference does.
 *     Defaults as the reference: population 100, 25 parents, 50 + 50 children, p 0.1, 500
 *     generations. Three flaws of the released code are fixed: the predictor sees the real bit
 *     policy (the reference encodes every block as 8 bits), the crossover children join the
 *     population (the reference scores and then drops them, and also keeps only 50 of its 100
 *     initial candidates), and stage depths mutate and cross over (the reference never changes them).
 *   FR_APQ_SEARCH_NSGA2      NSGA-II (Deb et al. 2002): the same mutation and crossover, parents by
 *     binary tournament on (front rank, crowding distance), survivors by non-dominated sorting of
 *     parents + children with crowding-distance truncation. Objectives: maximise predicted
 *     accuracy, and minimise (or maximise, or ignore: objective_sense) each cost of the table;
 *     budgets stay hard constraints. The result holds the whole final front.
 *   No predictor: a cost-only exploration. Either mode then runs NSGA-II over the cost objectives
 *     alone; the result says so (has_accuracy FALSE, note), and every accuracy is NAN.
 *
 * Evaluations: a candidate is evaluated when it is scored (predicted); the default run scores
 *   population + generations * (mutants + crossovers) = 100 + 500 * 100 = 50,100 candidates. (The
 *   reference's loop breeds once more, iterations 0..500, so it scores 50,200.) Redrawn candidates
 *   that broke a budget are counted separately (n_rejected); they cost a table lookup, no prediction.
 *   With memoize (default) a network scored before (same active genes) takes its earlier prediction
 *   instead of a new MLP row: the same numbers, and still counted as evaluated; n_predicted says
 *   how many rows the MLP really ran (about 45% of the evaluations in a 500-generation run).
 *
 * Speed: costs are table lookups; each generation's new networks are predicted in one batch through
 *   a one-hot plan (fr_apq_predictor_plan_*), split over the worker pool (fr_parallel_for); the
 *   random draws stay on the calling thread, so a seed gives the same run at any thread count up
 *   to float rounding in the GEMMs (and exactly the same run at the same thread count).
 *
 * Space rules: in a space with no_k7_dw_a4 (imagenet-bitfusion), a drawn block that pairs kernel 7
 *   with 4-bit depthwise activations is drawn again, so every returned spec passes
 *   fr_apq_spec_validate (inactive blocks included, as APQ checks them).
 *
 * Sampling under tight budgets: the initial population is drawn uniformly, as in the reference; a
 *   candidate that keeps failing (after 100 draws) is drawn with a growing share of its genes set to
 *   the block's cheapest choice (by cost relative to the budgets), so a feasible but tiny corner of
 *   the space is still found instead of looping forever. A mutant or crossover child still over
 *   budget after 1,000 draws is replaced by a copy of its (feasible) first parent.
 *
 * Limits: population + mutants + crossovers <= 4,096; generations <= 10^8.
 *
 * Axes: `axes` says what is searched (kernel + depth, mid channels, bits); the other genes come
 *   from `base` (default: the largest network, at full precision unless bits are searched). That
 *   gives the sequential baseline (fr_apq_search_sequential): architecture at a fixed precision, then
 *   width with that architecture, then bits with both, each under the same final budgets.
 *
 * Budgets: budget[o] bounds objective o of the cost table (INFINITY: none). A budget below the
 *   cheapest network reachable (computed exactly from the table, with the fixed genes as fixed)
 *   fails at once with FR_APQ_ERROR_BUDGET, naming that minimum.
 *
 * Job payloads (fr_apq_search_start). Every event's GVariant is of the type given here:
 *   "apq.search.start"      FR_APQ_SEARCH_START_TYPE  "(ssbuuasasad)"
 *       mode ("evolution" | "nsga2" | "cost-only"), phase, has_accuracy, n_generations,
 *       n_objectives, objective names, units, budgets (INFINITY = none)
 *   "apq.search.generation" FR_APQ_SEARCH_GENERATION_TYPE "(suutadadauauidadas)"
 *       phase, generation (0 = initial population), n_generations, evaluations so far,
 *       accuracy[n] (NAN without a predictor), costs[n * n_objectives] (row-major),
 *       id[n] (a candidate keeps its id across generations), rank[n] (non-dominated front of the
 *       points shown, 0 = the current front, by the same objectives as NSGA-II),
 *       best (index into the arrays, -1 if none), best accuracy, best costs[n_objectives],
 *       spec[n] (fr_apq_spec_to_string of each point, so any point shown can be inspected).
 *       n is the population shown: generation 0 the initial population (100), then evolution's
 *       parents + children (125 by default) or NSGA-II's survivors (100): ~40 KB with the specs, one
 *       event per generation, cheap to redraw each frame. The same network can appear twice (two children
 *       that came out equal); the result's front lists each network once.
 *   "apq.search.result"     FR_APQ_SEARCH_RESULT_TYPE "(ssdadtu)"
 *       phase, best spec (fr_apq_spec_to_string), its accuracy, its costs, evaluations, front size
 *   Phases: "search" for a single run; "joint", "arch", "width", "bits" in a comparison.
 *   Progress events (fraction over the whole job) come every 1% of generations. A cancel is seen
 *   between generations: the job ends with FR_JOB_ERROR_CANCELLED and the partial result (the
 *   generations done, complete FALSE) stays available from fr_apq_search_get_result. */
#pragma once
#include "fr-apq-costtable.h"
#include "fr-apq-predictor.h"
#include "fr-apq-space.h"
#include "fr-job.h"

G_BEGIN_DECLS

typedef enum { FR_APQ_SEARCH_EVOLUTION, FR_APQ_SEARCH_NSGA2 } FrApqSearchMode;

typedef enum {
  FR_APQ_AXIS_ARCH = 1 << 0,    /* kernel sizes and stage depths */
  FR_APQ_AXIS_WIDTH = 1 << 1,   /* mid (expanded) channels: pruning */
  FR_APQ_AXIS_BITS = 1 << 2,    /* the four bitwidths of every block */
  FR_APQ_AXIS_ALL = 7,
} FrApqSearchAxes;

typedef enum {
  FR_APQ_OBJ_MINIMIZE,   /* default for every cost */
  FR_APQ_OBJ_MAXIMIZE,   /* e.g. MACs as a capacity proxy in a cost-only exploration */
  FR_APQ_OBJ_IGNORE,     /* not an objective (a budget on it still holds) */
} FrApqObjectiveSense;

#define FR_APQ_SEARCH_START_TYPE "(ssbuuasasad)"
#define FR_APQ_SEARCH_GENERATION_TYPE "(suutadadauauidadas)"
#define FR_APQ_SEARCH_RESULT_TYPE "(ssdadtu)"

typedef struct {
  FrApqSearchMode mode;          /* default EVOLUTION */
  int population;                /* 100 */
  int parents;                   /* 25 (evolution only) */
  int mutants;                   /* 50 */
  int crossovers;                /* 50 */
  double mutation_prob;          /* 0.1, per block and per stage depth */
  int generations;               /* 500 */
  guint64 seed;                  /* 1 */
  double budget[FR_APQ_COST_MAX_OBJECTIVES];   /* INFINITY (none) */
  FrApqObjectiveSense objective_sense[FR_APQ_COST_MAX_OBJECTIVES];   /* MINIMIZE */
  unsigned axes;                 /* FrApqSearchAxes, default FR_APQ_AXIS_ALL */
  gboolean has_base;             /* FALSE: base = largest network, fp unless bits are searched */
  FrApqSpec base;                /* the fixed genes when has_base */
  gboolean seed_base;            /* with has_base: the base itself is the first member of the initial
                                    population (when within the budgets); the sequential stages do this,
                                    so each starts from the last one's answer */
  gboolean memoize;              /* TRUE: a network scored before is not predicted again (same result,
                                    n_evaluations unchanged; n_predicted counts the MLP rows run) */
} FrApqSearchConfig;

void fr_apq_search_config_init(FrApqSearchConfig *cfg);

typedef struct {
  FrApqSpec spec;
  double accuracy;                                 /* predicted; NAN without a predictor */
  double costs[FR_APQ_COST_MAX_OBJECTIVES];
} FrApqSearchPoint;

typedef struct {
  FrApqSearchMode mode;                 /* the mode that ran (NSGA2 for a cost-only exploration) */
  gboolean has_accuracy;                /* FALSE: no predictor, costs only */
  gboolean complete;                    /* FALSE: cancelled, the generations done so far */
  int n_objectives;
  char *note;                           /* plain words on what this is, e.g. "cost-only exploration: no accuracy" */
  FrApqSearchPoint best;                /* most accurate (evolution, NSGA-II); cost-only: cheapest in the first minimised objective */
  FrApqSearchPoint *front;              /* the non-dominated set (NSGA-II: final front; evolution: of the final population) */
  int n_front;                          /* sorted by accuracy (descending), or by the first cost when cost-only */
  double *best_history;                 /* best score after generation g, g = 0 (initial) .. generations_done */
  int generations_done;
  guint64 n_evaluations;                /* candidates scored */
  guint64 n_rejected;                   /* draws that broke a budget or chose an unavailable option */
  guint64 n_fallbacks;                  /* children replaced by a parent after 1,000 rejected draws */
  guint64 n_predicted;                  /* predictor rows actually run (< n_evaluations with memoize) */
  double seconds;
} FrApqSearchResult;

void fr_apq_search_result_free(FrApqSearchResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqSearchResult, fr_apq_search_result_free)

/* The formula: population + generations * (mutants + crossovers). */
guint64 fr_apq_search_expected_evaluations(const FrApqSearchConfig *cfg);

/* Synchronous. predictor may be NULL (cost-only). Its input must fit the space: arch_dim equal,
 * quant_dim equal or 0 (bits then do not change the prediction). job may be NULL; when given,
 * payloads and progress are emitted on it and its cancel is honoured between generations.
 * NULL with error on bad arguments, impossible budgets (FR_APQ_ERROR_BUDGET) or a cancel. */
FrApqSearchResult *fr_apq_search_run(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                     const FrApqSearchConfig *cfg, FrJob *job, GError **error);

/* Joint search (all axes) and the sequential pipeline under the same config and budgets.
 * Sequential: (1) kernels + depths with width and bits fixed from the base (default: widest, and
 * every block at stage_bits, or full precision when stage_bits is 0), (2) mid channels with that
 * architecture, (3) bits with both; each stage runs cfg's generations. stages[3] are the three
 * stage results; stages[2] is the sequential answer. A stage that cannot meet the budgets (the
 * sequential pipeline's known weakness) leaves NULLs and sequential_error. */
typedef struct {
  FrApqSearchResult *joint;
  FrApqSearchResult *stages[3];
  char *sequential_error;
} FrApqSearchComparison;

void fr_apq_search_comparison_free(FrApqSearchComparison *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FrApqSearchComparison, fr_apq_search_comparison_free)

FrApqSearchResult *fr_apq_search_joint(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                       const FrApqSearchConfig *cfg, FrJob *job, GError **error);
/* stages_out (may be NULL) receives the three stage results (caller frees); returns the last. */
FrApqSearchResult *fr_apq_search_sequential(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                            const FrApqSearchConfig *cfg, int stage_bits, FrJob *job,
                                            FrApqSearchResult *stages_out[3], GError **error);
/* Both. NULL with error only when the joint search fails (or on a cancel); the sequential side's
 * failure is reported in sequential_error. */
FrApqSearchComparison *fr_apq_search_compare(const FrApqCostTable *table, const FrApqPredictor *predictor,
                                             const FrApqSearchConfig *cfg, int stage_bits, FrJob *job,
                                             GError **error);

/* ---- as a job ------------------------------------------------------------------------------------
 * The search takes a snapshot of the predictor's weights and a reference to the table before it
 * returns, so the caller may free the predictor at once. Arguments and budgets are checked before
 * the job starts (NULL with error). */
typedef struct _FrApqSearch FrApqSearch;

FrApqSearch *fr_apq_search_start(FrApqCostTable *table, const FrApqPredictor *predictor,
                                 const FrApqSearchConfig *cfg, GError **error);
/* the joint-vs-sequential comparison as one job; phases "joint", "arch", "width", "bits" */
FrApqSearch *fr_apq_search_start_compare(FrApqCostTable *table, const FrApqPredictor *predictor,
                                         const FrApqSearchConfig *cfg, int stage_bits, GError **error);
FrJob *fr_apq_search_get_job(FrApqSearch *search);
/* Transfer none; NULL while running. After a cancel: the partial result. For a comparison: the
 * joint result (get_comparison has all). */
const FrApqSearchResult *fr_apq_search_get_result(FrApqSearch *search);
const FrApqSearchComparison *fr_apq_search_get_comparison(FrApqSearch *search);
/* Cancels if still running, waits for the job, frees. */
void fr_apq_search_free(FrApqSearch *search);

G_END_DECLS
